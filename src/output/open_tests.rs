//! The protocol on both storages: the same steps leave the same bytes and remove the same
//! leftovers in a directory and in an object store.

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::ObjectStore;

use super::*;
use crate::export::{Deletion, Record, RecordSchema};
use crate::lock::RunLock;
use crate::output::{LocalDir, LockFiles, ObjectStorage, Output, StoreUrl};
use crate::sink::Compression;
use crate::state::StreamState;

fn schema() -> Arc<RecordSchema> {
    Arc::new(RecordSchema {
        data_column: false,
        columns: vec![],
        deletion_column: Some("deleted_at".into()),
        detected_column: None,
        typed: None,
    })
}

/// Commits batch `seq` of stream `s` with one record; returns the manifest's mark.
async fn commit(output: &mut StorageOutput, seq: u64) -> u64 {
    let mut batch = output.begin("s", seq, schema()).unwrap();
    let record = Record::deletion(format!("{seq}"), seq as i64, 0, Deletion::Observed);
    batch.write(&[record]).unwrap();
    let sealed = batch.finish().unwrap();
    output.publish(sealed).await.unwrap().mark
}

/// A run commits batch 1; a second commits batch 2 and "crashes" before its state write; a
/// third opens the output: what it removes, and the manifest and batch files left.
async fn crash_and_reopen(storage: Arc<dyn Storage>) -> (Vec<String>, Vec<u8>, Vec<String>) {
    let scratch = tempfile::tempdir().unwrap();
    let lock = || {
        let lock = RunLock::acquire(&[scratch.path().join("lock")]).unwrap();
        Arc::new(LockFiles::new(lock)) as Arc<dyn ExclusiveRun>
    };
    let ids = LocalDir::new(scratch.path().join("ids"));
    let args = || OpenArgs {
        format: FileFormat::Jsonl {
            compression: Compression::None,
        },
        state_label: "state",
        ids: IdSetsAt {
            storage: &ids,
            dir: "",
        },
        v1_files: None,
        streams: &[],
        verify_hashes: true,
    };
    let mut state = State::new();
    state
        .streams
        .insert("s".into(), StreamState::new(0, "jsonl"));
    let (mut output, _) = open_output(storage.clone(), lock(), &mut state, args())
        .await
        .unwrap();
    state.manifest_len = commit(&mut output, 1).await;
    state.streams.get_mut("s").unwrap().next_seq = 2;
    drop(output);
    let committed = storage.read(MANIFEST_FILE).await.unwrap().unwrap();
    let (mut output, _) = open_output(storage.clone(), lock(), &mut state.clone(), args())
        .await
        .unwrap();
    assert!(commit(&mut output, 2).await > state.manifest_len);
    drop(output);
    let (_, opened) = open_output(storage.clone(), lock(), &mut state, args())
        .await
        .unwrap();
    let root = storage.root().display().to_string();
    let removed = opened
        .removed
        .iter()
        .map(|p| p.display().to_string().replacen(&root, "", 1))
        .collect();
    let manifest = storage.read(MANIFEST_FILE).await.unwrap().unwrap();
    assert_eq!(manifest, committed);
    let files = storage.list("s").await.unwrap();
    (removed, manifest, files)
}

#[tokio::test]
async fn a_crash_before_the_state_write_is_undone_alike_in_a_directory_and_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let local = crash_and_reopen(Arc::new(LocalDir::new(dir.path().join("out")))).await;
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let url = StoreUrl::parse(std::path::Path::new("s3://b/out"))
        .unwrap()
        .unwrap();
    let remote = crash_and_reopen(Arc::new(ObjectStorage::new(store, url))).await;
    assert_eq!(local.0, ["/s/part-00000002.jsonl"]);
    assert_eq!(local.2, ["part-00000001.jsonl"]);
    assert_eq!(local, remote);
}
