//! The output being loaded, read-only: a local directory or an object-store URL. The state
//! gives the manifest's committed length, the output's id and each stream's record schema;
//! the manifest, cut to that length, the committed files in commit order.
//!
//! Nothing here writes to the output (a `sync` may be running on it at the same time): the
//! state is parsed as read, never migrated or cleaned, and lines the state does not count yet
//! are ignored.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::LoadError;
use crate::error::ErrorKind;
use crate::export::{ColumnType, RecordSchema};
use crate::output::{local_path, OutputError, StoreUrl, OWNER_FILE, STATE_OBJECT};
use crate::schema::ColumnPlan;
use crate::sink::{CommittedFile, SinkError, MANIFEST_FILE};

/// Where the output lives.
pub enum Root {
    /// A local directory.
    Local(PathBuf),
    /// An object store.
    Store {
        /// The URL.
        url: StoreUrl,
        /// Its client.
        store: Arc<dyn ObjectStore>,
    },
}

/// An output opened for loading.
pub struct Source {
    /// Where it lives.
    pub root: Root,
    /// How it is shown (`--out` as given, without credentials: object-store URLs hold none).
    pub shown: String,
    /// The output's id (`_output.json`, the state's `output_id`).
    pub output_id: String,
    /// The committed files in commit order.
    pub files: Vec<CommittedFile>,
    /// Each stream's record schema, from the state.
    pub schemas: BTreeMap<String, RecordSchema>,
    /// Each typed stream's column plan (`columns: typed`), from the state: the plan of its
    /// latest file, whose columns include every earlier file's (a plan only grows).
    pub plans: BTreeMap<String, ColumnPlan>,
}

/// A batch file ready to read locally: the output's own file, or a downloaded copy (removed
/// when this is dropped).
pub struct LocalFile {
    /// The path to read.
    pub path: PathBuf,
    /// The SHA-256 of the download, when it was downloaded (local files are hashed as read).
    pub sha256: Option<String>,
    _temp: Option<tempfile::TempPath>,
}

/// The part of the state a load needs.
#[derive(Deserialize)]
struct StateView {
    version: u32,
    #[serde(default)]
    output_id: String,
    #[serde(default)]
    manifest_len: u64,
    #[serde(default)]
    streams: BTreeMap<String, StreamView>,
}

#[derive(Deserialize)]
struct StreamView {
    #[serde(default)]
    schema: Option<SchemaView>,
    #[serde(default)]
    typed: Option<TypedView>,
}

/// The part of a stream's `typed` state a load needs.
#[derive(Deserialize)]
struct TypedView {
    plan: ColumnPlan,
}

/// A record schema as the state (or a Parquet file's metadata) spells it.
#[derive(Deserialize)]
pub struct SchemaView {
    data_column: bool,
    #[serde(default)]
    columns: Vec<ColumnView>,
    #[serde(default)]
    deletion_column: Option<String>,
    #[serde(default)]
    detected_column: Option<String>,
    /// A database tree's column (`spec/trees.md`): a string column after the others.
    #[serde(default)]
    database_column: Option<String>,
    /// The merged stream of a tree (`merge_databases`): its rows are keyed by database and ref.
    #[serde(default)]
    merged_databases: bool,
}

#[derive(Deserialize)]
struct ColumnView {
    name: String,
    #[serde(rename = "type")]
    ty: ColumnType,
}

impl From<SchemaView> for RecordSchema {
    fn from(s: SchemaView) -> Self {
        let database = s.database_column.map(|name| (name, ColumnType::String));
        RecordSchema {
            data_column: s.data_column,
            columns: s
                .columns
                .into_iter()
                .map(|c| (c.name, c.ty))
                .chain(database)
                .collect(),
            deletion_column: s.deletion_column,
            detected_column: s.detected_column,
            typed: None,
        }
    }
}

impl Source {
    /// Opens `out` (a directory, `file://` or an object-store URL); `state` names the state
    /// when it is not `<out>/_state.json` (locally: a path; on a store: a URL below `out`).
    pub async fn open(out: &Path, state: Option<&Path>) -> Result<Source, LoadError> {
        match StoreUrl::parse(out)? {
            None => {
                let dir = local_path(out);
                let state_path = state
                    .map(local_path)
                    .unwrap_or_else(|| dir.join("_state.json"));
                let state_bytes = read_optional(&state_path)
                    .map_err(|e| file_error(&state_path.display().to_string(), e))?;
                let manifest_path = dir.join(MANIFEST_FILE);
                let manifest = read_optional(&manifest_path)
                    .map_err(|e| file_error(&manifest_path.display().to_string(), e))?;
                let owner = read_optional(&dir.join(OWNER_FILE))
                    .map_err(|e| file_error(&dir.join(OWNER_FILE).display().to_string(), e))?;
                let shown = dir.display().to_string();
                Source::from_parts(
                    Root::Local(dir),
                    shown,
                    &state_path.display().to_string(),
                    state_bytes,
                    manifest,
                    owner,
                )
            }
            Some(url) => {
                let store = url.connect()?;
                let rel = match state.and_then(|s| s.to_str()) {
                    Some(s) => s
                        .strip_prefix(url.to_string().trim_end_matches('/'))
                        .map(|r| r.trim_start_matches('/').to_string())
                        .ok_or_else(|| OutputError::BadUrl {
                            url: s.to_string(),
                            reason: format!("--state must name an object under {url}"),
                        })?,
                    None => STATE_OBJECT.to_string(),
                };
                let state_bytes = get_optional(store.as_ref(), &url, &rel).await?;
                let manifest = get_optional(store.as_ref(), &url, MANIFEST_FILE).await?;
                let owner = get_optional(store.as_ref(), &url, OWNER_FILE).await?;
                let shown = url.to_string();
                let state_url = url.url_of(&rel);
                Source::from_parts(
                    Root::Store { url, store },
                    shown,
                    &state_url,
                    state_bytes,
                    manifest,
                    owner,
                )
            }
        }
    }

    fn from_parts(
        root: Root,
        shown: String,
        state_name: &str,
        state: Option<Vec<u8>>,
        manifest: Option<Vec<u8>>,
        owner: Option<Vec<u8>>,
    ) -> Result<Source, LoadError> {
        let Some(state) = state else {
            let what = if manifest.is_some() || owner.is_some() {
                format!("{shown} has no state {state_name}: a load needs it (the committed length of the manifest, each stream's record schema); name it with --state")
            } else {
                format!("{shown} holds no fauna-sync output (no {state_name}, no {MANIFEST_FILE}); name the --out of an export or sync")
            };
            return Err(LoadError::NoOutput(what));
        };
        let invalid = |reason: String| {
            LoadError::State(crate::state::StateError::Invalid {
                path: state_name.to_string(),
                reason,
            })
        };
        let view: StateView = serde_json::from_slice(&state)
            .map_err(|e| invalid(format!("not a fauna-sync state file ({e})")))?;
        if view.version != 2 {
            return Err(invalid(format!(
                "version {} (load reads version 2; run `fauna-sync sync` or `export` once with this output to migrate it)",
                view.version
            )));
        }
        if let Some(owner) = owner {
            let id = serde_json::from_slice::<crate::output::OwnerRecord>(&owner)
                .map(|o| o.output_id)
                .unwrap_or_default();
            if id != view.output_id {
                return Err(invalid(format!(
                    "it names output {} but {OWNER_FILE} says {id}: this state does not describe this output",
                    view.output_id
                )));
            }
        }
        let mut manifest = manifest.unwrap_or_default();
        let committed = usize::try_from(view.manifest_len).unwrap_or(usize::MAX);
        if manifest.len() < committed {
            return Err(LoadError::NoOutput(format!(
                "{shown}: the manifest has {} bytes but the state counts {committed} committed; the output is damaged (`fauna-sync verify --out {shown}`)",
                manifest.len()
            )));
        }
        manifest.truncate(committed);
        let files = parse_manifest(&format!("{shown}/{MANIFEST_FILE}"), &manifest)?;
        let mut schemas = BTreeMap::new();
        let mut plans = BTreeMap::new();
        for (name, s) in view.streams {
            if let Some(typed) = s.typed {
                plans.insert(name.clone(), typed.plan);
            }
            if let Some(schema) = s.schema {
                if schema.merged_databases {
                    return Err(LoadError::Usage(format!(
                        "{shown}: stream '{name}' merges the databases of a tree (merge_databases); load keys a table's rows by ref alone, so one ref in two databases would be one row. Load an output written without --merge-databases (one table per database's stream, each with its database column)"
                    )));
                }
                schemas.insert(name, RecordSchema::from(schema));
            }
        }
        Ok(Source {
            root,
            shown,
            output_id: view.output_id,
            files,
            schemas,
            plans,
        })
    }

    /// The file ready to read: the local path, or a download into a temporary file, hashed
    /// as it arrives.
    pub async fn fetch(&self, file: &CommittedFile) -> Result<LocalFile, LoadError> {
        match &self.root {
            Root::Local(dir) => Ok(LocalFile {
                path: dir.join(&file.path),
                sha256: None,
                _temp: None,
            }),
            Root::Store { url, store } => {
                let key = url.key(&file.path)?;
                let object_url = url.url_of(&file.path);
                let store_err = |source| {
                    LoadError::Output(OutputError::Store {
                        op: "read",
                        url: object_url.clone(),
                        source,
                    })
                };
                let temp = tempfile::NamedTempFile::new().map_err(|e| LoadError::File {
                    file: file.path.clone(),
                    reason: format!("cannot create a temporary file for the download: {e}"),
                    kind: ErrorKind::Output,
                })?;
                let (mut handle, path) = temp.into_parts();
                let mut stream = store.get(&key).await.map_err(store_err)?.into_stream();
                let mut hasher = Sha256::new();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(store_err)?;
                    hasher.update(&chunk);
                    handle.write_all(&chunk).map_err(|e| LoadError::File {
                        file: file.path.clone(),
                        reason: format!("cannot write the download to {}: {e}", path.display()),
                        kind: ErrorKind::Output,
                    })?;
                }
                Ok(LocalFile {
                    path: path.to_path_buf(),
                    sha256: Some(format!("{:x}", hasher.finalize())),
                    _temp: Some(path),
                })
            }
        }
    }
}

/// A file's bytes, `None` when it does not exist.
fn read_optional(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn file_error(path: &str, e: std::io::Error) -> LoadError {
    let kind = match e.kind() {
        std::io::ErrorKind::PermissionDenied => ErrorKind::Permission,
        _ => ErrorKind::Output,
    };
    LoadError::File {
        file: path.to_string(),
        reason: format!("cannot read it: {e}"),
        kind,
    }
}

/// An object's bytes, `None` when it does not exist.
async fn get_optional(
    store: &dyn ObjectStore,
    url: &StoreUrl,
    rel: &str,
) -> Result<Option<Vec<u8>>, LoadError> {
    let object_url = url.url_of(rel);
    let err = |source| {
        LoadError::Output(OutputError::Store {
            op: "read",
            url: object_url.clone(),
            source,
        })
    };
    match store.get(&url.key(rel)?).await {
        Ok(r) => Ok(Some(r.bytes().await.map_err(err)?.to_vec())),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(err(e)),
    }
}

/// Manifest lines (blank lines ignored); `name` names the manifest in errors.
fn parse_manifest(name: &str, bytes: &[u8]) -> Result<Vec<CommittedFile>, LoadError> {
    let mut files = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        files.push(
            serde_json::from_slice(line).map_err(|source| SinkError::Manifest {
                path: name.into(),
                line: i + 1,
                source,
            })?,
        );
    }
    Ok(files)
}
