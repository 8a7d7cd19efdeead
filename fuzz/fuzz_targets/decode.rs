//! Fuzzes the wire decoder: it must never panic, and whatever it accepts must re-encode to
//! text that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = fauna_wire::decode(data) {
        let wire = fauna_wire::encode(&value);
        let again = fauna_wire::decode(wire.as_bytes());
        // NaN/Infinity doubles cannot occur: the JSON grammar has no literal for them.
        assert_eq!(again.as_ref(), Ok(&value), "re-decoding {wire}");
        let _ = fauna_wire::encode_literal(&value);
    }
});
