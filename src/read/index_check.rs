//! Whether an index can serve a collection's incremental reads, and, when not, exactly why.

use crate::fauna::Value;

/// Why index document `index` (named `name`, as `Get(Index(name))` returns it) cannot serve
/// `collection`'s changes, or `None` when it has source `collection`, no terms, values that
/// start with `[ts, ref]` (not reversed; readers use only those two, `spec/sync.md`) and is
/// active. (The message keeps source-fauna's wording, "should have values [ts, ref]".)
pub fn ts_ref_index_problem(name: &str, index: &Value, collection: &str) -> Option<String> {
    let Some(o) = index.as_object() else {
        return Some(format!("Index '{name}' could not be read"));
    };
    let source = o.get("source");
    let source_ok = source.and_then(Value::as_ref).is_some_and(|r| {
        r.id == collection && r.collection.as_deref().map(|c| c.id.as_str()) == Some("collections")
    });
    if !source_ok {
        let actual = match source.and_then(Value::as_ref) {
            Some(r) => format!("'{}'", r.id),
            None => "that is not a single collection".to_string(),
        };
        return Some(format!(
            "Index '{name}' should have source '{collection}', but it has source {actual}"
        ));
    }
    match o.get("terms") {
        None | Some(Value::Null) => {}
        Some(Value::Array(t)) if t.is_empty() => {}
        Some(other) => {
            return Some(format!(
                "Index '{name}' should have no terms, but it has terms {}",
                describe_fields(other)
            ))
        }
    }
    let values = o.get("values").unwrap_or(&Value::Null);
    let values_ok = match values.as_array() {
        Some([ts, r, ..]) => {
            field(ts).as_deref() == Some("ts") && field(r).as_deref() == Some("ref")
        }
        _ => false,
    };
    if !values_ok {
        let actual = match values {
            Value::Null => "no values".to_string(),
            v => format!("values {}", describe_fields(v)),
        };
        return Some(format!(
            "Index '{name}' should have values [ts, ref] (neither reversed), but it has {actual}"
        ));
    }
    if o.get("active").is_some_and(|a| *a != Value::Bool(true)) {
        return Some(format!(
            "Index '{name}' is not active yet (Fauna is still building it); wait until it is active"
        ));
    }
    None
}

/// The single-segment field of an index term or value, unless it is reversed or a binding.
fn field(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    if o.get("reverse").is_some_and(|r| *r != Value::Bool(false)) {
        return None;
    }
    match o.get("field")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) if a.len() == 1 => a[0].as_str().map(str::to_string),
        _ => None,
    }
}

/// `[ts, data.name (reverse), binding b]`: index terms or values as a reader would write them.
fn describe_fields(v: &Value) -> String {
    let one = |item: &Value| -> String {
        let Some(o) = item.as_object() else {
            return "?".into();
        };
        let mut text = match (o.get("field"), o.get("binding")) {
            (Some(Value::String(s)), _) => s.clone(),
            (Some(Value::Array(path)), _) => path
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    _ => "?".into(),
                })
                .collect::<Vec<_>>()
                .join("."),
            (_, Some(Value::String(b))) => format!("binding {b}"),
            _ => "?".into(),
        };
        if o.get("reverse") == Some(&Value::Bool(true)) {
            text.push_str(" (reverse)");
        }
        text
    };
    match v.as_array() {
        Some(items) => format!("[{}]", items.iter().map(one).collect::<Vec<_>>().join(", ")),
        None => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::ts_ref_index_problem as index_problem;
    use super::*;
    use crate::fauna::decode;

    fn index(values: &str, extra: &str) -> Value {
        decode(
            format!(
                r#"{{"name":"i","source":{{"@ref":{{"id":"users","collection":{{"@ref":{{"id":"collections"}}}}}}}},"values":{values}{extra}}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn a_fitting_index_has_no_problem() {
        let good = index(r#"[{"field":"ts"},{"field":["ref"]}]"#, r#","active":true"#);
        assert_eq!(index_problem("i", &good, "users"), None);
        // spec/sync.md: values need only start with [ts, ref].
        let longer = index(
            r#"[{"field":"ts"},{"field":"ref"},{"field":["data","x"],"reverse":true}]"#,
            "",
        );
        assert_eq!(index_problem("i", &longer, "users"), None);
        let no_active_field = index(r#"[{"field":["ts"]},{"field":"ref","reverse":false}]"#, "");
        assert_eq!(index_problem("i", &no_active_field, "users"), None);
    }

    #[test]
    fn each_problem_is_named_precisely() {
        let good = r#"[{"field":"ts"},{"field":"ref"}]"#;
        assert_eq!(
            index_problem("i", &index(good, ""), "orders").unwrap(),
            "Index 'i' should have source 'orders', but it has source 'users'"
        );
        assert_eq!(
            index_problem(
                "i",
                &index(good, r#","terms":[{"field":["data","email"]}]"#),
                "users"
            )
            .unwrap(),
            "Index 'i' should have no terms, but it has terms [data.email]"
        );
        assert_eq!(
            index_problem("i", &index(r#"[{"field":"ts","reverse":true},{"field":"ref"}]"#, ""), "users").unwrap(),
            "Index 'i' should have values [ts, ref] (neither reversed), but it has values [ts (reverse), ref]"
        );
        assert_eq!(
            index_problem("i", &index(r#"[{"field":"ref"},{"field":"ts"},{"field":["data","x"]}]"#, ""), "users").unwrap(),
            "Index 'i' should have values [ts, ref] (neither reversed), but it has values [ref, ts, data.x]"
        );
        assert_eq!(
            index_problem("i", &index(r#"[{"field":"ts"}]"#, ""), "users").unwrap(),
            "Index 'i' should have values [ts, ref] (neither reversed), but it has values [ts]"
        );
        assert_eq!(
            index_problem("i", &index("null", ""), "users").unwrap(),
            "Index 'i' should have values [ts, ref] (neither reversed), but it has no values"
        );
        assert_eq!(
            index_problem("i", &index(good, r#","active":false"#), "users").unwrap(),
            "Index 'i' is not active yet (Fauna is still building it); wait until it is active"
        );
    }
}
