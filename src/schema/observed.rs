//! The observed schema: every path's wire types, counts and first appearance.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::wire_type::{date_fits, ref_target, time_fits};
use super::{FirstSeen, Path, SchemaError, WireType};
use crate::fauna::Value;

/// The version of the serde form ([`ObservedSchema`]'s `version` field).
pub const SCHEMA_FORMAT_VERSION: u32 = 1;

/// One wire type at one path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeStats {
    /// How many values of this type were seen at the path (array elements each count).
    pub count: u64,
    /// The earliest document version holding one.
    pub first: FirstSeen,
    /// Times and dates a typed column cannot hold (outside nanosecond `i64` / `Date32`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub out_of_range: u64,
    /// Refs only: counts per target ([`super::ref_target`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refs: BTreeMap<String, u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TypeStats {
    fn merge(&mut self, other: &TypeStats) {
        self.count += other.count;
        self.out_of_range += other.out_of_range;
        self.first.keep_earlier(&other.first);
        for (target, n) in &other.refs {
            *self.refs.entry(target.clone()).or_default() += n;
        }
    }
}

/// Everything seen at one path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStats {
    /// `null` values seen at the path.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub nulls: u64,
    /// The non-null types seen, in [`WireType`] order.
    pub types: BTreeMap<WireType, TypeStats>,
}

impl PathStats {
    /// Counts one value seen here (in the version `first`): its type, and for times and dates
    /// out of range, for refs their target. `false` for `null` (nothing below it to observe).
    pub(super) fn add(&mut self, v: &Value, first: &FirstSeen) -> bool {
        let Some(ty) = WireType::of(v) else {
            self.nulls += 1;
            return false;
        };
        let t = self.types.entry(ty).or_insert_with(|| TypeStats {
            count: 0,
            first: first.clone(),
            out_of_range: 0,
            refs: BTreeMap::new(),
        });
        t.count += 1;
        t.first.keep_earlier(first);
        match v {
            Value::Timestamp(ts) if time_fits(ts).is_none() => t.out_of_range += 1,
            Value::Date(d) if date_fits(d).is_none() => t.out_of_range += 1,
            Value::Ref(r) => *t.refs.entry(ref_target(r)).or_default() += 1,
            _ => {}
        }
        true
    }

    fn merge(&mut self, other: &PathStats) {
        self.nulls += other.nulls;
        for (ty, stats) in &other.types {
            match self.types.get_mut(ty) {
                Some(mine) => mine.merge(stats),
                None => {
                    self.types.insert(*ty, stats.clone());
                }
            }
        }
    }
}

/// A stream's observed schema: for every path below `data` (keys, and `null` steps for array
/// elements), the wire types seen with their counts and first appearance. Sums and minima
/// only, so equal sets of records give equal schemas whatever the order or partitioning.
///
/// ```
/// use fauna_sync::fauna::decode;
/// use fauna_sync::schema::{ObservedSchema, Path, WireType};
/// let mut s = ObservedSchema::default();
/// s.observe(&decode(br#"{"n":1,"t":{"@ts":"2024-01-02T03:04:05.123456789Z"}}"#).unwrap(), 10, "1");
/// s.observe(&decode(br#"{"n":2.5}"#).unwrap(), 20, "2");
/// let n = &s.paths()[&Path::keys(&["n"])];
/// assert_eq!(n.types.keys().copied().collect::<Vec<_>>(), [WireType::Int, WireType::Double]);
/// assert_eq!(n.types[&WireType::Double].first.id, "2");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredSchema", into = "StoredSchema")]
pub struct ObservedSchema {
    documents: u64,
    paths: BTreeMap<Path, PathStats>,
}

impl ObservedSchema {
    /// Adds one document version's `data` (`ts` in microseconds, `id` the document id). A
    /// `data` that is not an object (or absent: pass `Value::Null`) adds no path.
    pub fn observe(&mut self, data: &Value, ts: i64, id: &str) {
        let mut one = super::SchemaObserver::default();
        one.observe(data, ts, id);
        self.merge(&one.finish());
    }

    /// [`observe`](Self::observe) of a document's `data` given as wire JSON (decoded first:
    /// the types need the tags, which the export JSON no longer has).
    pub fn observe_wire(
        &mut self,
        wire: &[u8],
        ts: i64,
        id: &str,
    ) -> Result<(), crate::fauna::DecodeError> {
        let data = crate::fauna::decode(wire)?;
        self.observe(&data, ts, id);
        Ok(())
    }

    /// Adds everything `other` saw. Commutative and associative.
    pub fn merge(&mut self, other: &ObservedSchema) {
        self.documents += other.documents;
        for (path, stats) in &other.paths {
            match self.paths.get_mut(path) {
                Some(mine) => mine.merge(stats),
                None => {
                    self.paths.insert(path.clone(), stats.clone());
                }
            }
        }
    }

    /// A schema of `documents` versions with these `paths` ([`super::SchemaObserver`]).
    pub(super) fn from_parts(documents: u64, paths: BTreeMap<Path, PathStats>) -> Self {
        ObservedSchema { documents, paths }
    }

    /// The number of document versions observed.
    pub fn documents(&self) -> u64 {
        self.documents
    }

    /// Every path seen, in path order.
    pub fn paths(&self) -> &BTreeMap<Path, PathStats> {
        &self.paths
    }

    /// The stats of `path`, if it was seen.
    pub fn get(&self, path: &Path) -> Option<&PathStats> {
        self.paths.get(path)
    }

    /// The compact JSON form (what the checkpoint will hold).
    pub fn to_json(&self) -> String {
        // Plain data with string map keys always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the JSON form.
    pub fn from_json(text: &str) -> Result<Self, SchemaError> {
        serde_json::from_str(text).map_err(|e| SchemaError::Stored {
            what: "observed schema",
            detail: e.to_string(),
        })
    }
}

/// The serde form: `{"version":1,"documents":N,"paths":[{"path":[…],"nulls":…,"types":{…}}]}`
/// (a list, because paths are not strings).
#[derive(Serialize, Deserialize)]
struct StoredSchema {
    version: u32,
    documents: u64,
    paths: Vec<StoredPath>,
}

#[derive(Serialize, Deserialize)]
struct StoredPath {
    path: Path,
    #[serde(flatten)]
    stats: PathStats,
}

impl From<ObservedSchema> for StoredSchema {
    fn from(s: ObservedSchema) -> Self {
        StoredSchema {
            version: SCHEMA_FORMAT_VERSION,
            documents: s.documents,
            paths: s
                .paths
                .into_iter()
                .map(|(path, stats)| StoredPath { path, stats })
                .collect(),
        }
    }
}

impl TryFrom<StoredSchema> for ObservedSchema {
    type Error = String;

    fn try_from(s: StoredSchema) -> Result<Self, String> {
        if s.version != SCHEMA_FORMAT_VERSION {
            return Err(format!(
                "version {} (this build reads {SCHEMA_FORMAT_VERSION})",
                s.version
            ));
        }
        let mut paths = BTreeMap::new();
        for p in s.paths {
            if paths.insert(p.path.clone(), p.stats).is_some() {
                return Err(format!("path {} listed twice", p.path));
            }
        }
        Ok(ObservedSchema {
            documents: s.documents,
            paths,
        })
    }
}
