//! A value's export JSON text, which a record holds instead of the value.

use serde::{Serialize, Serializer};

use super::transcode::transcode_at;
use super::write_export_json;
use crate::fauna::{DecodeError, DecodeErrorKind, Value};

/// Export JSON text (see [`super::ExportValue`] for the conversion), rendered once when the
/// record is built: sinks copy it as it is, and a value read by [`ExportJson::transcode_at`]
/// never becomes a [`Value`] tree at all.
///
/// ```
/// use fauna_sync::export::ExportJson;
/// use fauna_sync::fauna::{Ref, Value};
/// let j = ExportJson::of(&Value::Ref(Ref::document("players", "7")));
/// assert_eq!(j.as_str(), r#"{"id":"7","collection":"players","type":"document"}"#);
/// let (t, end) = ExportJson::transcode_at(br#"[{"@date":"2012-02-01"}]"#, 0, 0, &mut Vec::new()).unwrap();
/// assert_eq!((t.as_str(), end), (r#"["2012-02-01"]"#, 24));
/// ```
///
/// For typed columns (`columns: typed`) the value's wire JSON can ride along
/// ([`with_wire`](ExportJson::with_wire)): the types the export form no longer has. Equality
/// compares the export text only.
#[derive(Clone, Debug)]
pub struct ExportJson(Box<str>, Option<Box<[u8]>>);

impl PartialEq for ExportJson {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for ExportJson {}

impl ExportJson {
    /// The export JSON of `value`.
    pub fn of(value: &Value) -> Self {
        let mut out = Vec::new();
        write_export_json(value, &mut out);
        // Export JSON is written from `str`s and ASCII only.
        ExportJson(String::from_utf8_lossy(&out).into(), None)
    }

    /// The export JSON of the wire value starting at `input[start]`, `depth` arrays and
    /// objects deep in a response, and the offset past it (see [`super::transcode_at`]).
    /// `scratch` is working space, kept by the caller so that reading many values allocates
    /// only the text of each.
    pub fn transcode_at(
        input: &[u8],
        start: usize,
        depth: usize,
        scratch: &mut Vec<u8>,
    ) -> Result<(Self, usize), DecodeError> {
        scratch.clear();
        let end = transcode_at(input, start, depth, scratch)?;
        // Every string copied was checked to be UTF-8, so this does not fail.
        let text = std::str::from_utf8(scratch).map_err(|e| DecodeError {
            kind: DecodeErrorKind::InvalidString("not valid UTF-8"),
            offset: start + e.valid_up_to(),
        })?;
        Ok((ExportJson(text.into(), None), end))
    }

    /// The same export JSON carrying `wire`, the value's wire JSON (for typed columns).
    pub fn with_wire(self, wire: Box<[u8]>) -> Self {
        ExportJson(self.0, Some(wire))
    }

    /// The value's wire JSON, when it was kept ([`with_wire`](Self::with_wire)).
    pub fn wire(&self) -> Option<&[u8]> {
        self.1.as_deref()
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        &*self.0 == "null"
    }
}

impl From<&Value> for ExportJson {
    fn from(value: &Value) -> Self {
        Self::of(value)
    }
}

impl Serialize for ExportJson {
    /// Serializes as the JSON it is (with `serde_json`: the text itself).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: &serde_json::value::RawValue =
            serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}
