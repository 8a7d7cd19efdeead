//! A chunk's typed values gathered by the slot they need — a path and a kind — before the
//! batch's column plan is known (the plan grows from the whole batch, so it is known only when
//! the batch ends). Each document is walked once and its values appended to Arrow builders;
//! [`SealedCells::arrays`] then gives each slot to its plan column. Arrays are the one kind
//! whose column depends on the plan (a `list` column takes the arrays every element of which
//! fits its type, the `array` column the others), so each array is kept both ways: its export
//! JSON, and its elements when they all have one listable type.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampNanosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{UInt32Type, UInt8Type};
use arrow_array::{
    new_null_array, Array, ArrayRef, ListArray, StringArray, StructArray, UInt32Array, UInt8Array,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::Field;

use crate::export::to_export_json;
use crate::fauna::{encode, RefKind, Value};
use crate::schema::{date_fits, scalar_kind, time_fits, ColumnKind, ColumnPlan, ListOf, Path, Seg};

use super::schema::{kind_data_type, ref_fields};
use super::{TypedError, Unplanned};

/// The typed values of a chunk of documents, being gathered.
pub(crate) struct ChunkCells {
    flatten_depth: usize,
    rows: usize,
    /// Path trie: node 0 is `data` itself.
    nodes: Vec<Node>,
    slots: Vec<Slot>,
}

struct Node {
    path: Path,
    children: HashMap<Box<str>, usize>,
    /// This path's slots by kind (`Array` holds every array).
    slots: Vec<(ColumnKind, usize)>,
}

struct Slot {
    path: Path,
    kind: ColumnKind,
    /// The row of its first value (for an error naming the document).
    first_row: usize,
    /// Rows appended so far (values and the nulls before them).
    len: usize,
    values: Values,
}

/// A slot's builder.
enum Values {
    Int(Int64Builder),
    Double(Float64Builder),
    Boolean(BooleanBuilder),
    Text(StringBuilder),
    Time(TimestampNanosecondBuilder),
    Date(Date32Builder),
    Bytes(BinaryBuilder),
    Ref(RefValues),
    Arrays(ArrayValues),
}

#[derive(Default)]
struct RefValues {
    id: StringBuilder,
    collection: StringBuilder,
    kind: StringBuilder,
    valid: Vec<bool>,
}

/// Every array at a path: its export JSON, what its elements are, and the elements of the
/// arrays whose elements all have one listable type.
#[derive(Default)]
struct ArrayValues {
    text: StringBuilder,
    shape: Vec<Shape>,
    items: BTreeMap<ListOf, Items>,
}

/// The elements of one listable type: the values, one after another, and where each row's
/// start (`starts[row]`, the row's end being the next row's start).
struct Items {
    values: Values,
    count: usize,
    starts: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// No array in this row.
    None,
    /// Elements of several types, or of a type no list holds.
    Mixed,
    /// No element, or only `null`s (this many): fits any list.
    Any(u32),
    /// Every non-null element of this type.
    Of(ListOf),
}

impl ChunkCells {
    /// Cells for documents whose objects flatten `flatten_depth` levels deep (the plan's
    /// option).
    pub(crate) fn new(flatten_depth: u32) -> Self {
        ChunkCells {
            flatten_depth: flatten_depth as usize,
            rows: 0,
            nodes: vec![Node {
                path: Path(Vec::new()),
                children: HashMap::new(),
                slots: Vec::new(),
            }],
            slots: Vec::new(),
        }
    }

    /// Adds one row: the values of `data` (`null` for a deletion: no value).
    pub(crate) fn push(&mut self, data: &Value) {
        if let Value::Object(fields) = data {
            for (k, v) in fields {
                self.place(0, k, v);
            }
        }
        self.rows += 1;
    }

    fn place(&mut self, parent: usize, key: &str, v: &Value) {
        if matches!(v, Value::Null) {
            return;
        }
        let node = self.child(parent, key);
        match v {
            Value::Object(fields) if self.depth(node) <= self.flatten_depth => {
                for (k, c) in fields {
                    self.place(node, k, c);
                }
            }
            Value::Array(items) => {
                let slot = self.slot(node, ColumnKind::Array);
                let row = self.rows;
                if let Some(s) = self.slots.get_mut(slot) {
                    s.append_array(row, v, items);
                }
            }
            other => {
                let slot = self.slot(node, scalar_kind(other));
                let row = self.rows;
                if let Some(s) = self.slots.get_mut(slot) {
                    s.pad(row);
                    s.values.append(other);
                    s.len += 1;
                }
            }
        }
    }

    fn depth(&self, node: usize) -> usize {
        self.nodes.get(node).map_or(0, |n| n.path.len())
    }

    fn child(&mut self, parent: usize, key: &str) -> usize {
        if let Some(&i) = self.nodes.get(parent).and_then(|n| n.children.get(key)) {
            return i;
        }
        let i = self.nodes.len();
        let path = match self.nodes.get_mut(parent) {
            Some(p) => {
                p.children.insert(key.into(), i);
                p.path.child(Seg::Key(key.to_string()))
            }
            None => Path(vec![Seg::Key(key.to_string())]),
        };
        self.nodes.push(Node {
            path,
            children: HashMap::new(),
            slots: Vec::new(),
        });
        i
    }

    fn slot(&mut self, node: usize, kind: ColumnKind) -> usize {
        let Some(n) = self.nodes.get_mut(node) else {
            return usize::MAX;
        };
        if let Some(&(_, i)) = n.slots.iter().find(|(k, _)| *k == kind) {
            return i;
        }
        let i = self.slots.len();
        n.slots.push((kind, i));
        self.slots.push(Slot {
            path: n.path.clone(),
            kind,
            first_row: self.rows,
            len: 0,
            values: Values::new(kind),
        });
        i
    }

    /// The chunk's values as arrays of `rows()` rows each, ready for a plan.
    pub(crate) fn seal(self) -> SealedCells {
        let rows = self.rows;
        let mut columns: Vec<ArrayRef> = Vec::new();
        let mut push = |a: ArrayRef| {
            columns.push(a);
            columns.len() - 1
        };
        let mut slots = Vec::with_capacity(self.slots.len());
        for mut s in self.slots {
            s.pad(rows);
            let layout = match s.values {
                Values::Arrays(a) => {
                    let (text, code, nulls, items) = a.seal(rows);
                    Layout::Arrays {
                        text: push(text),
                        code: push(code),
                        nulls: push(nulls),
                        items: items.into_iter().map(|(of, l)| (of, push(l))).collect(),
                    }
                }
                other => Layout::Column(push(other.finish())),
            };
            slots.push(SealedSlot {
                path: s.path,
                kind: s.kind,
                first_row: s.first_row,
                layout,
            });
        }
        SealedCells {
            rows,
            slots,
            columns,
        }
    }
}

impl Slot {
    /// Appends nulls up to `row`.
    fn pad(&mut self, row: usize) {
        while self.len < row {
            self.values.append_null();
            self.len += 1;
        }
    }

    fn append_array(&mut self, row: usize, v: &Value, items: &[Value]) {
        self.pad(row);
        if let Values::Arrays(a) = &mut self.values {
            a.append(row, v, items);
        }
        self.len += 1;
    }
}

impl Values {
    fn new(kind: ColumnKind) -> Self {
        match kind {
            ColumnKind::Int => Values::Int(Int64Builder::new()),
            ColumnKind::Double => Values::Double(Float64Builder::new()),
            ColumnKind::Boolean => Values::Boolean(BooleanBuilder::new()),
            ColumnKind::Time => Values::Time(TimestampNanosecondBuilder::new()),
            ColumnKind::Date => Values::Date(Date32Builder::new()),
            ColumnKind::Bytes => Values::Bytes(BinaryBuilder::new()),
            ColumnKind::Ref => Values::Ref(RefValues::default()),
            ColumnKind::Array | ColumnKind::List(_) => Values::Arrays(ArrayValues::default()),
            ColumnKind::String
            | ColumnKind::TimeText
            | ColumnKind::DateText
            | ColumnKind::Object
            | ColumnKind::Set
            | ColumnKind::Query => Values::Text(StringBuilder::new()),
        }
    }

    fn append_null(&mut self) {
        match self {
            Values::Int(b) => b.append_null(),
            Values::Double(b) => b.append_null(),
            Values::Boolean(b) => b.append_null(),
            Values::Text(b) => b.append_null(),
            Values::Time(b) => b.append_null(),
            Values::Date(b) => b.append_null(),
            Values::Bytes(b) => b.append_null(),
            Values::Ref(r) => {
                r.id.append_null();
                r.collection.append_null();
                r.kind.append_null();
                r.valid.push(false);
            }
            Values::Arrays(a) => {
                a.text.append_null();
                a.shape.push(Shape::None);
            }
        }
    }

    /// Appends `v`, a value of this builder's kind ([`scalar_kind`]); another is a null.
    fn append(&mut self, v: &Value) {
        match (self, v) {
            (Values::Int(b), Value::Int(i)) => b.append_value(*i),
            (Values::Double(b), Value::Double(d)) => b.append_value(*d),
            (Values::Boolean(b), Value::Bool(x)) => b.append_value(*x),
            (Values::Text(b), Value::String(s)) => b.append_value(s),
            (Values::Text(b), Value::Timestamp(_) | Value::Date(_)) => {
                // The export form of a time or date is a JSON string: its text.
                b.append_option(serde_json::from_str::<String>(&to_export_json(v)).ok())
            }
            (Values::Text(b), Value::Object(_)) => b.append_value(to_export_json(v)),
            (Values::Text(b), Value::Set(_) | Value::Query(_)) => b.append_value(encode(v)),
            (Values::Time(b), Value::Timestamp(t)) => b.append_option(time_fits(t)),
            (Values::Date(b), Value::Date(d)) => b.append_option(date_fits(d)),
            (Values::Bytes(b), Value::Bytes(x)) => b.append_value(x),
            (Values::Ref(r), Value::Ref(x)) => {
                let kind = x.kind();
                r.id.append_value(&x.id);
                r.collection.append_option(match kind {
                    RefKind::Document(c) => Some(c),
                    _ => None,
                });
                r.kind.append_value(kind.export_type());
                r.valid.push(true);
            }
            (b, _) => b.append_null(),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Values::Int(mut b) => Arc::new(b.finish()),
            Values::Double(mut b) => Arc::new(b.finish()),
            Values::Boolean(mut b) => Arc::new(b.finish()),
            Values::Text(mut b) => Arc::new(b.finish()),
            Values::Time(mut b) => Arc::new(b.finish().with_timezone("UTC")),
            Values::Date(mut b) => Arc::new(b.finish()),
            Values::Bytes(mut b) => Arc::new(b.finish()),
            Values::Ref(mut r) => Arc::new(StructArray::new(
                ref_fields(),
                vec![
                    Arc::new(r.id.finish()),
                    Arc::new(r.collection.finish()),
                    Arc::new(r.kind.finish()),
                ],
                Some(NullBuffer::from(r.valid)),
            )),
            // Arrays are sealed on their own (`ArrayValues::seal`).
            Values::Arrays(mut a) => Arc::new(a.text.finish()),
        }
    }
}

impl ArrayValues {
    fn append(&mut self, row: usize, v: &Value, items: &[Value]) {
        self.text.append_value(to_export_json(v));
        let shape = shape_of(items);
        self.shape.push(shape);
        if let Shape::Of(of) = shape {
            let list = self.items.entry(of).or_insert_with(|| Items {
                values: Values::new(of.element()),
                count: 0,
                starts: Vec::new(),
            });
            // Rows before this one (no array of this type) are empty.
            while list.starts.len() <= row {
                list.starts.push(list.count as u32);
            }
            for item in items {
                match item {
                    Value::Null => list.values.append_null(),
                    other => list.values.append(other),
                }
                list.count += 1;
            }
        }
    }

    /// The export JSON of every array, each row's shape (a code and, for
    /// [`Shape::Any`], its element count) and per listable type a list column of the rows
    /// of that type (others empty).
    fn seal(mut self, rows: usize) -> (ArrayRef, ArrayRef, ArrayRef, Vec<(ListOf, ArrayRef)>) {
        let code: UInt8Array = self.shape.iter().map(|s| Some(s.code())).collect();
        let nulls: UInt32Array = self
            .shape
            .iter()
            .map(|s| Some(if let Shape::Any(n) = s { *n } else { 0 }))
            .collect();
        let items = self
            .items
            .into_iter()
            .filter_map(|(of, mut list)| {
                while list.starts.len() <= rows {
                    list.starts.push(list.count as u32);
                }
                let offsets: Vec<i32> = list.starts.iter().map(|&o| o as i32).collect();
                let values = list.values.finish();
                let list = arrow_array::ListArray::try_new(
                    Arc::new(Field::new_list_field(values.data_type().clone(), true)),
                    OffsetBuffer::new(offsets.into()),
                    values,
                    None,
                )
                .ok()?;
                Some((of, Arc::new(list) as ArrayRef))
            })
            .collect();
        (
            Arc::new(self.text.finish()),
            Arc::new(code),
            Arc::new(nulls),
            items,
        )
    }
}

impl Shape {
    fn code(self) -> u8 {
        match self {
            Shape::None => 0,
            Shape::Mixed => 1,
            Shape::Any(_) => 2,
            Shape::Of(of) => 3 + ListOf::ALL.iter().position(|l| *l == of).unwrap_or(0) as u8,
        }
    }

    fn from_code(code: u8, nulls: u32) -> Shape {
        match code {
            0 => Shape::None,
            1 => Shape::Mixed,
            2 => Shape::Any(nulls),
            c => ListOf::ALL
                .get(usize::from(c - 3))
                .map_or(Shape::Mixed, |of| Shape::Of(*of)),
        }
    }
}

/// What an array's elements are.
fn shape_of(items: &[Value]) -> Shape {
    let mut of: Option<ListOf> = None;
    let mut nulls = 0u32;
    for item in items {
        if matches!(item, Value::Null) {
            nulls += 1;
            continue;
        }
        let Some(this) = list_of(scalar_kind(item)) else {
            return Shape::Mixed;
        };
        match of {
            Some(o) if o != this => return Shape::Mixed,
            _ => of = Some(this),
        }
    }
    match of {
        Some(o) => Shape::Of(o),
        None => Shape::Any(nulls),
    }
}

fn list_of(kind: ColumnKind) -> Option<ListOf> {
    Some(match kind {
        ColumnKind::Int => ListOf::Int,
        ColumnKind::Double => ListOf::Double,
        ColumnKind::String => ListOf::String,
        ColumnKind::Boolean => ListOf::Boolean,
        ColumnKind::Time => ListOf::Time,
        ColumnKind::Date => ListOf::Date,
        ColumnKind::Bytes => ListOf::Bytes,
        _ => return None,
    })
}

/// A chunk's typed values as arrays, each slot's waiting for its plan column. The arrays all
/// have the chunk's rows, so that they can wait on disk ([`super::Spill`]) while what each
/// means stays here.
pub(crate) struct SealedCells {
    rows: usize,
    slots: Vec<SealedSlot>,
    columns: Vec<ArrayRef>,
}

struct SealedSlot {
    path: Path,
    kind: ColumnKind,
    first_row: usize,
    layout: Layout,
}

/// Which of the chunk's columns hold a slot's values.
enum Layout {
    Column(usize),
    Arrays {
        text: usize,
        code: usize,
        nulls: usize,
        items: Vec<(ListOf, usize)>,
    },
}

impl SealedCells {
    /// Takes the arrays out (to be kept elsewhere and put back by
    /// [`with_columns`](Self::with_columns)).
    pub(crate) fn take_columns(&mut self) -> Vec<ArrayRef> {
        std::mem::take(&mut self.columns)
    }

    /// Puts arrays back (those [`take_columns`](Self::take_columns) took, in order).
    pub(crate) fn with_columns(mut self, columns: Vec<ArrayRef>) -> Self {
        self.columns = columns;
        self
    }

    fn column(&self, i: usize) -> Result<&ArrayRef, TypedError> {
        self.columns.get(i).ok_or_else(|| {
            TypedError::from(arrow_schema::ArrowError::ComputeError(format!(
                "typed chunk: column {i} of {} missing",
                self.columns.len()
            )))
        })
    }

    /// One array per column of `plan`, in plan order (all-null where the chunk has no
    /// value). A value whose column `plan` lacks is an error naming the document (`ids`: the
    /// chunk's document ids, by row) or, with [`Unplanned::Skip`], left out.
    pub(crate) fn arrays(
        &self,
        plan: &ColumnPlan,
        unplanned: Unplanned,
        ids: &dyn Fn(usize) -> String,
    ) -> Result<Vec<ArrayRef>, TypedError> {
        let columns = plan.columns();
        let mut out: Vec<Option<ArrayRef>> = vec![None; columns.len()];
        let missing = |row: usize, path: &Path, kind: ColumnKind| match unplanned {
            Unplanned::Skip => Ok(()),
            Unplanned::Error => Err(TypedError::NoColumn {
                id: ids(row),
                path: path.to_json(),
                kind: kind.tag(),
            }),
        };
        for slot in &self.slots {
            match &slot.layout {
                Layout::Column(c) => match plan.column_for(&slot.path, slot.kind) {
                    Some(i) => {
                        if let Some(cell) = out.get_mut(i) {
                            *cell = Some(self.column(*c)?.clone());
                        }
                    }
                    None => missing(slot.first_row, &slot.path, slot.kind)?,
                },
                Layout::Arrays {
                    text,
                    code,
                    nulls,
                    items,
                } => {
                    let codes = self.column(*code)?.as_primitive::<UInt8Type>();
                    let counts = self.column(*nulls)?.as_primitive::<UInt32Type>();
                    let shape: Vec<Shape> = codes
                        .values()
                        .iter()
                        .zip(counts.values().iter())
                        .map(|(c, n)| Shape::from_code(*c, *n))
                        .collect();
                    let list = plan.list_column_of(&slot.path).and_then(|of| {
                        Some((plan.column_for(&slot.path, ColumnKind::List(of))?, of))
                    });
                    let of = list.map(|(_, of)| of);
                    let to_list = |s: Shape| match s {
                        Shape::Any(_) => of.is_some(),
                        Shape::Of(h) => of == Some(h),
                        Shape::None | Shape::Mixed => false,
                    };
                    if let Some((i, of)) = list {
                        let typed = match items.iter().find(|(l, _)| *l == of) {
                            Some((_, c)) => Some(self.column(*c)?.as_list::<i32>()),
                            None => None,
                        };
                        if let Some(cell) = out.get_mut(i) {
                            *cell = Some(list_column(of, &shape, typed, &to_list)?);
                        }
                    }
                    let as_text = |s: Shape| s != Shape::None && !to_list(s);
                    match plan.column_for(&slot.path, ColumnKind::Array) {
                        Some(i) => {
                            let text: StringArray = self
                                .column(*text)?
                                .as_string::<i32>()
                                .iter()
                                .zip(&shape)
                                .map(|(t, s)| t.filter(|_| as_text(*s)))
                                .collect();
                            if let Some(cell) = out.get_mut(i) {
                                *cell = Some(Arc::new(text));
                            }
                        }
                        None => {
                            if let Some(row) = shape.iter().position(|s| as_text(*s)) {
                                missing(row, &slot.path, ColumnKind::Array)?;
                            }
                        }
                    }
                }
            }
        }
        Ok(out
            .into_iter()
            .zip(columns)
            .map(|(a, c)| a.unwrap_or_else(|| new_null_array(&kind_data_type(c.kind), self.rows)))
            .collect())
    }
}

/// The `list<of>` column of a path's arrays: the rows `to_list` takes (their elements from
/// `typed`, the rows' lists of that type, or all null), others null.
fn list_column(
    of: ListOf,
    shape: &[Shape],
    typed: Option<&ListArray>,
    to_list: &dyn Fn(Shape) -> bool,
) -> Result<ArrayRef, TypedError> {
    let element = kind_data_type(of.element());
    let mut offsets = Vec::with_capacity(shape.len() + 1);
    let mut take: Vec<Option<u32>> = Vec::new();
    offsets.push(0i32);
    for (row, s) in shape.iter().enumerate() {
        if to_list(*s) {
            match (*s, typed) {
                (Shape::Any(n), _) => take.extend((0..n).map(|_| None)),
                (_, Some(t)) => {
                    let o = t.value_offsets();
                    let start = o.get(row).copied().unwrap_or(0) as u32;
                    let end = o.get(row + 1).copied().unwrap_or(0) as u32;
                    take.extend((start..end).map(Some));
                }
                // Sealed chunks keep every listable type's elements; never lose them quietly.
                (_, None) => {
                    return Err(TypedError::from(arrow_schema::ArrowError::ComputeError(
                        format!(
                            "typed chunk: the list<{}> elements of row {row} are missing",
                            of.element().tag()
                        ),
                    )))
                }
            }
        }
        let end = i32::try_from(take.len()).map_err(|_| {
            arrow_schema::ArrowError::ComputeError("list column above 2^31 items".into())
        })?;
        offsets.push(end);
    }
    let elements = match typed {
        Some(t) if !t.values().is_empty() => {
            arrow_select::take::take(t.values().as_ref(), &UInt32Array::from(take), None)?
        }
        _ => new_null_array(&element, take.len()),
    };
    let nulls = NullBuffer::from(shape.iter().map(|s| to_list(*s)).collect::<Vec<_>>());
    Ok(Arc::new(ListArray::try_new(
        Arc::new(Field::new_list_field(element, true)),
        OffsetBuffer::new(offsets.into()),
        elements,
        Some(nulls),
    )?))
}
