//! The sink commit protocol end to end, as the state layer will drive it: write batches,
//! record them in a checkpoint, rewrite the manifest, and recover from crashes at every step.

use std::fs;
use std::path::Path;

use fauna_sync::export::{ColumnType, Record, RecordSchema};
use fauna_sync::fauna::Value;
use fauna_sync::sink::{
    cleanup, read_manifest, write_file_atomically, write_manifest, BatchWriter, CommittedFile,
    Compression, FileFormat, MANIFEST_FILE,
};

fn schema() -> RecordSchema {
    RecordSchema {
        data_column: false,
        columns: vec![("n".into(), ColumnType::Integer)],
        deletion_column: Some("deleted_at".into()),
        detected_column: Some("deletion_detected".into()),
        typed: None,
    }
}

fn batch(seq: u64) -> Vec<Record> {
    (0..3)
        .map(|i| Record {
            id: format!("{seq}-{i}"),
            ts: (seq * 10 + i) as i64,
            data: None,
            columns: vec![Value::Int(i as i64)],
            deletion: None,
            ttl: None,
        })
        .collect()
}

/// The state layer's part: the committed list, saved atomically.
fn save_state(root: &Path, files: &[CommittedFile]) {
    let json = serde_json::to_vec(files).unwrap();
    write_file_atomically(&root.join("state.json"), &json).unwrap();
}

fn load_state(root: &Path) -> Vec<CommittedFile> {
    serde_json::from_slice(&fs::read(root.join("state.json")).unwrap()).unwrap()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn a_run_interrupted_between_rename_and_state_write_resumes_without_duplicates() {
    for format in FileFormat::ALL {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let sink = BatchWriter::new(root, format).unwrap();

        // Run 1: batches 1 and 2 are committed and recorded; batch 3 is renamed into place,
        // then the process dies before the state write; batch 4 dies mid-write.
        let mut state = Vec::new();
        for seq in 1..=2 {
            state.push(
                sink.write_batch("orders", seq, &schema(), &batch(seq))
                    .unwrap(),
            );
            save_state(root, &state);
            write_manifest(root, &state).unwrap();
        }
        let orphan = sink.write_batch("orders", 3, &schema(), &batch(3)).unwrap();
        let temp = format!(".part-00000004.{}.tmp", format.name());
        fs::write(root.join("orders").join(&temp), b"truncated").unwrap();

        // The loader trusts the manifest: only batches 1 and 2.
        assert_eq!(read_manifest(root).unwrap(), state);

        // Run 2: load state, clean the stream directory, redo from batch 3.
        let mut state = load_state(root);
        let committed: Vec<&str> = state.iter().map(|f| f.path.as_str()).collect();
        let removed = cleanup(root, "orders", &committed).unwrap();
        assert_eq!(
            removed,
            [root.join("orders").join(&temp), root.join(&orphan.path)],
            "{format}"
        );
        for seq in 3..=4 {
            let f = sink
                .write_batch("orders", seq, &schema(), &batch(seq))
                .unwrap();
            if seq == 3 {
                // The redone batch is byte-identical to the orphan it replaces.
                assert_eq!(f, orphan);
            }
            state.push(f);
            save_state(root, &state);
            write_manifest(root, &state).unwrap();
        }

        let manifest = read_manifest(root).unwrap();
        assert_eq!(manifest, load_state(root));
        assert_eq!(
            manifest.iter().map(|f| (f.seq, f.rows)).collect::<Vec<_>>(),
            [(1, 3), (2, 3), (3, 3), (4, 3)]
        );
        let ext = format.name();
        assert_eq!(
            listing(&root.join("orders")),
            (1..=4)
                .map(|s| format!("part-{s:08}.{ext}"))
                .collect::<Vec<_>>()
        );
        assert_eq!(listing(root), [MANIFEST_FILE, "orders", "state.json"]);
    }
}

#[test]
fn streams_are_independent_directories_in_one_manifest() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let jsonl = BatchWriter::new(
        root,
        FileFormat::Jsonl {
            compression: Compression::Gzip,
        },
    )
    .unwrap();
    let a = jsonl
        .write_batch("b-stream", 1, &schema(), &batch(1))
        .unwrap();
    let b = jsonl
        .write_batch("a.stream", 1, &schema(), &batch(2))
        .unwrap();
    write_manifest(root, &[a.clone(), b.clone()]).unwrap();
    assert_eq!(read_manifest(root).unwrap(), [b.clone(), a.clone()]);
    assert_eq!(b.path, "a%2Estream/part-00000001.jsonl.gz");
    // Cleaning one stream never touches another.
    assert!(cleanup(root, "b-stream", &[] as &[&str]).unwrap().len() == 1);
    assert!(root.join(&b.path).exists());
}
