//! Tagged values in a request (`{"@ts": …}`, `{"@ref": …}` …), read from the plain JSON tree
//! as the real server's `EscapesParser` and `QueryParser.escapes` read them
//! (`ext/model/src/main/scala/ast/Parser.scala`): an object is an escape only when its one key
//! is a tag. Whether an escape is read at all depends on where the object stands, which the
//! query parser decides; this module turns one escape's content into a value.

use fauna_wire::{decode_bytes, encode, write_str, Date, Object, Ref, Timestamp, Value};

/// The tags a request may use. (`@uuid` exists on the real server but not in this value
/// model; an object keyed `@uuid` stays an unknown form.)
const TAGS: [&str; 7] = ["@obj", "@ref", "@set", "@ts", "@date", "@bytes", "@query"];

/// The key sets of the set forms a `@set` may hold (`EscapesParser.sets`).
const SET_FORMS: &[&[&str]] = &[
    &["match"],
    &["match", "index"],
    &["match", "terms"],
    &["singleton"],
    &["events"],
    &["documents"],
    &["union"],
    &["intersection"],
    &["difference"],
    &["distinct"],
    &["reverse"],
    &["range", "from", "to"],
    &["join", "with"],
    &["filter", "collection"],
];

/// The tag and its content when `o` is an escape: exactly one field, keyed by a tag.
pub fn escape(o: &Object) -> Option<(&'static str, &Value)> {
    if o.len() != 1 {
        return None;
    }
    let (k, v) = o.first()?;
    TAGS.iter().find(|t| **t == k.as_str()).map(|t| (*t, v))
}

/// The value of a scalar escape (`@ref`, `@ts`, `@date`, `@bytes`, `@set`), or the real
/// server's description of why its content is refused ("Invalid time." …). `@obj` and
/// `@query` hold expressions and are read by the parser.
pub fn scalar(tag: &str, content: &Value) -> Result<Value, &'static str> {
    match tag {
        "@ts" => match content {
            Value::String(s) => Timestamp::parse(s)
                .map(Value::Timestamp)
                .map_err(|_| "Invalid time."),
            _ => Err("Invalid time."),
        },
        "@date" => match content {
            Value::String(s) => Date::parse(s).map(Value::Date).map_err(|_| "Invalid date."),
            _ => Err("Invalid date."),
        },
        // The real server lets Java's decoder throw on bad base64; "Invalid bytes." is the
        // parser's own message for a non-string.
        "@bytes" => match content {
            Value::String(s) => decode_bytes(s).map(Value::Bytes).ok_or("Invalid bytes."),
            _ => Err("Invalid bytes."),
        },
        "@ref" => reference(content).map(Value::Ref).ok_or("Invalid ref."),
        "@set" => match content {
            Value::Object(o)
                if SET_FORMS
                    .iter()
                    .any(|ks| ks.len() == o.len() && ks.iter().all(|k| o.contains_key(*k))) =>
            {
                Ok(Value::Set(plain_json(content)))
            }
            _ => Err("Invalid set."),
        },
        _ => Err("Invalid expression."),
    }
}

/// The ref inside `@ref`: `id` (string or integer) with optional `collection`/`class` and
/// `database`, each itself a `{"@ref": …}` (or null).
fn reference(content: &Value) -> Option<Ref> {
    let Value::Object(o) = content else {
        return None;
    };
    let mut id = None;
    let mut collection = None;
    let mut database = None;
    for (k, v) in o {
        let slot = match k.as_str() {
            "id" => {
                id = Some(match v {
                    Value::String(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    _ => return None,
                });
                continue;
            }
            "collection" | "class" if collection.is_none() => &mut collection,
            "database" if database.is_none() => &mut database,
            _ => return None,
        };
        *slot = match v {
            Value::Null => None,
            Value::Object(inner) => match escape(inner) {
                Some(("@ref", c)) => Some(Box::new(reference(c)?)),
                _ => return None,
            },
            _ => return None,
        };
    }
    Some(Ref {
        id: id?,
        collection,
        database,
    })
}

/// The server's type name of an escape's value, for "Object expected, … provided.".
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Query(_) => "Lambda",
        other => super::parse::value_type(other),
    }
}

/// Compact JSON of a plain request tree, objects written as they are (no `@obj`).
pub fn plain_json(v: &Value) -> String {
    let mut out = String::new();
    write_plain(&mut out, v);
    out
}

fn write_plain(out: &mut String, v: &Value) {
    match v {
        Value::Object(o) => {
            out.push('{');
            for (n, (k, x)) in o.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_plain(out, x);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (n, x) in a.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_plain(out, x);
            }
            out.push(']');
        }
        other => out.push_str(&encode(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fauna_wire::decode_json;

    fn plain(json: &str) -> Value {
        decode_json(json.as_bytes()).unwrap()
    }

    fn esc(json: &str) -> Option<Result<Value, &'static str>> {
        let v = plain(json);
        let o = v.as_object()?;
        escape(o).map(|(tag, c)| scalar(tag, c))
    }

    #[test]
    fn only_a_lone_tag_key_is_an_escape() {
        assert_eq!(esc(r#"{"@ts":"x","n":1}"#), None);
        assert_eq!(esc(r#"{"@weird":1}"#), None);
        assert_eq!(esc(r#"{"@uuid":"x"}"#), None);
        assert_eq!(esc(r#"{"ts":"x"}"#), None);
        assert_eq!(
            esc(r#"{"@ts":"1970-01-01T00:00:00+00:00"}"#),
            Some(Ok(Value::Timestamp(Timestamp::from_micros(0))))
        );
    }

    #[test]
    fn bad_contents_get_the_real_servers_descriptions() {
        for (json, msg) in [
            (r#"{"@ts":"not a time"}"#, "Invalid time."),
            (r#"{"@ts":5}"#, "Invalid time."),
            (r#"{"@date":"19700101"}"#, "Invalid date."),
            (r#"{"@date":null}"#, "Invalid date."),
            (r#"{"@bytes":1}"#, "Invalid bytes."),
            (r#"{"@bytes":"!!"}"#, "Invalid bytes."),
            (r#"{"@ref":"foo"}"#, "Invalid ref."),
            (
                r#"{"@ref":{"id":"1","collection":{"x":1}}}"#,
                "Invalid ref.",
            ),
            (
                r#"{"@ref":{"collection":{"@ref":{"id":"c"}}}}"#,
                "Invalid ref.",
            ),
            (r#"{"@set":{"foo":1}}"#, "Invalid set."),
            (r#"{"@set":[]}"#, "Invalid set."),
        ] {
            assert_eq!(esc(json), Some(Err(msg)), "{json}");
        }
    }

    #[test]
    fn refs_and_sets_nest() {
        assert_eq!(
            esc(
                r#"{"@ref":{"id":"1","collection":{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}}}}"#
            ),
            Some(Ok(Value::Ref(Ref::document("foo", "1"))))
        );
        assert_eq!(
            esc(r#"{"@set":{"documents":{"@ref":{"id":"c"}},"x":1}}"#),
            Some(Err("Invalid set."))
        );
        assert_eq!(
            esc(r#"{"@set":{"match":{"@ref":{"id":"i"}},"terms":[1, 2.5]}}"#),
            Some(Ok(Value::Set(
                r#"{"match":{"@ref":{"id":"i"}},"terms":[1,2.5]}"#.into()
            )))
        );
    }
}
