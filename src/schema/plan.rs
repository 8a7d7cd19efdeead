//! The column plan: which typed columns a stream's files have, and how they are named.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::wire_type::WireType;
use super::{
    column_base_name, ColumnKind, FirstSeen, ListOf, NameRules, ObservedSchema, Path, PathStats,
    SchemaError, Seg,
};

/// Objects are flattened this many levels by default: top-level fields are columns, and the
/// fields of a top-level object are columns `<field>__<key>`; deeper objects are JSON text.
pub const DEFAULT_FLATTEN_DEPTH: u32 = 1;
/// The default separator between the keys of a flattened path (dlt's).
pub const DEFAULT_SEPARATOR: &str = "__";
/// The deepest flattening allowed.
pub const MAX_FLATTEN_DEPTH: u32 = 8;

/// How a plan names and flattens; fixed for the life of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOptions {
    /// Object levels flattened into columns (0: every top-level field is one column, objects
    /// included as JSON text).
    pub flatten_depth: u32,
    /// Between the keys of a flattened path and before `v_<tag>` in variant names: 1 to 4 of
    /// `a-z`, `0-9`, `_`.
    pub separator: String,
    /// Names no typed column may take besides [`super::RESERVED_NAMES`] (the deletion column).
    pub reserved: Vec<String>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            flatten_depth: DEFAULT_FLATTEN_DEPTH,
            separator: DEFAULT_SEPARATOR.to_string(),
            reserved: Vec::new(),
        }
    }
}

impl PlanOptions {
    /// Checks the separator (1 to 4 of `a-z`, `0-9`, `_`) and the depth (at most 8).
    pub fn validate(&self) -> Result<(), SchemaError> {
        let sep_ok = (1..=4).contains(&self.separator.len())
            && self
                .separator
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !sep_ok {
            return Err(SchemaError::Options(format!(
                "separator {:?} must be 1 to 4 of a-z, 0-9 and _",
                self.separator
            )));
        }
        if self.flatten_depth > MAX_FLATTEN_DEPTH {
            return Err(SchemaError::Options(format!(
                "flatten depth {} is above {MAX_FLATTEN_DEPTH}",
                self.flatten_depth
            )));
        }
        Ok(())
    }
}

/// One typed column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedColumn {
    /// The column name (valid in DuckDB, BigQuery, Snowflake and Postgres; unique).
    pub name: String,
    /// The original path of keys below `data`.
    pub path: Path,
    /// What it holds.
    #[serde(flatten)]
    pub kind: ColumnKind,
    /// For a variant: the name of the path's first column, whose type this value did not
    /// have. `None` for that first column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_of: Option<String>,
}

/// A stream's typed columns, in the order they were planned. [`grow`](Self::grow) only
/// appends: a column keeps its name, path and kind forever, so files written under an older
/// plan are a prefix of the newer plan's columns, and the same sequence of schemas gives the
/// same plan.
///
/// ```
/// use fauna_sync::fauna::decode;
/// use fauna_sync::schema::{ColumnPlan, ObservedSchema, PlanOptions};
/// let mut s = ObservedSchema::default();
/// s.observe(&decode(br#"{"ref":1,"n":1,"addr":{"City":"Oslo"}}"#).unwrap(), 10, "1");
/// let mut plan = ColumnPlan::new(PlanOptions::default()).unwrap();
/// plan.grow(&s);
/// s.observe(&decode(br#"{"n":"x"}"#).unwrap(), 20, "2");
/// plan.grow(&s);
/// let names: Vec<_> = plan.columns().iter().map(|c| c.name.as_str()).collect();
/// // Same first appearance: path order; the later string at `n` is a variant.
/// assert_eq!(names, ["addr__city", "n", "ref_", "n__v_string"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredPlan", into = "StoredPlan")]
pub struct ColumnPlan {
    options: PlanOptions,
    columns: Vec<PlannedColumn>,
    /// The columns of each path (indexes into `columns`), for [`ColumnPlan::column_for`].
    by_path: BTreeMap<Path, Vec<usize>>,
}

/// The serde form: options and columns (the index is rebuilt).
#[derive(Serialize, Deserialize)]
struct StoredPlan {
    options: PlanOptions,
    columns: Vec<PlannedColumn>,
}

impl From<StoredPlan> for ColumnPlan {
    fn from(p: StoredPlan) -> Self {
        let mut by_path: BTreeMap<Path, Vec<usize>> = BTreeMap::new();
        for (i, c) in p.columns.iter().enumerate() {
            by_path.entry(c.path.clone()).or_default().push(i);
        }
        ColumnPlan {
            options: p.options,
            columns: p.columns,
            by_path,
        }
    }
}

impl From<ColumnPlan> for StoredPlan {
    fn from(p: ColumnPlan) -> Self {
        StoredPlan {
            options: p.options,
            columns: p.columns,
        }
    }
}

impl ColumnPlan {
    /// An empty plan.
    pub fn new(options: PlanOptions) -> Result<Self, SchemaError> {
        options.validate()?;
        Ok(ColumnPlan {
            options,
            columns: Vec::new(),
            by_path: BTreeMap::new(),
        })
    }

    /// Adds the columns `schema` needs that the plan lacks; returns how many were added. New
    /// columns are ordered by where their type first appeared, then path, then kind; a path's
    /// first column is named from the path, later ones are variants `<first>__v_<tag>`.
    pub fn grow(&mut self, schema: &ObservedSchema) -> usize {
        let mut wanted: Vec<(FirstSeen, Path, ColumnKind)> = Vec::new();
        for (path, stats) in schema.paths() {
            if !self.is_column_path(path) {
                continue;
            }
            for (kind, first) in self.kinds_needed(schema, path, stats) {
                if self.column_for(path, kind).is_none() {
                    wanted.push((first, path.clone(), kind));
                }
            }
        }
        wanted.sort();
        wanted.dedup_by(|a, b| a.1 == b.1 && a.2.same_slot(b.2));
        let mut names = NameRules::new(
            self.options.reserved.iter().map(String::as_str),
            self.columns.iter().map(|c| c.name.as_str()),
        );
        let added = wanted.len();
        for (_, path, kind) in wanted {
            let keys = path.as_keys().unwrap_or_default();
            let identity = format!("{path}/{}", kind.tag());
            let primary = self
                .by_path
                .get(&path)
                .and_then(|cols| cols.first())
                .and_then(|&i| self.columns.get(i))
                .map(|c| c.name.clone());
            let column = match primary {
                None => PlannedColumn {
                    name: names.claim(&column_base_name(&keys, &self.options.separator), &identity),
                    path,
                    kind,
                    variant_of: None,
                },
                Some(first) => PlannedColumn {
                    name: names.claim(
                        &format!("{first}{}v_{}", self.options.separator, kind.tag()),
                        &identity,
                    ),
                    path,
                    kind,
                    variant_of: Some(first),
                },
            };
            self.by_path
                .entry(column.path.clone())
                .or_default()
                .push(self.columns.len());
            self.columns.push(column);
        }
        added
    }

    /// Whether a value at `path` can have a column: keys only, at most `flatten_depth + 1`.
    fn is_column_path(&self, path: &Path) -> bool {
        !path.is_empty()
            && path.len() <= self.options.flatten_depth as usize + 1
            && path.0.iter().all(|s| matches!(s, Seg::Key(_)))
    }

    /// Whether an object at `path` is flattened into its fields' columns (rather than JSON).
    pub fn flattens(&self, path: &Path) -> bool {
        path.len() <= self.options.flatten_depth as usize
    }

    /// The kinds the values seen at `path` need, each with where its type first appeared.
    fn kinds_needed(
        &self,
        schema: &ObservedSchema,
        path: &Path,
        stats: &PathStats,
    ) -> Vec<(ColumnKind, FirstSeen)> {
        let mut out = Vec::new();
        for (ty, t) in &stats.types {
            let mut add = |k| out.push((k, t.first.clone()));
            let in_range = t.count > t.out_of_range;
            match ty {
                WireType::Int => add(ColumnKind::Int),
                WireType::Double => add(ColumnKind::Double),
                WireType::String => add(ColumnKind::String),
                WireType::Boolean => add(ColumnKind::Boolean),
                WireType::Bytes => add(ColumnKind::Bytes),
                WireType::Ref => add(ColumnKind::Ref),
                WireType::Set => add(ColumnKind::Set),
                WireType::Query => add(ColumnKind::Query),
                WireType::Time | WireType::Date => {
                    let (typed, text) = if *ty == WireType::Time {
                        (ColumnKind::Time, ColumnKind::TimeText)
                    } else {
                        (ColumnKind::Date, ColumnKind::DateText)
                    };
                    if in_range {
                        add(typed);
                    }
                    if t.out_of_range > 0 {
                        add(text);
                    }
                }
                WireType::Object => {
                    if !self.flattens(path) {
                        add(ColumnKind::Object);
                    }
                }
                WireType::Array => {
                    // A path has one list column: arrays that do not fit the one it has (or
                    // gets now) need the `array` column.
                    let items = schema
                        .get(&path.child(Seg::Items))
                        .filter(|items| !items.types.is_empty());
                    let planned = self.list_column_of(path);
                    match (items.map(list_of), planned) {
                        // Only empty or all-null arrays: they fit the list column.
                        (None, Some(_)) => {}
                        (Some(Some((of, fits_all))), None) => {
                            add(ColumnKind::List(of));
                            if !fits_all {
                                add(ColumnKind::Array);
                            }
                        }
                        (Some(Some((of, true))), Some(planned)) if of == planned => {}
                        _ => add(ColumnKind::Array),
                    }
                }
            }
        }
        out
    }

    /// The element type of `path`'s list column, if it has one.
    pub fn list_column_of(&self, path: &Path) -> Option<ListOf> {
        let col = self.column_for(path, ColumnKind::List(ListOf::Int))?;
        match self.columns.get(col)?.kind {
            ColumnKind::List(of) => Some(of),
            _ => None,
        }
    }

    /// The column of `path` for a value of `kind` (same tag), if planned.
    pub fn column_for(&self, path: &Path, kind: ColumnKind) -> Option<usize> {
        self.by_path
            .get(path)?
            .iter()
            .copied()
            .find(|&i| self.columns.get(i).is_some_and(|c| c.kind.same_slot(kind)))
    }

    /// The columns, in plan order.
    pub fn columns(&self) -> &[PlannedColumn] {
        &self.columns
    }

    /// The options.
    pub fn options(&self) -> &PlanOptions {
        &self.options
    }

    /// Refuses `options` other than the plan's (a stored plan against the configuration): the
    /// names depend on them, so a plan keeps the options it was made with.
    pub fn check_options(&self, options: &PlanOptions) -> Result<(), SchemaError> {
        if options == &self.options {
            return Ok(());
        }
        let show = |o: &PlanOptions| serde_json::to_string(o).unwrap_or_default();
        Err(SchemaError::OptionsChanged {
            was: show(&self.options),
            now: show(options),
        })
    }

    /// The compact JSON form (stored in each Parquet file and, later, the checkpoint).
    pub fn to_json(&self) -> String {
        // Plain data always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the JSON form.
    pub fn from_json(text: &str) -> Result<Self, SchemaError> {
        let plan: ColumnPlan = serde_json::from_str(text).map_err(|e| SchemaError::Stored {
            what: "column plan",
            detail: e.to_string(),
        })?;
        plan.options.validate()?;
        Ok(plan)
    }
}

/// The list element type of arrays whose elements were all (nulls aside) of one listable type,
/// and whether every such element fits it (no out-of-range time or date); `None` when the
/// elements had several types, a non-listable one, or none at all.
fn list_of(items: &PathStats) -> Option<(ListOf, bool)> {
    let mut types = items.types.iter();
    let (ty, t) = types.next()?;
    if types.next().is_some() {
        return None;
    }
    let of = match ty {
        WireType::Int => ListOf::Int,
        WireType::Double => ListOf::Double,
        WireType::String => ListOf::String,
        WireType::Boolean => ListOf::Boolean,
        WireType::Time => ListOf::Time,
        WireType::Date => ListOf::Date,
        WireType::Bytes => ListOf::Bytes,
        _ => return None,
    };
    Some((of, t.out_of_range == 0))
}
