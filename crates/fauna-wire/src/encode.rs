//! [`Value`] → wire JSON, in the two forms the protocol uses.
//!
//! * **Response form** ([`encode`]): what the server renders. Objects with a key starting with
//!   `@` are escaped as `{"@obj":{…}}`, bytes use the standard base64 alphabet with padding,
//!   doubles are rendered like Java.
//! * **Request literal form** ([`encode_literal`]): a value as it must appear inside a query.
//!   Objects are wrapped as `{"object":{…}}` (whose keys may start with `@`), so they are not
//!   mistaken for function calls; everything else is as in the response form.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::double::java_double;
use crate::reference::Ref;
use crate::value::Value;

/// Renders `value` in the response form.
///
/// ```
/// use fauna_wire::{encode, Value, Object};
/// let mut o = Object::default();
/// o.insert("@name".into(), Value::from("John"));
/// assert_eq!(encode(&Value::Object(o)), r#"{"@obj":{"@name":"John"}}"#);
/// ```
pub fn encode(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, Form::Response);
    out
}

/// Appends the response form of `value` to `out`.
pub fn encode_into(out: &mut String, value: &Value) {
    write_value(out, value, Form::Response);
}

/// Renders `value` as a literal inside a request.
///
/// ```
/// use fauna_wire::{encode_literal, Value, Object};
/// let mut o = Object::default();
/// o.insert("name".into(), Value::from("Laptop"));
/// assert_eq!(encode_literal(&Value::Object(o)), r#"{"object":{"name":"Laptop"}}"#);
/// ```
pub fn encode_literal(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, Form::Literal);
    out
}

/// Appends the request-literal form of `value` to `out`.
pub fn encode_literal_into(out: &mut String, value: &Value) {
    write_value(out, value, Form::Literal);
}

/// Appends the response form as API versions before 2.7 render it: refs say `class` instead
/// of `collection`, and the native `collections` is `classes`. Everything else is unchanged.
pub fn encode_legacy_into(out: &mut String, value: &Value) {
    write_value(out, value, Form::Legacy);
}

/// Renders a ref as `{"@ref":{…}}`.
pub fn encode_ref(out: &mut String, r: &Ref) {
    write_ref(out, r, false);
}

/// Renders a ref as API versions before 2.7 do (`class`, `classes`).
pub fn encode_ref_legacy(out: &mut String, r: &Ref) {
    write_ref(out, r, true);
}

fn write_ref(out: &mut String, r: &Ref, legacy: bool) {
    out.push_str(r#"{"@ref":{"id":"#);
    if legacy && r.is_native() && r.id == "collections" {
        write_str(out, "classes");
    } else {
        write_str(out, &r.id);
    }
    if let Some(c) = &r.collection {
        out.push_str(if legacy {
            r#","class":"#
        } else {
            r#","collection":"#
        });
        write_ref(out, c, legacy);
    }
    if let Some(d) = &r.database {
        out.push_str(r#","database":"#);
        write_ref(out, d, legacy);
    }
    out.push_str("}}");
}

/// Appends `s` as a JSON string literal, escaped the way the server's writer escapes.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[from..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04X}"));
        } else {
            out.push_str(esc);
        }
        from = i + 1;
    }
    out.push_str(&s[from..]);
    out.push('"');
}

/// Appends a double as the server writes it: Java notation, non-finite values as strings.
pub fn write_double(out: &mut String, d: f64) {
    if d.is_finite() {
        out.push_str(&java_double(d));
    } else {
        out.push('"');
        out.push_str(&java_double(d));
        out.push('"');
    }
}

/// The keys a request reads as a tag when an object holds nothing else (the real server's
/// `QueryParser.escapes`).
const REQUEST_TAGS: [&str; 8] = [
    "@obj", "@ref", "@set", "@ts", "@date", "@bytes", "@query", "@uuid",
];

/// True when `keys` is exactly one request tag: such an object, written as the argument of
/// `object`, must be escaped as `{"@obj": …}` to stay a plain object.
pub(crate) fn is_lone_tag<'k>(mut keys: impl ExactSizeIterator<Item = &'k String>) -> bool {
    keys.len() == 1
        && keys
            .next()
            .is_some_and(|k| REQUEST_TAGS.contains(&k.as_str()))
}

#[derive(Clone, Copy, PartialEq)]
enum Form {
    Response,
    /// The response form of API versions before 2.7.
    Legacy,
    Literal,
}

fn write_value(out: &mut String, value: &Value, form: Form) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Value::Double(d) => write_double(out, *d),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_value(out, item, form);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            let wrap = match form {
                // A lone tag key would make the server read the object as that tagged value.
                Form::Literal if is_lone_tag(fields.keys()) => Some(r#"{"object":{"@obj":"#),
                Form::Literal => Some(r#"{"object":"#),
                Form::Response | Form::Legacy if fields.keys().any(|k| k.starts_with('@')) => {
                    Some(r#"{"@obj":"#)
                }
                Form::Response | Form::Legacy => None,
            };
            if let Some(w) = wrap {
                out.push_str(w);
            }
            out.push('{');
            for (n, (k, v)) in fields.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, v, form);
            }
            out.push('}');
            if let Some(w) = wrap {
                out.push_str(&"}".repeat(w.matches('{').count()));
            }
        }
        Value::Ref(r) => write_ref(out, r, form == Form::Legacy),
        Value::Timestamp(t) => {
            out.push_str(r#"{"@ts":""#);
            out.push_str(&t.to_string());
            out.push_str("\"}");
        }
        Value::Date(d) => {
            out.push_str(r#"{"@date":""#);
            out.push_str(&d.to_string());
            out.push_str("\"}");
        }
        Value::Bytes(b) => {
            out.push_str(r#"{"@bytes":""#);
            out.push_str(&STANDARD.encode(b));
            out.push_str("\"}");
        }
        Value::Query(raw) => {
            out.push_str(r#"{"@query":"#);
            out.push_str(raw);
            out.push('}');
        }
        Value::Set(raw) => {
            out.push_str(r#"{"@set":"#);
            out.push_str(raw);
            out.push('}');
        }
    }
}
