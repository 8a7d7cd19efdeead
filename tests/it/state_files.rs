//! The state file: version-1 migration, golden good and broken files, and a state that stays
//! the same size however many batches are committed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use fauna_sync::config::Settings;
use fauna_sync::export::{ExportJson, Record, RecordSchema};
use fauna_sync::fauna::Value;
use fauna_sync::lock::{RunLock, LOCK_FILE};
use fauna_sync::output::{
    open_output, Checkpoint, IdSetsAt, LocalDir, LockFiles, OpenArgs, Receipt, StateFile,
};
use fauna_sync::read::{Item, Page, ReadError, Reader};
use fauna_sync::run::run_export;
use fauna_sync::sink::{read_manifest, FileFormat};
use fauna_sync::state::{Position, State, StateError, StreamState, STATE_VERSION};
use fauna_sync::sync::{drain, BatchLimits, Committer, Partition, PositionFn, Quiet};

use crate::support::{files_below, load_settings, Fixture};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/state")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

async fn dataset_fixture() -> Fixture {
    let dir = fixtures().join("dataset");
    let schema = std::fs::read_to_string(dir.join("schema.json")).unwrap();
    let docs = std::fs::read_to_string(dir.join("documents/things.jsonl")).unwrap();
    Fixture::start(&schema, &[("things", docs)]).await
}

fn settings(fx: &Fixture, out: &Path) -> Settings {
    let config = fx.dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"collection": {"name": "things", "page_size": 4}, "output": {"format": "jsonl", "batch_rows": 4}}"#,
    )
    .unwrap();
    load_settings(&config, &fx.server.url(), out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_state_is_migrated_and_its_export_resumes_exactly_once() {
    let fx = dataset_fixture().await;
    let out = fx.out("v1");
    copy_dir(&fixtures().join("v1-interrupted"), &out);
    let summary = run_export(&settings(&fx, &out), &Quiet).await.unwrap();
    // The v1 run had committed 4 documents and left batch 2 renamed but unrecorded.
    assert_eq!((summary.docs, summary.files), (6, 2));
    assert_eq!(summary.orphans_removed, 1);
    let manifest = read_manifest(&out).unwrap();
    assert_eq!(
        manifest.iter().map(|f| (f.seq, f.rows)).collect::<Vec<_>>(),
        [(1, 4), (2, 4), (3, 2)]
    );
    let mut ids = Vec::new();
    for f in &manifest {
        for line in std::fs::read_to_string(out.join(&f.path)).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            ids.push(v["ref"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        ids,
        (1001..=1010).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    // Now version 2: no file list, the manifest's committed length, an owner id.
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("_state.json")).unwrap()).unwrap();
    assert_eq!(raw["version"], 2);
    assert!(raw["streams"]["things"].get("files").is_none());
    assert_eq!(
        raw["manifest_len"].as_u64().unwrap(),
        std::fs::metadata(out.join("_manifest.jsonl"))
            .unwrap()
            .len()
    );
    let owner: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("_output.json")).unwrap()).unwrap();
    assert_eq!(owner["output_id"], raw["output_id"]);
    assert_eq!(raw["streams"]["things"]["position"]["at"], "done");
}

#[test]
fn broken_golden_state_files_are_refused_with_clear_errors() {
    let dir = fixtures().join("broken");
    let cases = [
        ("garbage.json", "is not usable: not a fauna-sync state file"),
        (
            "truncated.json",
            "is not usable: not a fauna-sync state file",
        ),
        (
            "future-version.json",
            "is not usable: version 9 (this fauna-sync reads versions 1 and 2)",
        ),
        ("unknown-position.json", "unknown variant `somewhere`"),
        (
            "illegal-pair.json",
            "stream 'things' names the pinned-snapshot strategy (snapshot) but its position is 'catch_up', which only the short-retention strategy writes",
        ),
        (
            "illegal-catch-up-parts.json",
            "stream 'things' names the pinned-snapshot strategy (snapshot) but its position is 'catch_up_parts', which only the short-retention strategy writes",
        ),
        ("missing-field.json", "missing field `next_seq`"),
        (
            "wrong-type.json",
            "invalid type: string \"12\", expected u64",
        ),
    ];
    for (file, want) in cases {
        let e = State::load(&dir.join(file)).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, StateError::Invalid { .. }), "{file}: {msg}");
        assert!(msg.contains(want), "{file}: {msg}");
        assert!(msg.contains("Delete it (and the output it describes) to start over"));
        assert_eq!(e.kind(), fauna_sync::error::ErrorKind::State);
    }
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        cases.len(),
        "every golden broken file has a case"
    );
}

#[test]
fn the_golden_version_2_states_load_and_save_byte_identical() {
    // A finished export, and partitioned reads in flight: an export's ranges of ids, a
    // window's ranges of ts, a short-retention scan's ranges of ids and its catch-up's ranges
    // of ts (`spec/state-format.md`).
    for name in ["v2", "v2-parts", "v2-scan-parts", "v2-catch-up-parts"] {
        let path = fixtures().join(name).join("_state.json");
        let golden = std::fs::read_to_string(&path).unwrap();
        let state = State::load(&path).unwrap();
        assert_eq!(state.version, STATE_VERSION);
        let dir = tempfile::tempdir().unwrap();
        state.save(&dir.path().join("s.json")).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("s.json")).unwrap(),
            golden,
            "{name}"
        );
    }
    let parts = State::load(&fixtures().join("v2-parts/_state.json")).unwrap();
    let fauna_sync::state::Position::Parts { rotation } = &parts.streams["things"].position else {
        panic!("not a partitioned export position")
    };
    let (parts, turn, taken) = (&rotation.ranges, &rotation.turn, &rotation.taken);
    assert_eq!((parts.len(), *turn, *taken), (3, 2, 0));
    assert_eq!(parts[0].until.as_deref(), Some("1250"));
    assert!(parts[1].done && parts[1].cursor.is_none());
    let scan = State::load(&fixtures().join("v2-scan-parts/_state.json")).unwrap();
    let stream = &scan.streams["events"];
    assert_eq!(stream.strategy, fauna_sync::state::Strategy::ScanCatchUp);
    let fauna_sync::state::Position::ScanParts { rotation } = &stream.position else {
        panic!("not a partitioned scan position")
    };
    let (parts, turn, taken) = (&rotation.ranges, &rotation.turn, &rotation.taken);
    assert_eq!((parts.len(), *turn, *taken), (3, 0, 300));
    assert_eq!(parts[2].until, None);
    let catch_up = State::load(&fixtures().join("v2-catch-up-parts/_state.json")).unwrap();
    let stream = &catch_up.streams["events"];
    let fauna_sync::state::Position::CatchUpParts {
        since,
        at,
        rotation,
    } = &stream.position
    else {
        panic!("not a partitioned catch-up position")
    };
    let (parts, turn, taken) = (&rotation.ranges, &rotation.turn, &rotation.taken);
    assert_eq!((*since, *at), (stream.snapshot_ts, 1_795_915_871_000_000));
    assert_eq!((parts.len(), *turn, *taken), (4, 2, 400));
    assert!(parts[1].done && parts[1].cursor.is_none());
    assert_eq!(
        (parts[3].since, parts[3].until.as_deref()),
        (Some(1_795_915_868_048_506), None)
    );
    let phase = stream.phase().unwrap();
    let fauna_sync::state::Phase::ScanCatchUp {
        position: fauna_sync::state::ScanPosition::CatchUpRanges { rotation, .. },
        ..
    } = phase
    else {
        panic!("not the short-retention strategy's catch-up ranges: {phase:?}")
    };
    assert_eq!(rotation.ranges, *parts);
}

/// `n` one-record pages, cursor = the record's number.
struct Numbers(i64);

impl Reader for Numbers {
    async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
        let i = after.and_then(|v| v.as_i64()).unwrap_or(0);
        let record = Record {
            id: (1_000_000 + i).to_string(),
            ts: 1_658_188_683_000_000 + i,
            data: Some(ExportJson::of(&Value::Int(i))),
            columns: vec![],
            deletion: None,
            ttl: None,
        };
        Ok(Page {
            items: vec![Item {
                record: Some(record),
                cursor: Value::Int(i).into(),
            }],
            next: (i + 1 < self.0).then_some(Value::Int(i + 1)),
        })
    }
}

/// The state file checkpoint, noting the file's size and the time of each save.
struct Measured {
    inner: StateFile,
    path: PathBuf,
    sizes: Arc<Mutex<Vec<(u64, Instant)>>>,
}

#[async_trait::async_trait]
impl Checkpoint for Measured {
    async fn save(
        &mut self,
        s: &State,
        stream: &str,
        r: Option<&Receipt>,
    ) -> Result<(), StateError> {
        self.inner.save(s, stream, r).await?;
        let len = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        self.sizes.lock().unwrap().push((len, Instant::now()));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_stays_the_same_size_over_1000_committed_batches() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let state_path = out.join("_state.json");
    let mut state = State::new();
    let lock = RunLock::acquire(&[out.join(LOCK_FILE)]).unwrap();
    let ids = LocalDir::new(fauna_sync::id_set::id_set_dir(&state_path));
    let args = OpenArgs {
        format: FileFormat::Jsonl {
            compression: fauna_sync::sink::Compression::None,
        },
        state_label: "_state.json",
        ids: IdSetsAt {
            storage: &ids,
            dir: "",
        },
        v1_files: None,
        streams: &["s".to_string()],
        verify_hashes: false,
    };
    let (output, _) = open_output(
        Arc::new(LocalDir::new(&out)),
        Arc::new(LockFiles::new(lock)),
        &mut state,
        args,
    )
    .await
    .unwrap();
    state
        .streams
        .insert("s".into(), StreamState::new(1, "jsonl"));
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let checkpoint = Measured {
        inner: StateFile::new(&state_path),
        path: state_path.clone(),
        sizes: sizes.clone(),
    };
    let limits = BatchLimits {
        rows: 1,
        bytes: None,
    };
    let mut committer = Committer::new(state, Box::new(output), Box::new(checkpoint), limits);
    let schema = RecordSchema {
        data_column: true,
        columns: vec![],
        deletion_column: None,
        detected_column: None,
        typed: None,
    };
    committer
        .open_stream("s", schema, None, false)
        .await
        .unwrap();
    let position: PositionFn = Arc::new(|c: Option<&Value>, _: usize| match c {
        Some(c) => Position::After {
            cursor: fauna_sync::fauna::encode(c),
        },
        None => Position::Done,
    });
    let part = Partition {
        reader: Numbers(1000),
        start: None,
        position,
    };
    drain(&mut committer, "s", vec![part], Position::Done, &Quiet)
        .await
        .unwrap();
    let sizes = sizes.lock().unwrap().clone();
    assert_eq!(sizes.len(), 1000);
    // Only digits grow (rows, next_seq and the cursor: 1 → 4 digits each).
    // (The last save records Done instead of a cursor.)
    let later = sizes[9..999].iter().map(|s| s.0);
    let (min, max) = (later.clone().min().unwrap(), later.max().unwrap());
    let (first, last) = (sizes[9].0, sizes[999].0);
    assert!(
        max - min <= 9,
        "state bytes between {min} and {max} after 10..1000 batches"
    );
    assert!(max < 600, "state bytes: up to {max}");
    // The manifest is appended, never rewritten: 1000 lines, 1000 files.
    assert_eq!(read_manifest(&out).unwrap().len(), 1000);
    assert_eq!(files_below(&out.join("s")).len(), 1000);
    let ms = |a: usize, b: usize| (sizes[b].1 - sizes[a].1).as_secs_f64() * 1000.0 / (b - a) as f64;
    eprintln!(
        "state bytes after 10 / 1000 batches: {first} / {last}; ms per committed batch (JSONL, fsync) at ~10 files: {:.2}, at ~1000 files: {:.2}",
        ms(9, 109),
        ms(899, 999)
    );
}
