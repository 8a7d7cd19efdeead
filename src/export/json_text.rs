//! The export JSON text of a value written straight into a buffer: the same bytes as
//! serializing [`super::ExportValue`] with `serde_json`, in about half the time, because a string
//! without characters to escape (nearly all of them) is checked in one branch-free pass and
//! copied whole instead of scanned byte by byte. Escaping, number and non-finite double
//! rendering stay `serde_json`'s and `ExportValue`'s own, so the two cannot drift apart.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use serde_json::ser::{CompactFormatter, Formatter};

use crate::fauna::{encode, java_double, Ref, RefKind, Value};

/// Appends `value`'s export JSON to `out`.
///
/// ```
/// use fauna_sync::export::{to_export_json, write_export_json};
/// use fauna_sync::fauna::{Ref, Value};
/// let v = Value::Array(vec![Value::Ref(Ref::document("players", "7")), "a\"b".into()]);
/// let mut out = Vec::new();
/// write_export_json(&v, &mut out);
/// assert_eq!(out, to_export_json(&v).into_bytes());
/// ```
pub fn write_export_json(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // Writing into a Vec cannot fail.
        Value::Int(i) => write_i64(*i, out),
        Value::Double(d) if d.is_finite() => drop(CompactFormatter.write_f64(out, *d)),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_export_json(item, out);
            }
            out.push(b']');
        }
        Value::Object(fields) => {
            out.push(b'{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                write_export_json(v, out);
            }
            out.push(b'}');
        }
        Value::Ref(r) => write_ref(r, out),
        Value::Timestamp(t) => write_str(&t.to_string(), out),
        Value::Date(d) => write_str(&d.to_string(), out),
        Value::Bytes(b) => write_str(&URL_SAFE.encode(b), out),
        Value::Query(_) | Value::Set(_) => write_str(&encode(value), out),
        // Non-finite doubles: `NaN`, `Infinity`, `-Infinity`, as strings.
        Value::Double(d) => write_str(&java_double(*d), out),
    }
}

fn write_ref(r: &Ref, out: &mut Vec<u8>) {
    let kind = r.kind();
    out.extend_from_slice(b"{\"id\":");
    write_str(&r.id, out);
    if let RefKind::Document(c) = kind {
        out.extend_from_slice(b",\"collection\":");
        write_str(c, out);
    }
    out.extend_from_slice(b",\"type\":");
    write_str(kind.export_type(), out);
    out.push(b'}');
}

/// An integer as `serde_json` writes it.
pub(super) fn write_i64(i: i64, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail.
    let _ = CompactFormatter.write_i64(out, i);
}

/// A JSON string: copied whole when nothing in it needs escaping, else `serde_json`'s escaping.
pub(super) fn write_str(s: &str, out: &mut Vec<u8>) {
    // No early exit, so the compiler can check many bytes at once.
    let plain = !s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::export::to_export_json;
    use crate::fauna::{Date, Object, Timestamp};

    /// Any value, scalars and tags nested in arrays and objects.
    pub(crate) fn arb_value() -> impl Strategy<Value = Value> {
        let text = "[a-z\"\\\\/\u{0}-\u{1f}\u{7f}é€😀 ]{0,12}";
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>().prop_map(Value::Double),
            prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-0.0), Just(1e300)]
                .prop_map(Value::Double),
            text.prop_map(Value::String),
            ("[0-9]{1,19}", "[a-z_\"]{1,8}").prop_map(|(id, c)| Value::Ref(Ref::document(&c, &id))),
            "[a-z]{1,8}".prop_map(|id| Value::Ref(Ref::index(&id))),
            "[a-z]{1,8}".prop_map(|id| Value::Ref(Ref::native(&id))),
            (0i64..4_000_000_000_000_000)
                .prop_map(|us| Value::Timestamp(Timestamp::from_micros(us))),
            (0i64..2_000_000).prop_filter_map("a date", |d| Date::from_days_since_epoch(d)
                .ok()
                .map(Value::Date)),
            prop::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bytes),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((text, inner), 0..6)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect::<Object>())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Byte for byte what `serde_json` writes for [`ExportValue`].
        #[test]
        fn writes_what_serde_json_writes(v in arb_value()) {
            let mut out = Vec::new();
            write_export_json(&v, &mut out);
            prop_assert_eq!(String::from_utf8(out).unwrap(), to_export_json(&v));
        }
    }
}
