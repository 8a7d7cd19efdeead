//! Every wire example of `fauna-v4.md` §3, pinned as exact JSON strings, both directions.

use fauna_wire::{
    decode, encode, encode_literal, Date, DecodeErrorKind, Expr, Object, Ref, Timestamp, Value,
};

fn obj(fields: &[(&str, Value)]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<Object>(),
    )
}

/// Decodes `wire`, checks it equals `value`, and that `value` encodes back to `wire` exactly.
fn pin(wire: &str, value: Value) {
    assert_eq!(
        decode(wire.as_bytes()),
        Ok(value.clone()),
        "decoding {wire}"
    );
    assert_eq!(encode(&value), wire, "encoding {value:?}");
}

const FOO: &str = r#"{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}}"#;

#[test]
fn scalars_keep_the_int_double_distinction() {
    pin("1", Value::Int(1));
    pin("1.0", Value::Double(1.0));
    pin("3.25", Value::Double(3.25));
    pin("1.0E10", Value::Double(1e10));
    pin("1.0E-5", Value::Double(1e-5));
    pin("-9223372036854775808", Value::Int(i64::MIN));
    pin("9223372036854775807", Value::Int(i64::MAX));
    pin("\"str\"", Value::from("str"));
    pin("true", Value::Bool(true));
    pin("null", Value::Null);
    // Other lexical forms of doubles decode, and render the Java way.
    assert_eq!(decode(b"1e10"), Ok(Value::Double(1e10)));
    assert_eq!(decode(b"2.50"), Ok(Value::Double(2.5)));
    // NaN and infinities are rendered as strings, as the server does.
    assert_eq!(encode(&Value::Double(f64::NAN)), "\"NaN\"");
    assert_eq!(encode(&Value::Double(f64::INFINITY)), "\"Infinity\"");
    assert_eq!(encode(&Value::Double(f64::NEG_INFINITY)), "\"-Infinity\"");
}

#[test]
fn objects_starting_with_at_are_escaped() {
    pin(
        r#"{"@obj":{"@name":"John"}}"#,
        obj(&[("@name", Value::from("John"))]),
    );
    // Only objects with an '@' key are escaped, checked per object, recursively.
    pin(
        r#"{"a":{"@obj":{"b":1,"@c":2}},"d":[{"@obj":{"@e":{"@ts":"1970-01-01T00:00:00Z"}}}]}"#,
        obj(&[
            ("a", obj(&[("b", Value::Int(1)), ("@c", Value::Int(2))])),
            (
                "d",
                Value::Array(vec![obj(&[("@e", Value::Timestamp(Timestamp::EPOCH))])]),
            ),
        ]),
    );
    // Key order is preserved.
    pin(
        r#"{"z":1,"a":2,"m":3}"#,
        obj(&[("z", 1.into()), ("a", 2.into()), ("m", 3.into())]),
    );
}

#[test]
fn timestamps_render_like_java_instant() {
    pin(
        r#"{"@ts":"2022-07-18T23:58:03.585Z"}"#,
        Value::Timestamp(Timestamp::from_micros(1_658_188_683_585_000)),
    );
    pin(
        r#"{"@ts":"2022-07-18T23:58:03.585123Z"}"#,
        Value::Timestamp(Timestamp::from_micros(1_658_188_683_585_123)),
    );
    pin(
        r#"{"@ts":"2022-07-18T23:58:03.585123456Z"}"#,
        Value::Timestamp(Timestamp::from_nanos(1_658_188_683_585_123_456)),
    );
    pin(
        r#"{"@ts":"1970-01-01T00:00:00Z"}"#,
        Value::Timestamp(Timestamp::EPOCH),
    );
    // Offsets are accepted on input and normalised to UTC.
    let v = decode(br#"{"@ts":"1970-01-01T00:00:00+00:00"}"#).unwrap();
    assert_eq!(encode(&v), r#"{"@ts":"1970-01-01T00:00:00Z"}"#);
}

#[test]
fn dates_bytes_queries_and_sets() {
    pin(r#"{"@date":"1970-01-01"}"#, Value::Date(Date::EPOCH));
    pin(
        r#"{"@date":"2012-02-01"}"#,
        Value::Date(Date::from_ymd(2012, 2, 1).unwrap()),
    );
    pin(r#"{"@bytes":"AQIDBA=="}"#, Value::Bytes(vec![1, 2, 3, 4]));
    // Input accepts either alphabet, padding optional; output is standard with padding.
    for input in ["+/8=", "-_8=", "+/8", "-_8"] {
        let wire = format!(r#"{{"@bytes":"{input}"}}"#);
        assert_eq!(
            decode(wire.as_bytes()),
            Ok(Value::Bytes(vec![0xfb, 0xff])),
            "{input}"
        );
    }
    assert_eq!(
        encode(&Value::Bytes(vec![0xfb, 0xff])),
        r#"{"@bytes":"+/8="}"#
    );
    pin(
        r#"{"@query":{"api_version":"4","lambda":"x","expr":{"var":"x"}}}"#,
        Value::Query(r#"{"api_version":"4","lambda":"x","expr":{"var":"x"}}"#.into()),
    );
    let documents = format!(r#"{{"documents":{FOO}}}"#);
    pin(
        &format!(r#"{{"@set":{documents}}}"#),
        Value::Set(documents.clone()),
    );
    let idx = r#"{"@ref":{"id":"i","collection":{"@ref":{"id":"indexes"}}}}"#;
    let m = format!(r#"{{"match":{idx},"terms":"t"}}"#);
    pin(&format!(r#"{{"@set":{m}}}"#), Value::Set(m.clone()));
    // Opaque content is kept verbatim but compact.
    assert_eq!(
        decode(b"{\"@query\": {\"lambda\": \"x\",\n \"expr\": {\"var\": \"x y\"}}}"),
        Ok(Value::Query(
            r#"{"lambda":"x","expr":{"var":"x y"}}"#.into()
        ))
    );
    // The content is an expression: a literal object with an @-key in it is valid there.
    let q = r#"{"api_version":"4","lambda":"x","expr":{"object":{"@k":1}}}"#;
    pin(&format!(r#"{{"@query":{q}}}"#), Value::Query(q.into()));
}

#[test]
fn refs_nest_with_native_collections() {
    pin(
        r#"{"@ref":{"id":"337567897171787849","collection":{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}}}}"#,
        Value::Ref(Ref::document("foo", "337567897171787849")),
    );
    pin(FOO, Value::Ref(Ref::collection("foo")));
    pin(
        r#"{"@ref":{"id":"ts","collection":{"@ref":{"id":"indexes"}}}}"#,
        Value::Ref(Ref::index("ts")),
    );
    pin(
        r#"{"@ref":{"id":"mydb","collection":{"@ref":{"id":"databases"}}}}"#,
        Value::Ref(Ref::in_native("databases", "mydb")),
    );
    for native in fauna_wire::NATIVE_COLLECTIONS {
        pin(
            &format!(r#"{{"@ref":{{"id":"{native}"}}}}"#),
            Value::Ref(Ref::native(native)),
        );
    }
    for (coll, id) in [
        ("roles", "r"),
        ("functions", "f"),
        ("access_providers", "p"),
        ("keys", "1"),
        ("tokens", "2"),
        ("credentials", "3"),
    ] {
        pin(
            &format!(r#"{{"@ref":{{"id":"{id}","collection":{{"@ref":{{"id":"{coll}"}}}}}}}}"#),
            Value::Ref(Ref::in_native(coll, id)),
        );
    }
    // A ref into a child database.
    let mut child = Ref::document("foo", "1");
    child.database = Some(Box::new(Ref::in_native("databases", "child")));
    pin(
        r#"{"@ref":{"id":"1","collection":{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}},"database":{"@ref":{"id":"child","collection":{"@ref":{"id":"databases"}}}}}}"#,
        Value::Ref(child),
    );
    // API < 2.7 spelled the key "class"; it decodes the same.
    assert_eq!(
        decode(br#"{"@ref":{"id":"1","class":{"@ref":{"id":"foo","class":{"@ref":{"id":"classes"}}}}}}"#)
            .map(|v| matches!(v, Value::Ref(_))),
        Ok(true)
    );
}

/// An object whose one key is a request tag is escaped with `@obj` inside `object`, or the
/// server would read it as that tagged value (`{"object":{"@ts":"x"}}` is "Invalid time.").
#[test]
fn request_literals_escape_objects_whose_only_key_is_a_tag() {
    for tag in [
        "@obj", "@ref", "@set", "@ts", "@date", "@bytes", "@query", "@uuid",
    ] {
        let lone = obj(&[(tag, "x".into())]);
        assert_eq!(
            encode_literal(&lone),
            format!(r#"{{"object":{{"@obj":{{"{tag}":"x"}}}}}}"#)
        );
        assert_eq!(
            Expr::object([(tag, Expr::from("x"))]).to_json(),
            format!(r#"{{"object":{{"@obj":{{"{tag}":"x"}}}}}}"#)
        );
    }
    // Beside other keys, or an unknown tag, the key is a field name as it is.
    let doc = obj(&[
        ("@ts", obj(&[("@weird", 1.into())])),
        (
            "n",
            obj(&[("@date", obj(&[("@ts", Value::Bytes(vec![1]))]))]),
        ),
    ]);
    assert_eq!(
        encode_literal(&doc),
        concat!(
            r#"{"object":{"@ts":{"object":{"@weird":1}},"#,
            r#""n":{"object":{"@obj":{"@date":{"object":{"@obj":{"@ts":{"@bytes":"AQ=="}}}}}}}}}"#
        )
    );
    assert_eq!(
        Expr::object([("@ts", Expr::from("x")), ("k", Expr::from(1))]).to_json(),
        r#"{"object":{"@ts":"x","k":1}}"#
    );
}

#[test]
fn request_literals_wrap_objects_and_forms_stay_forms() {
    let doc = obj(&[(
        "data",
        obj(&[
            ("name", "Laptop".into()),
            ("@odd", Value::Bytes(vec![1, 2, 3])),
        ]),
    )]);
    assert_eq!(
        encode_literal(&doc),
        r#"{"object":{"data":{"object":{"name":"Laptop","@odd":{"@bytes":"AQID"}}}}}"#
    );
    let q = Expr::create(Expr::collection("foo"), Expr::Lit(doc));
    assert_eq!(
        q.to_json(),
        r#"{"create":{"collection":"foo"},"params":{"object":{"data":{"object":{"name":"Laptop","@odd":{"@bytes":"AQID"}}}}}}"#
    );
    let q = Expr::map(
        Expr::lambda(
            "x",
            Expr::let_(
                vec![("document", Expr::get(Expr::var("x")))],
                Expr::object([
                    (
                        "ref",
                        Expr::select(
                            Expr::array(["ref".into(), "id".into()]),
                            Expr::var("document"),
                        ),
                    ),
                    ("ts", Expr::select("ts", Expr::var("document"))),
                ]),
            ),
        ),
        Expr::paginate(Expr::documents(Expr::collection("foo")))
            .with("size", 64)
            .with("after", Expr::array([Ref::document("foo", "1").into()])),
    );
    let q = Expr::at(1_658_504_456_881_000, q);
    assert_eq!(
        q.to_json(),
        concat!(
            r#"{"at":1658504456881000,"expr":{"map":{"lambda":"x","expr":{"let":[{"document":{"get":{"var":"x"}}}],"#,
            r#""in":{"object":{"ref":{"select":["ref","id"],"from":{"var":"document"}},"ts":{"select":"ts","from":{"var":"document"}}}}}},"#,
            r#""collection":{"paginate":{"documents":{"collection":"foo"}},"size":64,"after":[{"@ref":{"id":"1","collection":{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}}}}]}}}"#
        )
    );
}

#[test]
fn strings_escape_like_the_server() {
    pin(
        r#""a\"b\\c\nd\te\r\b\f""#,
        Value::from("a\"b\\c\nd\te\r\u{8}\u{c}"),
    );
    pin(r#""\u0001\u001F""#, Value::from("\u{1}\u{1f}"));
    pin("\"héllo ☃ 😀\"", Value::from("héllo ☃ 😀"));
    assert_eq!(
        decode(br#""\ud83d\ude00 \u00e9 \/""#),
        Ok(Value::from("😀 é /"))
    );
}

fn kind(input: &[u8]) -> DecodeErrorKind {
    match decode(input) {
        Err(e) => e.kind,
        Ok(v) => panic!("{} decoded to {v:?}", String::from_utf8_lossy(input)),
    }
}

#[test]
fn malformed_input_is_a_clear_error_not_a_panic() {
    use DecodeErrorKind as K;
    assert!(matches!(
        kind(br#"{"@ts": 5}"#),
        K::MalformedTag { tag: "@ts", .. }
    ));
    assert!(matches!(
        kind(br#"{"@ts": "yesterday"}"#),
        K::MalformedTag { tag: "@ts", .. }
    ));
    assert!(matches!(
        kind(br#"{"@ref": {}}"#),
        K::MalformedTag { tag: "@ref", .. }
    ));
    assert!(matches!(
        kind(br#"{"@ref": {"id": 5}}"#),
        K::MalformedTag { tag: "@ref", .. }
    ));
    assert!(matches!(
        kind(br#"{"@ref": {"id": "1", "collection": "foo"}}"#),
        K::MalformedTag { tag: "@ref", .. }
    ));
    assert!(matches!(
        kind(br#"{"@ref": {"id": "1", "x": 1}}"#),
        K::MalformedTag { tag: "@ref", .. }
    ));
    assert!(matches!(
        kind(br#"{"@ref": "classes/foo/1"}"#),
        K::MalformedTag { tag: "@ref", .. }
    ));
    assert_eq!(kind(br#"{"@foo": 1}"#), K::UnknownTag("@foo".into()));
    assert!(matches!(
        kind(br#"{"@bytes": "!!!"}"#),
        K::MalformedTag { tag: "@bytes", .. }
    ));
    assert!(matches!(
        kind(br#"{"@date": "2021-02-29"}"#),
        K::MalformedTag { tag: "@date", .. }
    ));
    assert!(matches!(
        kind(br#"{"@date": "19700101"}"#),
        K::MalformedTag { tag: "@date", .. }
    ));
    assert!(matches!(
        kind(br#"{"@ts": "2020-01-01T00:00:00Z", "x": 1}"#),
        K::MalformedTag { .. }
    ));
    assert!(matches!(
        kind(br#"{"@query": 1}"#),
        K::MalformedTag { tag: "@query", .. }
    ));
    assert!(matches!(
        kind(br#"{"@obj": [1]}"#),
        K::MalformedTag { tag: "@obj", .. }
    ));
    assert_eq!(
        kind(b"9223372036854775808"),
        K::IntegerOutOfRange("9223372036854775808".into())
    );
    assert_eq!(
        kind(b"-99999999999999999999"),
        K::IntegerOutOfRange("-99999999999999999999".into())
    );
    assert_eq!(kind(b"1e999999"), K::DoubleOutOfRange("1e999999".into()));
    assert_eq!(kind(b"-1.5E400"), K::DoubleOutOfRange("-1.5E400".into()));
    assert_eq!(decode(b"1e-999999"), Ok(Value::Double(0.0)));
    assert!(matches!(kind(b"[1,]"), K::Syntax(_)));
    assert!(matches!(kind(b"{\"a\":1"), K::Syntax(_)));
    assert!(matches!(kind(b"01"), K::Syntax(_)));
    assert!(matches!(kind(b"1."), K::Syntax(_)));
    assert!(matches!(kind(b"\"abc"), K::Syntax(_)));
    assert!(matches!(kind(b"\"\\ud800\""), K::InvalidString(_)));
    assert!(matches!(kind(b"\"\xff\""), K::InvalidString(_)));
    assert!(matches!(kind(b"\"a\nb\""), K::InvalidString(_)));
    assert!(matches!(kind(b""), K::Syntax(_)));
    assert!(matches!(kind(b"nul"), K::Syntax(_)));
    assert!(matches!(kind(b"1 2"), K::Syntax(_)));
}

#[test]
fn nesting_is_bounded() {
    let ok = "[".repeat(fauna_wire::MAX_DEPTH) + &"]".repeat(fauna_wire::MAX_DEPTH);
    assert!(decode(ok.as_bytes()).is_ok());
    for deep in [
        "[".repeat(fauna_wire::MAX_DEPTH + 1) + &"]".repeat(fauna_wire::MAX_DEPTH + 1),
        "[".repeat(1_000_000),
        r#"{"a":"#.repeat(100_000),
        r#"{"@query":"#.repeat(100_000),
        r#"{"@ref":{"id":"1","collection":"#.repeat(100_000),
    ] {
        assert_eq!(
            kind(deep.as_bytes()),
            DecodeErrorKind::TooDeep(fauna_wire::MAX_DEPTH)
        );
    }
}

#[test]
fn request_bodies_treat_only_single_known_tags_as_tags() {
    use fauna_wire::decode_request;
    // A literal object whose keys start with '@' is plain inside requests…
    assert_eq!(
        decode_request(br#"{"object":{"@name":"John","@age":3}}"#),
        Ok(obj(&[(
            "object",
            obj(&[("@name", "John".into()), ("@age", 3.into())])
        )]))
    );
    assert_eq!(
        decode_request(br#"{"object":{"@name":"John"}}"#),
        Ok(obj(&[("object", obj(&[("@name", "John".into())]))]))
    );
    // …an unknown tag is a plain object (the server reports it as an unknown form)…
    assert_eq!(
        decode_request(br#"{"@foo":1}"#),
        Ok(obj(&[("@foo", 1.into())]))
    );
    // …a known tag with company is plain too…
    assert_eq!(
        decode_request(br#"{"@ts":"1970-01-01T00:00:00Z","x":{"@date":"1970-01-01"}}"#),
        Ok(obj(&[
            ("@ts", "1970-01-01T00:00:00Z".into()),
            ("x", Value::Date(Date::EPOCH))
        ]))
    );
    // …while a lone known tag is the typed literal, and malformed ones are errors.
    assert_eq!(
        decode_request(br#"{"get":{"@ref":{"id":"1","collection":{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}}}}}"#),
        Ok(obj(&[("get", Value::Ref(Ref::document("foo", "1")))]))
    );
    assert!(matches!(
        decode_request(br#"{"@ts": 5}"#).map_err(|e| e.kind),
        Err(DecodeErrorKind::MalformedTag { tag: "@ts", .. })
    ));
    assert!(decode_request(br#"{"a":[1,{"@ts":"x"}"#).is_err());
    assert_eq!(
        decode_request(&("[".repeat(200) + &"]".repeat(200)).into_bytes()).map_err(|e| e.kind),
        Err(DecodeErrorKind::TooDeep(fauna_wire::MAX_DEPTH))
    );
}

#[test]
fn legacy_response_form_spells_class_and_classes() {
    let mut out = String::new();
    fauna_wire::encode_legacy_into(
        &mut out,
        &Value::Array(vec![
            Value::Ref(Ref::document("foo", "1")),
            obj(&[("@x", Value::Ref(Ref::native("collections")))]),
            Value::Ref(Ref::native("indexes")),
        ]),
    );
    assert_eq!(
        out,
        concat!(
            r#"[{"@ref":{"id":"1","class":{"@ref":{"id":"foo","class":{"@ref":{"id":"classes"}}}}}},"#,
            r#"{"@obj":{"@x":{"@ref":{"id":"classes"}}}},{"@ref":{"id":"indexes"}}]"#
        )
    );
}

/// The fuzz seeds are accepted by their targets and satisfy the targets' checks: whatever
/// `decode` / `decode_json` reads survives the response form unchanged.
#[test]
fn fuzz_seeds_hold_the_fuzz_targets_properties() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let mut checked = 0;
    for (dir, read) in [
        (
            "decode",
            decode as fn(&[u8]) -> Result<Value, fauna_wire::DecodeError>,
        ),
        ("decode_json", fauna_wire::decode_json),
    ] {
        for entry in std::fs::read_dir(seeds.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let input = std::fs::read(&path).unwrap();
            let value = read(&input).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let wire = fauna_wire::encode(&value);
            assert_eq!(decode(wire.as_bytes()), Ok(value), "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 7, "{checked}");
}
