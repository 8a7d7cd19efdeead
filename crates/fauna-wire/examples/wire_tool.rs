//! A line-oriented bridge for cross-checking the codec against other implementations (the
//! official drivers). One JSON document per input line, one answer per output line.
//!
//! * `wire_tool describe` — wire JSON in; out: a tag-free *descriptor* of the decoded value
//!   (`{"int":1}`, `{"ref":{"id":…,"collection":{…}}}`, `{"ts":"…"}`, `{"bytes_hex":"…"}`, …)
//!   or `{"error":"…"}`.
//! * `wire_tool build` — a descriptor in; out: the value's wire JSON (response form).
//! * `wire_tool literal` — a descriptor in; out: the value as a request literal.

use std::io::{self, BufRead, Write};

use fauna_wire::{decode, encode, encode_literal, Date, Object, Ref, Timestamp, Value};

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let stdin = io::stdin();
    let mut out = io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let answer = match mode.as_str() {
            "describe" => match decode(line.as_bytes()) {
                Ok(v) => encode(&describe(&v)),
                Err(e) => encode(&single("error", Value::String(e.to_string()))),
            },
            "build" | "literal" => match decode(line.as_bytes())
                .map_err(|e| e.to_string())
                .and_then(|d| build(&d))
            {
                Ok(v) if mode == "build" => encode(&v),
                Ok(v) => encode_literal(&v),
                Err(e) => encode(&single("error", Value::String(e))),
            },
            _ => {
                eprintln!("usage: wire_tool describe|build|literal < lines");
                std::process::exit(2);
            }
        };
        if writeln!(out, "{answer}").is_err() {
            break;
        }
    }
}

fn single(key: &str, v: Value) -> Value {
    let mut o = Object::default();
    o.insert(key.to_string(), v);
    Value::Object(o)
}

fn describe_ref(r: &Ref) -> Value {
    let mut o = Object::default();
    o.insert("id".into(), Value::String(r.id.clone()));
    if let Some(c) = &r.collection {
        o.insert("collection".into(), describe_ref(c));
    }
    if let Some(d) = &r.database {
        o.insert("database".into(), describe_ref(d));
    }
    Value::Object(o)
}

fn describe(v: &Value) -> Value {
    match v {
        Value::Null => single("null", Value::Null),
        Value::Bool(b) => single("bool", Value::Bool(*b)),
        Value::Int(i) => single("int", Value::Int(*i)),
        Value::Double(d) => single("double", Value::Double(*d)),
        Value::String(s) => single("string", Value::String(s.clone())),
        Value::Array(a) => single("array", Value::Array(a.iter().map(describe).collect())),
        Value::Object(o) => single(
            "object",
            Value::Array(
                o.iter()
                    .map(|(k, v)| Value::Array(vec![Value::String(k.clone()), describe(v)]))
                    .collect(),
            ),
        ),
        Value::Ref(r) => single("ref", describe_ref(r)),
        Value::Timestamp(t) => single("ts", Value::String(t.to_string())),
        Value::Date(d) => single("date", Value::String(d.to_string())),
        Value::Bytes(b) => single(
            "bytes_hex",
            Value::String(b.iter().map(|x| format!("{x:02x}")).collect()),
        ),
        Value::Query(q) => single("query", Value::String(q.clone())),
        Value::Set(s) => single("set", Value::String(s.clone())),
    }
}

fn build_ref(d: &Value) -> Result<Ref, String> {
    let o = d.as_object().ok_or("a ref descriptor must be an object")?;
    let id = o
        .get("id")
        .and_then(Value::as_str)
        .ok_or("a ref descriptor needs a string id")?;
    Ok(Ref {
        id: id.to_string(),
        collection: o
            .get("collection")
            .map(build_ref)
            .transpose()?
            .map(Box::new),
        database: o.get("database").map(build_ref).transpose()?.map(Box::new),
    })
}

fn build(d: &Value) -> Result<Value, String> {
    let o = d
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or("a descriptor is a one-key object")?;
    let (kind, arg) = o.iter().next().ok_or("empty descriptor")?;
    let text = || arg.as_str().ok_or(format!("{kind} takes a string"));
    Ok(match kind.as_str() {
        "null" => Value::Null,
        "bool" | "int" | "double" | "string" => arg.clone(),
        "array" => Value::Array(
            arg.as_array()
                .ok_or("array takes an array")?
                .iter()
                .map(build)
                .collect::<Result<_, _>>()?,
        ),
        "object" => {
            let mut out = Object::default();
            for pair in arg.as_array().ok_or("object takes [[key, descriptor]…]")? {
                match pair.as_array() {
                    Some([Value::String(k), v]) => {
                        out.insert(k.clone(), build(v)?);
                    }
                    _ => return Err("object takes [[key, descriptor]…]".into()),
                }
            }
            Value::Object(out)
        }
        "ref" => Value::Ref(build_ref(arg)?),
        "ts" => Value::Timestamp(Timestamp::parse(text()?).map_err(|e| e.to_string())?),
        "date" => Value::Date(Date::parse(text()?).map_err(|e| e.to_string())?),
        "bytes_hex" => {
            let t = text()?;
            let bytes = (0..t.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(t.get(i..i + 2).unwrap_or("zz"), 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| e.to_string())?;
            Value::Bytes(bytes)
        }
        "query" => Value::Query(text()?.to_string()),
        "set" => Value::Set(text()?.to_string()),
        other => return Err(format!("unknown descriptor kind {other}")),
    })
}
