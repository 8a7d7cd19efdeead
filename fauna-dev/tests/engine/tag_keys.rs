//! Objects whose keys look like wire tags (`@ts`, `@ref` …) in requests, read as the real
//! server's `QueryParser`/`EscapesParser` read them (`ext/model/src/main/scala/ast/Parser.scala`,
//! pinned by `ext/model/src/test/scala/ast/ExtendedTypesSpec.scala`): an object is a tagged value
//! only when its one key is a tag; `@obj` carries field names; responses escape with `@obj`.

use crate::support::*;

const TAGS: [&str; 8] = [
    "@ts", "@date", "@bytes", "@ref", "@set", "@query", "@obj", "@uuid",
];

/// The data of a document holding every tag as a key: at the top next to other fields,
/// nested alone (written through `@obj`), and nested among other fields.
fn data_expr() -> String {
    let mut fields = Vec::new();
    for (i, tag) in TAGS.iter().enumerate() {
        fields.push(format!(r#""{tag}":"top {i}""#));
    }
    let alone: Vec<String> = TAGS
        .iter()
        .map(|t| {
            format!(r#""{t}":{{"object":{{"@obj":{{"{t}":{{"@ts":"1970-01-01T00:00:00Z"}}}}}}}}"#)
        })
        .collect();
    fields.push(format!(r#""alone":{{"object":{{{}}}}}"#, alone.join(",")));
    fields.push(
        r#""mixed":{"object":{"@ref":{"@date":"2012-02-01"},"@set":[1,{"object":{"@query":"q","k":2}}]}}"#
            .into(),
    );
    format!("{{{}}}", fields.join(","))
}

/// How the server renders that data.
fn data_rendered() -> String {
    let mut fields = Vec::new();
    for (i, tag) in TAGS.iter().enumerate() {
        fields.push(format!(r#""{tag}":"top {i}""#));
    }
    let alone: Vec<String> = TAGS
        .iter()
        .map(|t| format!(r#""{t}":{{"@obj":{{"{t}":{{"@ts":"1970-01-01T00:00:00Z"}}}}}}"#))
        .collect();
    fields.push(format!(r#""alone":{{"@obj":{{{}}}}}"#, alone.join(",")));
    fields.push(
        r#""mixed":{"@obj":{"@ref":{"@date":"2012-02-01"},"@set":[1,{"@obj":{"@query":"q","k":2}}]}}"#
            .into(),
    );
    format!(r#"{{"@obj":{{{}}}}}"#, fields.join(","))
}

#[test]
fn documents_with_tag_keys_are_created_read_and_paginated() {
    let e = engine();
    setup_foo(&e);
    let created = create_doc(&e, "foo", "1", &data_expr());
    let doc = format!(
        r#"{{"ref":{},"ts":TS,"data":{}}}"#,
        fooref("1"),
        data_rendered()
    );
    assert_eq!(scrub_ts(&created), format!(r#"{{"resource":{doc}}}"#));
    let got = ok(&e, r#"{"get":{"ref":{"collection":"foo"},"id":"1"}}"#);
    assert_eq!(scrub_ts(&got), format!(r#"{{"resource":{doc}}}"#));
    let page = ok(
        &e,
        r#"{"map":{"lambda":"r","expr":{"get":{"var":"r"}}},"collection":{"paginate":{"documents":{"collection":"foo"}}}}"#,
    );
    assert_eq!(
        scrub_ts(&page),
        format!(r#"{{"resource":{{"data":[{doc}]}}}}"#)
    );
    // Select reaches fields under tag-like keys.
    let q = r#"{"select":["data","alone","@ref","@ref"],"from":{"get":{"ref":{"collection":"foo"},"id":"1"}}}"#;
    assert_eq!(ok(&e, q), r#"{"resource":{"@ts":"1970-01-01T00:00:00Z"}}"#);
}

#[test]
fn lone_tags_inside_object_and_quote_are_escapes_with_the_real_errors() {
    let e = engine();
    setup_foo(&e);
    let err = |pos: &str, desc: &str| {
        format!(
            r#"{{"errors":[{{"position":[{pos}],"code":"invalid expression","description":"{desc}"}}]}}"#
        )
    };
    for (body, pos, desc) in [
        // The issue's query: a lone "@ts" is a time escape on the real server too.
        (
            r#"{"create":{"collection":"foo"},"params":{"object":{"data":{"object":{"@weird":{"object":{"@ts":"not a time"}}}}}}}"#,
            r#""params","object","data","object","@weird","object""#,
            "Invalid time.",
        ),
        (r#"{"object":{"@ts":"x"}}"#, r#""object""#, "Invalid time."),
        (r#"{"object":{"@date":1}}"#, r#""object""#, "Invalid date."),
        (
            r#"{"object":{"@bytes":[]}}"#,
            r#""object""#,
            "Invalid bytes.",
        ),
        (
            r#"{"object":{"@ref":"foo"}}"#,
            r#""object""#,
            "Invalid ref.",
        ),
        (
            r#"{"object":{"@set":{"foo":1}}}"#,
            r#""object""#,
            "Invalid set.",
        ),
        (
            r#"{"object":{"@query":1}}"#,
            r#""object""#,
            "Invalid lambda.",
        ),
        (r#"{"object":{"@obj":1}}"#, r#""object""#, "Invalid object."),
        // A well-formed lone tag is a value, not an object.
        (
            r#"{"object":{"@ts":"1970-01-01T00:00:00Z"}}"#,
            "",
            "Object expected, Time provided.",
        ),
        (
            r#"{"object":{"@date":"1970-01-01"}}"#,
            "",
            "Object expected, Date provided.",
        ),
        (
            r#"{"object":{"@bytes":"AQID"}}"#,
            "",
            "Object expected, Bytes provided.",
        ),
        (
            r#"{"object":{"@ref":{"id":"collections"}}}"#,
            "",
            "Object expected, Ref provided.",
        ),
        (
            r#"{"object":{"@set":{"documents":{"collection":"foo"}}}}"#,
            "",
            "Object expected, Set provided.",
        ),
        (
            r#"{"object":{"@query":{"lambda":"x","expr":{"var":"x"}}}}"#,
            "",
            "Object expected, Lambda provided.",
        ),
        (
            r#"{"object":"x"}"#,
            r#""object""#,
            "Object expected, String provided.",
        ),
        (
            r#"{"let":{"@ts":"1970-01-01T00:00:00Z"},"in":1}"#,
            "",
            "Object expected, Time provided.",
        ),
        (r#"{"let":{"@ts":"x"},"in":1}"#, r#""let""#, "Invalid time."),
        // quote reads escapes at every depth.
        (
            r#"{"quote":{"a":[0,{"@date":"bad"}]}}"#,
            r#""quote","a",1"#,
            "Invalid date.",
        ),
        (
            r#"{"quote":{"@obj":{"@ts":{"@ts":5}}}}"#,
            r#""quote","@ts""#,
            "Invalid time.",
        ),
        // As expressions.
        (r#"{"get":{"@ref":"foo"}}"#, r#""get""#, "Invalid ref."),
        (r#"{"@set":{"foo":1}}"#, "", "Invalid set."),
        (r#"{"@query":{"lambda":"x"}}"#, "", "Invalid lambda."),
        (
            r#"{"@query":{"lambda":"x","expr":{"nope":1}}}"#,
            r#""expr""#,
            "No form/function found, or invalid argument keys: { nope }.",
        ),
        (r#"{"@bytes":5}"#, "", "Invalid bytes."),
        (r#"{"@obj":5}"#, "", "Invalid object."),
        // ExtendedTypesSpec "behaves well with object": @obj content is an expression.
        (
            r#"{"@obj":{"object":{"@ref":"foo"}}}"#,
            r#""@obj","object""#,
            "Invalid ref.",
        ),
        (
            r#"{"@obj":{"foo":1}}"#,
            r#""@obj""#,
            "No form/function found, or invalid argument keys: { foo }.",
        ),
        // Two tags, or an unknown one, make no escape and no form.
        (
            r#"{"@ts":"1970-01-01T00:00:00Z","@date":"1970-01-01"}"#,
            "",
            "No form/function found, or invalid argument keys: { @ts, @date }.",
        ),
        (
            r#"{"@uuid":"x"}"#,
            "",
            "No form/function found, or invalid argument keys: { @uuid }.",
        ),
    ] {
        let r = run(&e, body);
        assert_eq!((r.status, r.body), (400, err(pos, desc)), "{body}");
    }
    // Nothing was written by the failed create.
    assert_eq!(
        ok(&e, r#"{"count":{"documents":{"collection":"foo"}}}"#),
        r#"{"resource":0}"#
    );
}

#[test]
fn escapes_give_field_names_and_values_where_the_real_server_does() {
    let e = engine();
    for (body, resource) in [
        // ExtendedTypesSpec: {"object":{"@obj":{"@ref":"foo"}}} is an object keyed "@ref".
        (
            r#"{"object":{"@obj":{"@ref":"foo"}}}"#,
            r#"{"@obj":{"@ref":"foo"}}"#,
        ),
        (
            r#"{"object":{"@obj":{"@ts":{"add":[1,2]}}}}"#,
            r#"{"@obj":{"@ts":3}}"#,
        ),
        (
            r#"{"object":{"@ts":"x","@date":{"add":[1,2]}}}"#,
            r#"{"@obj":{"@ts":"x","@date":3}}"#,
        ),
        (
            r#"{"quote":{"@obj":{"@ts":"x","n":{"@date":"1970-01-01"},"q":{"add":1}}}}"#,
            r#"{"@obj":{"@ts":"x","n":{"@date":"1970-01-01"},"q":{"add":1}}}"#,
        ),
        (
            r#"{"quote":{"a":{"@ts":"x","b":1}}}"#,
            r#"{"a":{"@obj":{"@ts":"x","b":1}}}"#,
        ),
        // ExtendedTypesSpec "behaves well with let".
        (
            r#"{"let":{"@obj":{"@ref":"bar"}},"in":{"var":"@ref"}}"#,
            r#""bar""#,
        ),
        (r#"{"@obj":{"object":{"@k":1}}}"#, r#"{"@obj":{"@k":1}}"#),
        (r#"{"@obj":{"add":[1,2]}}"#, "3"),
        (
            r#"{"@ts":"1970-01-01T00:00:00+00:00"}"#,
            r#"{"@ts":"1970-01-01T00:00:00Z"}"#,
        ),
        (
            r#"{"@query":{"lambda":"x","expr":{"object":{"@ts":"y","k":{"var":"x"}}}}}"#,
            r#"{"@query":{"lambda":"x","expr":{"object":{"@ts":"y","k":{"var":"x"}}}}}"#,
        ),
    ] {
        assert_eq!(
            ok(&e, body),
            format!(r#"{{"resource":{resource}}}"#),
            "{body}"
        );
    }
}

/// Property: any value written as a request literal (`fauna_wire::encode_literal`, which
/// escapes lone-tag objects as `{"object":{"@obj":…}}`) evaluates to itself, for trees full
/// of tag-like keys, alone and among others, at every depth. Pseudo-random, fixed seed.
#[test]
fn literals_with_tag_like_keys_evaluate_to_themselves() {
    use fauna_wire::{encode, encode_literal, Date, Object, Ref, Timestamp, Value};

    const KEYS: [&str; 13] = [
        "@obj", "@ref", "@set", "@ts", "@date", "@bytes", "@query", "@uuid", "@", "@x", "ts", "k",
        "object",
    ];
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
        fn key(&mut self) -> String {
            KEYS[self.below(KEYS.len() as u64) as usize].to_string()
        }
    }
    fn value(r: &mut Rng, depth: u32) -> Value {
        let pick = if depth == 0 { r.below(9) } else { r.below(12) };
        match pick {
            0 => Value::Null,
            1 => Value::Bool(r.below(2) == 1),
            2 => Value::Int(r.below(1000) as i64 - 500),
            3 => Value::Double([2.5, -0.125, 1e300, 1e-5][r.below(4) as usize]),
            4 => Value::String(["x", "@ts", "not a time", "é"][r.below(4) as usize].into()),
            5 => Value::Timestamp(Timestamp::from_micros(r.below(1 << 50) as i64)),
            6 => Value::Date(Date::EPOCH),
            7 => Value::Bytes(vec![0xfb, 0xff][..r.below(3) as usize].to_vec()),
            8 => Value::Ref(if r.below(2) == 0 {
                Ref::document("foo", "1")
            } else {
                Ref::native("collections")
            }),
            9 => Value::Array((0..r.below(4)).map(|_| value(r, depth - 1)).collect()),
            10 => {
                let k = r.key();
                let v = value(r, depth - 1);
                Value::Object(std::iter::once((k, v)).collect::<Object>())
            }
            _ => Value::Object(
                (0..r.below(5))
                    .map(|_| (r.key(), value(r, depth - 1)))
                    .collect::<Object>(),
            ),
        }
    }
    let e = engine();
    let mut rng = Rng(15);
    for _ in 0..2000 {
        let v = value(&mut rng, 4);
        let literal = encode_literal(&v);
        assert_eq!(
            ok(&e, &literal),
            format!(r#"{{"resource":{}}}"#, encode(&v)),
            "{literal}"
        );
    }
}
