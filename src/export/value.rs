//! Fauna value → export JSON, the documented conversion table applied recursively.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use crate::fauna::{encode, java_double, Ref, RefKind, Value};

/// A borrowed [`Value`] that serializes in its export form.
///
/// | value | export form |
/// |---|---|
/// | string, boolean, null, integer | unchanged |
/// | double | number; non-finite as the strings `NaN`, `Infinity`, `-Infinity` |
/// | object, array | converted element by element (`@obj` is already unwrapped) |
/// | document ref | `{"id", "collection", "type":"document"}` |
/// | other ref | `{"id", "type"}` with `collection`, `index`, …, or `unknown` |
/// | bytes | URL-safe base64 with padding |
/// | timestamp, date | ISO-8601 text as Fauna renders it |
/// | query, set | the compact wire JSON of the value, as a string |
///
/// ```
/// use fauna_sync::export::to_export_json;
/// use fauna_sync::fauna::{Ref, Value};
/// let r = Value::Ref(Ref::document("players", "7"));
/// assert_eq!(to_export_json(&r), r#"{"id":"7","collection":"players","type":"document"}"#);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ExportValue<'a>(pub &'a Value);

/// The export JSON text of `value`.
pub fn to_export_json(value: &Value) -> String {
    // Serializing into a String cannot fail: every map key is a string.
    serde_json::to_string(&ExportValue(value)).unwrap_or_default()
}

impl Serialize for ExportValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Double(d) if d.is_finite() => s.serialize_f64(*d),
            Value::Double(d) => s.serialize_str(&java_double(*d)),
            Value::String(text) => s.serialize_str(text),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&ExportValue(item))?;
                }
                seq.end()
            }
            Value::Object(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, &ExportValue(v))?;
                }
                map.end()
            }
            Value::Ref(r) => serialize_ref(r, s),
            Value::Timestamp(t) => s.collect_str(t),
            Value::Date(d) => s.collect_str(d),
            Value::Bytes(b) => s.serialize_str(&URL_SAFE.encode(b)),
            Value::Query(_) | Value::Set(_) => s.serialize_str(&encode(self.0)),
        }
    }
}

fn serialize_ref<S: Serializer>(r: &Ref, s: S) -> Result<S::Ok, S::Error> {
    let kind = r.kind();
    let document_collection = match kind {
        RefKind::Document(c) => Some(c),
        _ => None,
    };
    let mut map = s.serialize_map(Some(if document_collection.is_some() { 3 } else { 2 }))?;
    map.serialize_entry("id", &r.id)?;
    if let Some(c) = document_collection {
        map.serialize_entry("collection", c)?;
    }
    map.serialize_entry("type", kind.export_type())?;
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fauna::{decode, Date, Timestamp};

    /// Decodes wire JSON and returns its export JSON.
    fn export(wire: &str) -> String {
        to_export_json(&decode(wire.as_bytes()).unwrap())
    }

    const FOO: &str = r#"{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}}"#;

    #[test]
    fn scalars_are_unchanged() {
        assert_eq!(export(r#""str""#), r#""str""#);
        assert_eq!(export("true"), "true");
        assert_eq!(export("null"), "null");
        assert_eq!(export("12"), "12");
        assert_eq!(export("-9223372036854775808"), "-9223372036854775808");
        assert_eq!(export("3.5"), "3.5");
        assert_eq!(export("1.0E10"), "10000000000.0");
        assert_eq!(export(r#""NaN""#), r#""NaN""#);
        assert_eq!(to_export_json(&Value::Double(f64::NAN)), r#""NaN""#);
        assert_eq!(
            to_export_json(&Value::Double(f64::INFINITY)),
            r#""Infinity""#
        );
        assert_eq!(
            to_export_json(&Value::Double(f64::NEG_INFINITY)),
            r#""-Infinity""#
        );
    }

    #[test]
    fn containers_convert_recursively_and_obj_is_unwrapped() {
        assert_eq!(
            export(r#"{"@obj":{"@name":"John","t":[{"@date":"2012-02-01"}]}}"#),
            r#"{"@name":"John","t":["2012-02-01"]}"#
        );
        assert_eq!(
            export(r#"{"z":1,"a":{"b":[1,2.5]}}"#),
            r#"{"z":1,"a":{"b":[1,2.5]}}"#
        );
    }

    #[test]
    fn refs_become_typed_objects() {
        let doc = format!(r#"{{"@ref":{{"id":"123","collection":{FOO}}}}}"#);
        assert_eq!(
            export(&doc),
            r#"{"id":"123","collection":"foo","type":"document"}"#
        );
        let cases = [
            (FOO.to_string(), r#"{"id":"foo","type":"collection"}"#),
            (
                r#"{"@ref":{"id":"ts","collection":{"@ref":{"id":"indexes"}}}}"#.into(),
                r#"{"id":"ts","type":"index"}"#,
            ),
            (
                native_child("databases", "d"),
                r#"{"id":"d","type":"database"}"#,
            ),
            (
                native_child("functions", "f"),
                r#"{"id":"f","type":"function"}"#,
            ),
            (native_child("roles", "r"), r#"{"id":"r","type":"role"}"#),
            (
                native_child("access_providers", "p"),
                r#"{"id":"p","type":"access_provider"}"#,
            ),
            (native_child("keys", "1"), r#"{"id":"1","type":"key"}"#),
            (native_child("tokens", "2"), r#"{"id":"2","type":"token"}"#),
            (
                native_child("credentials", "3"),
                r#"{"id":"3","type":"credential"}"#,
            ),
            (
                native_child("widgets", "4"),
                r#"{"id":"4","type":"unknown"}"#,
            ),
            (
                r#"{"@ref":{"id":"collections"}}"#.into(),
                r#"{"id":"collections","type":"unknown"}"#,
            ),
            (
                format!(r#"{{"@ref":{{"id":"9","collection":{doc}}}}}"#),
                r#"{"id":"9","type":"unknown"}"#,
            ),
            // The database scope is not part of the export form.
            (
                format!(
                    r#"{{"@ref":{{"id":"5","collection":{FOO},"database":{}}}}}"#,
                    native_child("databases", "child")
                ),
                r#"{"id":"5","collection":"foo","type":"document"}"#,
            ),
        ];
        for (wire, want) in cases {
            assert_eq!(export(&wire), want, "{wire}");
        }
    }

    fn native_child(native: &str, id: &str) -> String {
        format!(r#"{{"@ref":{{"id":"{id}","collection":{{"@ref":{{"id":"{native}"}}}}}}}}"#)
    }

    #[test]
    fn bytes_times_dates_queries_and_sets() {
        assert_eq!(
            export(r#"{"@bytes":"aGVsbG8gd29ybGQ="}"#),
            r#""aGVsbG8gd29ybGQ=""#
        );
        assert_eq!(export(r#"{"@bytes":"+/8="}"#), r#""-_8=""#);
        assert_eq!(
            export(r#"{"@ts":"2022-07-18T23:58:03.585Z"}"#),
            r#""2022-07-18T23:58:03.585Z""#
        );
        assert_eq!(
            export(r#"{"@ts":"2022-07-18T23:58:03Z"}"#),
            r#""2022-07-18T23:58:03Z""#
        );
        assert_eq!(export(r#"{"@date":"2012-02-01"}"#), r#""2012-02-01""#);
        assert_eq!(
            export(r#"{"@query":{"api_version":"4","lambda":"x","expr":{"var":"x"}}}"#),
            r#""{\"@query\":{\"api_version\":\"4\",\"lambda\":\"x\",\"expr\":{\"var\":\"x\"}}}""#
        );
        assert_eq!(
            export(&format!(r#"{{"@set":{{"documents":{FOO}}}}}"#)),
            r#""{\"@set\":{\"documents\":{\"@ref\":{\"id\":\"foo\",\"collection\":{\"@ref\":{\"id\":\"collections\"}}}}}}""#
        );
        let _ = (Date::EPOCH, Timestamp::EPOCH);
    }

    #[test]
    fn worked_example_of_the_export_format() {
        let data = concat!(
            r#"{"owner":{"@ref":{"id":"7","collection":{"@ref":{"id":"players","collection":{"@ref":{"id":"collections"}}}}}},"#,
            r#""blob":{"@bytes":"aGVsbG8gd29ybGQ="},"seen":{"@ts":"2022-07-18T23:58:03.585Z"},"born":{"@date":"2012-02-01"},"#,
            r#""fn":{"@query":{"api_version":"4","lambda":"x","expr":{"var":"x"}}},"all":{"@ref":{"id":"collections"}}}"#
        );
        assert_eq!(
            export(data),
            concat!(
                r#"{"owner":{"id":"7","collection":"players","type":"document"},"#,
                r#""blob":"aGVsbG8gd29ybGQ=","seen":"2022-07-18T23:58:03.585Z","born":"2012-02-01","#,
                r#""fn":"{\"@query\":{\"api_version\":\"4\",\"lambda\":\"x\",\"expr\":{\"var\":\"x\"}}}","#,
                r#""all":{"id":"collections","type":"unknown"}}"#
            )
        );
    }
}
