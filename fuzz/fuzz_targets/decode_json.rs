//! Fuzzes the plain JSON reader request bodies go through: it must never panic, and whatever
//! it accepts (objects keyed by tags included) must survive the response form, where such
//! objects are `@obj`-escaped, unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = fauna_wire::decode_json(data) {
        let wire = fauna_wire::encode(&value);
        let again = fauna_wire::decode(wire.as_bytes());
        assert_eq!(again.as_ref(), Ok(&value), "re-decoding {wire}");
        let _ = fauna_wire::encode_literal(&value);
    }
});
