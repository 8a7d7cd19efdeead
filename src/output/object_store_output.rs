//! Batch files in an object store: the local layout (`spec/output-layout.md`) under a key
//! prefix, with the manifest as one object rewritten whole per commit (§8 there).
//!
//! A batch is encoded by the local [`BatchWriter`] into a scratch directory as its records
//! arrive (so its bytes are exactly those of a local run), then uploaded under its final key — one PUT, or a multipart
//! upload above [`MULTIPART_BYTES`]; an object appears whole or not at all, so no temporary
//! name is needed. Then the manifest object is rewritten with the new line, conditionally on
//! the version this run wrote last.

use std::collections::HashSet;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{
    ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion, WriteMultipart,
};

use super::checks::{id_set_object_problems, rewound};
use super::files::{sealed_file, Opened};
use super::lease::Lease;
use super::owner::{new_output_id, OwnerRecord, OWNER_FILE};
use super::store_url::StoreUrl;
use super::verify::{check_objects, parse_manifest};
use super::{Batch, Output, OutputError, Receipt, Sealed};
use crate::export::RecordSchema;
use crate::lock::LockError;
use crate::sink::{
    parse_part_file_name, stream_dir_name, BatchWriter, CommittedFile, FileFormat, SinkError,
    MANIFEST_FILE,
};
use crate::sync::State;

/// Batch files larger than this are uploaded in parts of this size.
pub const MULTIPART_BYTES: usize = 8 << 20;

/// Parts of one multipart upload in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

/// The object-store output of one run.
pub struct ObjectOutput {
    store: Arc<dyn ObjectStore>,
    url: StoreUrl,
    writer: BatchWriter,
    scratch: PathBuf,
    manifest: Vec<u8>,
    manifest_version: Option<UpdateVersion>,
    lease: Arc<Lease>,
    handle: tokio::runtime::Handle,
}

fn store_err(op: &'static str, url: String) -> impl FnOnce(object_store::Error) -> OutputError {
    move |source| OutputError::Store { op, url, source }
}

/// Reads a whole object with its version; `None` when it does not exist.
async fn get_object(
    store: &dyn ObjectStore,
    url: &StoreUrl,
    rel: &str,
    op: &'static str,
) -> Result<Option<(Vec<u8>, UpdateVersion)>, OutputError> {
    let key = url.key(rel)?;
    match store.get(&key).await {
        Ok(r) => {
            let version = UpdateVersion {
                e_tag: r.meta.e_tag.clone(),
                version: r.meta.version.clone(),
            };
            let bytes = r.bytes().await.map_err(store_err(op, url.url_of(rel)))?;
            Ok(Some((bytes.to_vec(), version)))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(store_err(op, url.url_of(rel))(e)),
    }
}

impl ObjectOutput {
    /// Opens the output at `url` for the run whose state is `state`, like
    /// [`FilesOutput::open`](super::FilesOutput::open): ownership (`_output.json`), the
    /// manifest cut to the state's `manifest_len` (and rewritten when it was longer),
    /// committed files present with their size (and SHA-256 with `verify_hashes`), the id-set
    /// objects the state names (under `ids_rel`) present with their committed length, no
    /// committed batch the state would write again (a state set back), and batch objects the
    /// manifest does not list deleted in the directories of `streams` and of every committed
    /// stream. Updates `state`'s `output_id` and `manifest_len`; the caller saves it.
    #[allow(clippy::too_many_arguments)]
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        url: StoreUrl,
        lease: Arc<Lease>,
        format: FileFormat,
        state: &mut State,
        state_label: &str,
        ids_rel: &str,
        streams: &[String],
        verify_hashes: bool,
    ) -> Result<(ObjectOutput, Opened), OutputError> {
        let root = PathBuf::from(url.to_string());
        let owner = match get_object(store.as_ref(), &url, OWNER_FILE, "read").await? {
            Some((bytes, _)) => {
                Some(serde_json::from_slice::<OwnerRecord>(&bytes).map_err(|e| {
                    OutputError::Damaged {
                        root: root.clone(),
                        problems: vec![format!("{OWNER_FILE} is not an owner record ({e})")],
                    }
                })?)
            }
            None => None,
        };
        let (mut manifest, mut manifest_version) =
            match get_object(store.as_ref(), &url, MANIFEST_FILE, "read the manifest").await? {
                Some((bytes, v)) => (bytes, Some(v)),
                None => (Vec::new(), None),
            };
        let manifest_url = url.url_of(MANIFEST_FILE);
        if state.output_id.is_empty() {
            let listed = parse_manifest(&manifest_url, &manifest)?.len();
            if listed > 0 {
                return Err(OutputError::Orphaned {
                    root,
                    state: state_label.to_string(),
                    files: listed,
                });
            }
            state.output_id = new_output_id();
            state.manifest_len = 0;
            let mut bytes = serde_json::to_vec(&OwnerRecord {
                output_id: state.output_id.clone(),
            })
            .unwrap_or_default();
            bytes.push(b'\n');
            store
                .put(&url.key(OWNER_FILE)?, bytes.into())
                .await
                .map_err(store_err("write", url.url_of(OWNER_FILE)))?;
        } else {
            let found = owner.map(|o| o.output_id);
            if found.as_deref() != Some(state.output_id.as_str()) {
                return Err(OutputError::NotOwned {
                    root,
                    state: state_label.to_string(),
                    expected: state.output_id.clone(),
                    found: found.unwrap_or_else(|| "no owner (_output.json is missing)".into()),
                });
            }
        }
        let committed = usize::try_from(state.manifest_len).unwrap_or(usize::MAX);
        if manifest.len() < committed {
            return Err(OutputError::Damaged {
                root,
                problems: vec![format!(
                    "{MANIFEST_FILE} has {} bytes, the state committed {committed}",
                    manifest.len()
                )],
            });
        }
        if manifest.len() > committed || (committed == 0 && manifest_version.is_none()) {
            // Lines of a batch a crash left unrecorded (or no manifest yet): cut and rewrite.
            manifest.truncate(committed);
            manifest_version =
                Some(put_manifest(store.as_ref(), &url, &manifest, manifest_version).await?);
        }
        let files = parse_manifest(&manifest_url, &manifest)?;
        let mut problems = check_objects(store.as_ref(), &url, &files, verify_hashes).await?;
        problems.extend(id_set_object_problems(store.as_ref(), &url, ids_rel, state).await?);
        if !problems.is_empty() {
            return Err(OutputError::Damaged {
                root,
                problems: problems.iter().map(ToString::to_string).collect(),
            });
        }
        if let Some(rewound) = rewound(state, &files) {
            return Err(OutputError::Rewound {
                root,
                state: state_label.to_string(),
                rewound,
            });
        }
        let (mut opened, keep) = Opened::from_committed(files, streams);
        for (stream, paths) in keep {
            let keep: HashSet<&str> = paths.iter().map(String::as_str).collect();
            opened
                .removed
                .extend(cleanup_objects(store.as_ref(), &url, &stream, &keep).await?);
        }
        let scratch = std::env::temp_dir().join(format!(
            "fauna-sync-{}-{}",
            std::process::id(),
            &state.output_id
        ));
        let writer = BatchWriter::new(&scratch, format)?;
        Ok((
            ObjectOutput {
                store,
                url,
                writer,
                scratch,
                manifest,
                manifest_version,
                lease,
                handle: tokio::runtime::Handle::current(),
            },
            opened,
        ))
    }

    async fn publish_async(&mut self, file: CommittedFile) -> Result<Receipt, OutputError> {
        self.lease.renew_if_due().await?;
        let local = self.scratch.join(&file.path);
        let uploaded = upload(self.store.as_ref(), &self.url, &file, &local).await;
        let _ = std::fs::remove_file(&local);
        uploaded?;
        crate::crash::point("after-upload");
        let mut manifest = self.manifest.clone();
        serde_json::to_writer(&mut manifest, &file).map_err(|source| SinkError::Json {
            path: PathBuf::from(self.url.url_of(MANIFEST_FILE)),
            source,
        })?;
        manifest.push(b'\n');
        let version = put_manifest(
            self.store.as_ref(),
            &self.url,
            &manifest,
            self.manifest_version.take(),
        )
        .await?;
        self.manifest = manifest;
        self.manifest_version = Some(version);
        Ok(Receipt {
            stream: file.stream,
            seq: file.seq,
            rows: file.rows,
            bytes: file.bytes,
            location: Some(file.path),
            mark: self.manifest.len() as u64,
        })
    }
}

impl Output for ObjectOutput {
    /// The batch is written to the scratch directory; [`publish`](Output::publish) uploads it.
    fn begin(
        &mut self,
        stream: &str,
        seq: u64,
        schema: Arc<RecordSchema>,
    ) -> Result<Box<dyn Batch>, OutputError> {
        Ok(Box::new(self.writer.begin(stream, seq, schema)?))
    }

    fn publish(&mut self, sealed: Sealed) -> Result<Receipt, OutputError> {
        let file = sealed_file(sealed)?;
        // The committer calls this on tokio's blocking pool.
        let handle = self.handle.clone();
        handle.block_on(self.publish_async(file))
    }
}

impl Drop for ObjectOutput {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// Writes the manifest object: created when `version` is `None`, else updated on it.
async fn put_manifest(
    store: &dyn ObjectStore,
    url: &StoreUrl,
    bytes: &[u8],
    version: Option<UpdateVersion>,
) -> Result<UpdateVersion, OutputError> {
    let mode = match version {
        Some(v) => PutMode::Update(v),
        None => PutMode::Create,
    };
    let manifest_url = url.url_of(MANIFEST_FILE);
    match store
        .put_opts(
            &url.key(MANIFEST_FILE)?,
            bytes.to_vec().into(),
            PutOptions::from(mode),
        )
        .await
    {
        Ok(r) => Ok(r.into()),
        Err(object_store::Error::Precondition { .. })
        | Err(object_store::Error::AlreadyExists { .. }) => {
            Err(OutputError::Locked(LockError::Held {
                path: manifest_url.into(),
                holder: "another run rewrote the manifest meanwhile".into(),
            }))
        }
        Err(e) => Err(store_err("write the manifest", manifest_url)(e)),
    }
}

/// Uploads the local file of `file` under its final key.
async fn upload(
    store: &dyn ObjectStore,
    url: &StoreUrl,
    file: &CommittedFile,
    local: &std::path::Path,
) -> Result<(), OutputError> {
    let key = url.key(&file.path)?;
    let target = url.url_of(&file.path);
    let read_err = |e| SinkError::io("read", local, e);
    let mut f = std::fs::File::open(local).map_err(read_err)?;
    if file.bytes <= MULTIPART_BYTES as u64 {
        let mut bytes = Vec::with_capacity(file.bytes as usize);
        f.read_to_end(&mut bytes).map_err(read_err)?;
        store
            .put(&key, bytes.into())
            .await
            .map_err(store_err("upload", target))?;
        return Ok(());
    }
    let upload = store
        .put_multipart(&key)
        .await
        .map_err(store_err("start the upload of", target.clone()))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, MULTIPART_BYTES);
    let mut buf = vec![0u8; MULTIPART_BYTES];
    let mut first = true;
    loop {
        let n = read_full(&mut f, &mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
            let _ = writer.abort().await;
            return Err(store_err("upload", target)(e));
        }
        writer.write(&buf[..n]);
        if !first {
            crate::crash::point("mid-upload");
        }
        first = false;
    }
    writer
        .finish()
        .await
        .map_err(store_err("finish the upload of", target))?;
    Ok(())
}

fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Deletes, below `<prefix>/<stream dir>/`, every batch object whose root-relative path is
/// not in `keep`; returns their URLs.
async fn cleanup_objects(
    store: &dyn ObjectStore,
    url: &StoreUrl,
    stream: &str,
    keep: &HashSet<&str>,
) -> Result<Vec<PathBuf>, OutputError> {
    let dir = stream_dir_name(stream)?;
    let prefix = url.key(&dir)?;
    let mut listing = store.list(Some(&prefix));
    let mut doomed: Vec<ObjectPath> = Vec::new();
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(store_err("list", url.url_of(&dir)))?;
        let Some(rel) = url.relative(&meta.location) else {
            continue;
        };
        let Some(name) = rel
            .strip_prefix(dir.as_str())
            .and_then(|r| r.strip_prefix('/'))
        else {
            continue;
        };
        if parse_part_file_name(name).is_some() && !keep.contains(rel) {
            doomed.push(meta.location.clone());
        }
    }
    let mut removed = Vec::new();
    for key in doomed {
        let rel = url.relative(&key).unwrap_or_default().to_string();
        match store.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(store_err("delete", url.url_of(&rel))(e)),
        }
        removed.push(PathBuf::from(url.url_of(&rel)));
    }
    Ok(removed)
}
