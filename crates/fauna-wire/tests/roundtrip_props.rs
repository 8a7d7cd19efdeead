//! Property tests: `decode(encode(v)) == v` for generated values of every kind.

use fauna_wire::{
    decode, decode_json, encode, java_double, write_str, Date, Object, Ref, Timestamp, Value,
};
use proptest::prelude::*;

fn arb_ref() -> impl Strategy<Value = Ref> {
    let native =
        prop::sample::select(fauna_wire::NATIVE_COLLECTIONS.to_vec()).prop_map(Ref::native);
    let id = "[0-9]{1,19}|[a-z_]{1,12}";
    native.prop_recursive(3, 8, 2, move |inner| {
        (id, inner.clone(), prop::option::of(inner)).prop_map(|(id, coll, db)| Ref {
            id,
            collection: Some(Box::new(coll)),
            database: db.map(Box::new),
        })
    })
}

fn arb_timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        // Around now, microsecond-aligned like real document ts.
        (1_500_000_000_000_000i64..2_000_000_000_000_000).prop_map(Timestamp::from_micros),
        // Anywhere in Java's Instant range, nanosecond precision.
        (
            -31_557_014_167_219_200i64..=31_556_889_864_403_199,
            0u32..1_000_000_000
        )
            .prop_filter_map("in range", |(s, n)| Timestamp::new(s, n).ok()),
    ]
}

fn arb_date() -> impl Strategy<Value = Date> {
    (-365_243_219_162i64..=365_241_780_471)
        .prop_filter_map("in range", |d| Date::from_days_since_epoch(d).ok())
}

/// Every key a request or response reads as a tag, and near misses.
const TAG_KEYS: [&str; 12] = [
    "@obj", "@ref", "@set", "@ts", "@date", "@bytes", "@query", "@uuid", "@", "@@ts", "@TS", "ts",
];

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}",
        "@[a-z]{0,6}",
        any::<String>(),
        prop::sample::select(TAG_KEYS.to_vec()).prop_map(String::from),
    ]
}

/// Plain JSON trees (what a request body is before the query parser reads it), with objects
/// keyed by tags alone and among others.
fn arb_plain_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("finite", |d| d.is_finite())
            .prop_map(Value::Double),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner.clone()), 0..6)
                .prop_map(|fields| { Value::Object(fields.into_iter().collect::<Object>()) }),
            (prop::sample::select(TAG_KEYS.to_vec()), inner).prop_map(|(k, v)| {
                Value::Object(std::iter::once((k.to_string(), v)).collect::<Object>())
            }),
        ]
    })
}

/// Writes a plain tree as JSON, objects as they are.
fn plain_text(out: &mut String, v: &Value) {
    match v {
        Value::Object(o) => {
            out.push('{');
            for (n, (k, x)) in o.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                plain_text(out, x);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (n, x) in a.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                plain_text(out, x);
            }
            out.push(']');
        }
        other => out.push_str(&encode(other)),
    }
}

fn arb_plain_object() -> impl Strategy<Value = Value> {
    prop::collection::vec(("[a-z]{1,5}", any::<i64>()), 0..4).prop_map(|fields| {
        Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, Value::Int(v)))
                .collect::<Object>(),
        )
    })
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("finite", |d| d.is_finite())
            .prop_map(Value::Double),
        any::<String>().prop_map(Value::String),
        arb_ref().prop_map(Value::Ref),
        arb_timestamp().prop_map(Value::Timestamp),
        arb_date().prop_map(Value::Date),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        arb_plain_object().prop_map(|o| Value::Query(encode(&o))),
        arb_plain_object().prop_map(|o| Value::Set(encode(&o))),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..6)
                .prop_map(|fields| { Value::Object(fields.into_iter().collect::<Object>()) }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_inverts_encode(v in arb_value()) {
        let wire = encode(&v);
        prop_assert_eq!(decode(wire.as_bytes()), Ok(v), "wire: {}", wire);
    }

    #[test]
    fn encoding_is_stable(v in arb_value()) {
        let wire = encode(&v);
        let again = decode(wire.as_bytes()).map(|v| encode(&v));
        prop_assert_eq!(again, Ok(wire));
    }

    #[test]
    fn decode_json_keeps_tag_like_keys_as_fields(v in arb_plain_json()) {
        let mut text = String::new();
        plain_text(&mut text, &v);
        prop_assert_eq!(decode_json(text.as_bytes()), Ok(v), "json: {}", text);
    }

    #[test]
    fn mutated_json_never_panics(v in arb_plain_json(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut text = String::new();
        plain_text(&mut text, &v);
        let mut bytes = text.into_bytes();
        if !bytes.is_empty() {
            let i = cut.index(bytes.len());
            bytes[i] = byte;
            let _ = decode_json(&bytes);
            bytes.truncate(i);
            let _ = decode_json(&bytes);
        }
    }

    #[test]
    fn timestamps_parse_what_they_render(t in arb_timestamp()) {
        prop_assert_eq!(Timestamp::parse(&t.to_string()), Ok(t));
    }

    #[test]
    fn java_doubles_round_trip_and_stay_doubles(d in any::<f64>().prop_filter("finite", |d| d.is_finite())) {
        let s = java_double(d);
        prop_assert!(s.contains('.') || s.contains('E'), "{}", s);
        prop_assert_eq!(s.parse::<f64>().ok(), Some(d));
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(&input);
    }

    #[test]
    fn mutated_wire_never_panics(v in arb_value(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut wire = encode(&v).into_bytes();
        if !wire.is_empty() {
            let i = cut.index(wire.len());
            wire[i] = byte;
            let _ = decode(&wire);
            wire.truncate(i);
            let _ = decode(&wire);
        }
    }
}
