//! The fuzz targets' bodies, one `pub fn(&[u8])` each: the libFuzzer targets
//! (`fuzz_targets/*.rs`) call them, and `tests/it/fuzz_seeds.rs` replays every committed seed
//! through them on the stable toolchain. A body panics only on a real defect.

use std::path::PathBuf;

use fauna_sync::airbyte::{parse_catalog, parse_state, StreamInput};
use fauna_sync::config::{Overrides, Settings};
use fauna_sync::fauna::Secret;
use fauna_sync::state::{State, StreamState};

/// A target's body.
pub type Body = fn(&[u8]);

/// Every target: its name (= its seed folder under `fuzz/seeds/`) and its body.
pub const TARGETS: [(&str, Body); 8] = [
    ("decode", decode),
    ("decode_json", decode_json),
    ("transcode", transcode),
    ("document_page", document_page),
    ("state", state),
    ("config", config),
    ("catalog", catalog),
    ("input_state", input_state),
];

/// The wire decoder must never panic, and whatever it accepts must re-encode to text that
/// decodes to the same value.
pub fn decode(data: &[u8]) {
    if let Ok(value) = fauna_wire::decode(data) {
        let wire = fauna_wire::encode(&value);
        let again = fauna_wire::decode(wire.as_bytes());
        // NaN/Infinity doubles cannot occur: the JSON grammar has no literal for them.
        assert_eq!(again.as_ref(), Ok(&value), "re-decoding {wire}");
        let _ = fauna_wire::encode_literal(&value);
    }
}

/// The plain JSON reader request bodies go through must never panic, and whatever it accepts
/// (objects keyed by tags included) must survive the response form, where such objects are
/// `@obj`-escaped, unchanged.
pub fn decode_json(data: &[u8]) {
    if let Ok(value) = fauna_wire::decode_json(data) {
        let wire = fauna_wire::encode(&value);
        let again = fauna_wire::decode(wire.as_bytes());
        assert_eq!(again.as_ref(), Ok(&value), "re-decoding {wire}");
        let _ = fauna_wire::encode_literal(&value);
    }
}

/// Wire bytes → export JSON without a tree must never panic, must accept exactly what the tree
/// reading accepts, and must write what decoding and writing the value gives, byte for byte.
pub fn transcode(data: &[u8]) {
    let by_tree = fauna_wire::decode_at(data, 0, 0).map(|(v, end)| {
        let mut out = Vec::new();
        fauna_sync::export::write_export_json(&v, &mut out);
        (out, end)
    });
    let mut out = Vec::new();
    let direct = fauna_sync::export::transcode_at(data, 0, 0, &mut out).map(|end| (out, end));
    match (direct, by_tree) {
        (Ok(d), Ok(t)) => assert_eq!(d, t, "{}", String::from_utf8_lossy(data)),
        (Err(_), Err(_)) => {}
        (d, t) => panic!(
            "transcoding {:?} vs the tree {:?} for {}",
            d.map(|(o, e)| (String::from_utf8_lossy(&o).into_owned(), e)),
            t.map(|(o, e)| (String::from_utf8_lossy(&o).into_owned(), e)),
            String::from_utf8_lossy(data)
        ),
    }
}

/// A page of documents read directly from the response bytes must never panic, and when read
/// directly must give the records the tree reading gives.
pub fn document_page(data: &[u8]) {
    use fauna_sync::export::{document_record, Record};
    use fauna_sync::fauna::{ResponseBody, Value};
    use fauna_sync::read::DocumentPage;
    let Ok(DocumentPage::Read { docs, after }) = DocumentPage::read(data, 200) else {
        return;
    };
    let settings = fauna_sync::config::CollectionSettings::named("c");
    let text = String::from_utf8_lossy(data);
    let resource = Value::read(data, 200).expect("the tree reads what was read directly");
    let mut page = match resource {
        Value::Object(o) => o,
        other => panic!("a page that is not an object: {other:?} in {text}"),
    };
    assert_eq!(page.get("after"), after.as_ref(), "{text}");
    let Some(Value::Array(tree_docs)) = page.swap_remove("data") else {
        panic!("no data array in {text}");
    };
    let by_tree: Vec<Record> = tree_docs
        .into_iter()
        .map(|d| document_record(d, &settings).expect("a document the tree accepts"))
        .collect();
    let direct: Vec<Record> = docs.into_iter().map(Record::from).collect();
    assert_eq!(direct, by_tree, "{text}");
}

/// A scratch file for the state loader, which reads a path (one per process and thread).
fn scratch(name: &str) -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    std::env::temp_dir().join(format!(
        "fauna-sync-fuzz-{}-{thread}-{name}",
        std::process::id()
    ))
}

/// The state loader (`State::load_migrating`, versions 1 and 2) must never panic, and a state
/// it accepts must save and load back unchanged.
pub fn state(data: &[u8]) {
    let path = scratch("state.json");
    std::fs::write(&path, data).expect("writing the scratch state file");
    if let Ok(loaded) = State::load_migrating(&path) {
        let text = serde_json::to_vec_pretty(&loaded.state).expect("serialising a loaded state");
        std::fs::write(&path, &text).expect("writing the scratch state file");
        let again = State::load_migrating(&path).expect("reloading a saved state");
        assert_eq!(
            again.state,
            loaded.state,
            "{}",
            String::from_utf8_lossy(&text)
        );
        assert!(again.v1_files.is_none());
    }
    let _ = std::fs::remove_file(&path);
}

/// The configuration (file parsing, defaults and checks) must never panic; what it accepts
/// keeps every bound of `spec/config.schema.json`.
pub fn config(data: &[u8]) {
    let overrides = [
        Overrides::default(),
        // A secret from the command line, so a file without one is checked further.
        Overrides {
            secret: Some(Secret::new("fnFuzz")),
            ..Overrides::default()
        },
    ];
    for o in overrides {
        let Ok(s) = Settings::from_slice(data, o) else {
            continue;
        };
        assert!(!s.secret.is_empty());
        assert!((1..=100_000).contains(&s.defaults.page_size));
        assert!(s.output.batch_rows > 0 && s.output.batch_bytes != Some(0));
        assert!(s.endpoint.starts_with("http://") || s.endpoint.starts_with("https://"));
        for c in s.collections.iter().flatten() {
            assert!(!c.name.is_empty() && (1..=100_000).contains(&c.page_size));
        }
    }
}

/// The configured catalog parser must never panic; what it accepts names each stream once,
/// and only collections of the config when the config lists them.
pub fn catalog(data: &[u8]) {
    let known = ["users".to_string(), "orders".to_string()];
    for known in [None, Some(&known[..])] {
        if let Ok(streams) = parse_catalog(data, "fuzz.json", known) {
            let mut names: Vec<&str> = streams.iter().map(|s| s.name.as_str()).collect();
            if let Some(k) = known {
                assert!(names.iter().all(|n| k.iter().any(|k| k == n)));
            }
            names.sort_unstable();
            names.dedup();
            assert_eq!(
                names.len(),
                streams.len(),
                "a stream listed twice was accepted"
            );
        }
    }
}

/// The input-state parser (every Airbyte state form and source-fauna's legacy state) must
/// never panic, nor must reading back a stream state it passes through.
pub fn input_state(data: &[u8]) {
    if let Ok(input) = parse_state(Some(data), "fuzz.json") {
        for input in input.streams.values() {
            if let StreamInput::State(json) = input {
                let _ = serde_json::from_value::<StreamState>(json.clone());
            }
        }
    }
}
