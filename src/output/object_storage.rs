//! [`Storage`] in an object store, under the key prefix of a [`StoreUrl`]
//! (`spec/output-layout.md` §8): an object appears whole or not at all, so no temporary name
//! is needed; the manifest is one object rewritten whole per commit, conditionally on the
//! version this run wrote last; a batch file, encoded by the local sink into a scratch
//! directory (so its bytes are exactly a local run's), is uploaded under its final key — one
//! PUT, or a multipart upload above [`MULTIPART_BYTES`].

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{
    ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion, WriteMultipart,
};
use sha2::{Digest, Sha256};

use super::storage::{join, Manifest, Storage};
use super::store_error::StoreProblem;
use super::store_url::StoreUrl;
use super::OutputError;
use crate::durable::FileError;
use crate::lock::LockError;
use crate::sink::{CommittedFile, SinkError, MANIFEST_FILE};

/// Batch files larger than this are uploaded in parts of this size.
pub const MULTIPART_BYTES: usize = 8 << 20;

/// Parts of one multipart upload in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

/// An output in an object store.
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    url: StoreUrl,
    /// Where batch files are encoded before their upload (made on first use).
    scratch: OnceLock<tempfile::TempDir>,
}

fn store_err(op: &'static str, url: String) -> impl FnOnce(object_store::Error) -> OutputError {
    move |source| OutputError::Store { op, url, source }
}

impl ObjectStorage {
    /// The output at `url` in `store`.
    pub fn new(store: Arc<dyn ObjectStore>, url: StoreUrl) -> Self {
        ObjectStorage {
            store,
            url,
            scratch: OnceLock::new(),
        }
    }

    /// The client.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The URL.
    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// Reads a whole object with its version; `None` when it does not exist (a missing bucket
    /// is an error, named).
    async fn get(
        &self,
        rel: &str,
        op: &'static str,
    ) -> Result<Option<(Vec<u8>, UpdateVersion)>, OutputError> {
        let key = self.url.key(rel)?;
        match self.store.get(&key).await {
            Ok(r) => {
                let version = UpdateVersion {
                    e_tag: r.meta.e_tag.clone(),
                    version: r.meta.version.clone(),
                };
                let bytes = r
                    .bytes()
                    .await
                    .map_err(store_err(op, self.url.url_of(rel)))?;
                Ok(Some((bytes.to_vec(), version)))
            }
            // A missing bucket answers not-found too: name it.
            Err(e @ object_store::Error::NotFound { .. })
                if StoreProblem::of(op, &e) == StoreProblem::Other =>
            {
                Ok(None)
            }
            Err(e) => Err(store_err(op, self.url.url_of(rel))(e)),
        }
    }
}

#[async_trait]
impl Storage for ObjectStorage {
    fn root(&self) -> PathBuf {
        PathBuf::from(self.url.to_string())
    }

    fn name_of(&self, rel: &str) -> String {
        self.url.url_of(rel)
    }

    async fn create_root(&self) -> Result<(), OutputError> {
        Ok(())
    }

    async fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, OutputError> {
        Ok(self.get(rel, "read").await?.map(|(bytes, _)| bytes))
    }

    async fn size(&self, rel: &str) -> Result<Option<u64>, OutputError> {
        match self.store.head(&self.url.key(rel)?).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err("read", self.url.url_of(rel))(e)),
        }
    }

    async fn sha256(&self, rel: &str) -> Result<Option<String>, OutputError> {
        let key = self.url.key(rel)?;
        let mut stream = match self.store.get(&key).await {
            Ok(r) => r.into_stream(),
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(store_err("read", self.url.url_of(rel))(e)),
        };
        let mut hasher = Sha256::new();
        while let Some(chunk) = stream.next().await {
            hasher.update(&chunk.map_err(store_err("read", self.url.url_of(rel)))?);
        }
        Ok(Some(format!("{:x}", hasher.finalize())))
    }

    async fn write(&self, rel: &str, bytes: Vec<u8>) -> Result<(), OutputError> {
        self.store
            .put(&self.url.key(rel)?, bytes.into())
            .await
            .map_err(store_err("write", self.url.url_of(rel)))?;
        Ok(())
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), OutputError> {
        self.store
            .copy(&self.url.key(from)?, &self.url.key(to)?)
            .await
            .map_err(store_err("copy", self.url.url_of(from)))?;
        Ok(())
    }

    async fn list(&self, dir: &str) -> Result<Vec<String>, OutputError> {
        let prefix = self.url.key(dir)?;
        let mut listing = self.store.list(Some(&prefix));
        let mut names = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(store_err("list", self.url.url_of(dir)))?;
            let Some(rel) = self.url.relative(&meta.location) else {
                continue;
            };
            let Some(name) = rel.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) else {
                continue;
            };
            if !name.contains('/') {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    async fn list_stream_files(&self) -> Result<Vec<String>, OutputError> {
        let root = self.url.root_prefix();
        let mut listing = self.store.list(root.as_ref());
        let mut files = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(store_err("list", self.url.to_string()))?;
            let Some(rel) = self.url.relative(&meta.location) else {
                continue;
            };
            let Some((dir, name)) = rel.split_once('/') else {
                continue;
            };
            if !dir.contains('.') && !name.contains('/') {
                files.push(rel.to_string());
            }
        }
        Ok(files)
    }

    async fn delete(&self, dir: &str, names: &[String]) -> Result<Vec<PathBuf>, OutputError> {
        let mut removed = Vec::new();
        for name in names {
            let rel = join(dir, name);
            match self.store.delete(&self.url.key(&rel)?).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_err("delete", self.url.url_of(&rel))(e)),
            }
            removed.push(PathBuf::from(self.url.url_of(&rel)));
        }
        Ok(removed)
    }

    async fn open_manifest(
        &self,
        committed: u64,
    ) -> Result<(Box<dyn Manifest>, Vec<u8>), OutputError> {
        let (mut bytes, mut version) = match self.get(MANIFEST_FILE, "read the manifest").await? {
            Some((bytes, v)) => (bytes, Some(v)),
            None => (Vec::new(), None),
        };
        let committed = usize::try_from(committed).unwrap_or(usize::MAX);
        if bytes.len() < committed {
            return Err(OutputError::Damaged {
                root: self.root(),
                problems: vec![format!(
                    "{MANIFEST_FILE} has {} bytes, the state committed {committed}",
                    bytes.len()
                )],
            });
        }
        if bytes.len() > committed || (committed == 0 && version.is_none()) {
            // Lines of a batch a crash left unrecorded (or no manifest yet): cut and rewrite.
            bytes.truncate(committed);
            version = Some(put_manifest(self.store.as_ref(), &self.url, &bytes, version).await?);
        }
        let manifest = ObjectManifest {
            store: self.store.clone(),
            url: self.url.clone(),
            bytes: bytes.clone(),
            version,
        };
        Ok((Box::new(manifest), bytes))
    }

    fn batch_dir(&self) -> Result<PathBuf, OutputError> {
        if let Some(dir) = self.scratch.get() {
            return Ok(dir.path().to_path_buf());
        }
        let dir = tempfile::Builder::new()
            .prefix("fauna-sync-")
            .tempdir()
            .map_err(|e| OutputError::File(FileError::new("create", std::env::temp_dir(), e)))?;
        Ok(self.scratch.get_or_init(|| dir).path().to_path_buf())
    }

    async fn place(&self, file: &CommittedFile) -> Result<(), OutputError> {
        let local = self.batch_dir()?.join(&file.path);
        let uploaded = upload(self.store.as_ref(), &self.url, file, &local).await;
        let _ = std::fs::remove_file(&local);
        uploaded?;
        crate::crash::point("after-upload");
        Ok(())
    }
}

/// The manifest object and the version this run wrote last.
struct ObjectManifest {
    store: Arc<dyn ObjectStore>,
    url: StoreUrl,
    bytes: Vec<u8>,
    version: Option<UpdateVersion>,
}

#[async_trait]
impl Manifest for ObjectManifest {
    async fn append(&mut self, line: Vec<u8>) -> Result<u64, OutputError> {
        let mut bytes = self.bytes.clone();
        bytes.extend_from_slice(&line);
        let version =
            put_manifest(self.store.as_ref(), &self.url, &bytes, self.version.take()).await?;
        self.bytes = bytes;
        self.version = Some(version);
        Ok(self.bytes.len() as u64)
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
    let key: ObjectPath = url.key(&file.path)?;
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
