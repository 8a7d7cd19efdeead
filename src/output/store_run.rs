//! What a run needs of an object-store `--out`: the store client, the lease, the state object
//! beside the data, and the output — opened in that order by the run's destination
//! (`crate::run::StoreDestination`).
//!
//! The id sets of deletion reconciliation live under the same prefix, beside the state object
//! ([`ObjectIdSets`]): downloaded at start, uploaded before each state write.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::checks::IdSetsAt;
use super::lease::Lease;
use super::object_ids::{CheckpointWithIds, ObjectIdSets};
use super::object_state::{ObjectState, STATE_OBJECT};
use super::object_storage::ObjectStorage;
use super::open::{open_output, OpenArgs, Opened};
use super::store_url::StoreUrl;
use super::{Checkpoint, Output, OutputError};
use crate::sink::FileFormat;
use crate::state::{Loaded, State, StateError};

/// A run on an object-store output.
pub struct StoreRun {
    storage: Arc<ObjectStorage>,
    lease: Arc<Lease>,
    /// Deletes the lease when the run ends, or when its future is dropped (SIGINT/SIGTERM).
    guard: Option<ReleaseGuard>,
    state: Option<ObjectState>,
    loaded: Option<State>,
    label: String,
    /// The state object's path relative to the output root.
    state_rel: String,
    /// The id sets, until the checkpoint takes them.
    ids: Option<ObjectIdSets>,
}

/// The state object's path relative to the output root: `_state.json` unless `--state` names
/// another object under the same URL.
fn state_rel(url: &StoreUrl, out: &Path, state: &Path) -> Result<String, OutputError> {
    if state == out.join(STATE_OBJECT) {
        return Ok(STATE_OBJECT.to_string());
    }
    let root = url.to_string();
    let root = root.trim_end_matches('/');
    state
        .to_str()
        .and_then(|s| s.strip_prefix(root))
        .and_then(|s| s.strip_prefix('/'))
        .filter(|rel| !rel.is_empty())
        .map(str::to_string)
        .ok_or_else(|| OutputError::BadUrl {
            url: root.to_string(),
            reason: format!(
                "the state {} is not beside the data; with an object-store --out the state is an object under the same URL (leave --state out for {root}/{STATE_OBJECT})",
                state.display()
            ),
        })
}

impl StoreRun {
    /// Connects to the store at `url` (the `--out` given as `out`), takes the lease (failing
    /// at once when another run holds it) and reads the state object (`state`: `--state`).
    pub async fn start(url: StoreUrl, out: &Path, state: &Path) -> Result<StoreRun, OutputError> {
        let rel = state_rel(&url, out, state)?;
        let store = url.connect()?;
        let lease = Arc::new(Lease::acquire(store.clone(), &url).await?);
        let guard = ReleaseGuard {
            lease: Some(lease.clone()),
        };
        let loaded = match ObjectState::load(store.clone(), &url, &rel).await {
            // Claim the state before touching the output: if another run committed since it
            // was read (the lease was removed by hand, or taken over), stop here.
            Ok((mut object, state)) => match object.put(&state).await {
                Ok(()) => Ok((object, state)),
                Err(e) => Err(OutputError::State(e)),
            },
            Err(e) => Err(e),
        };
        match loaded {
            Ok((object, state)) => Ok(StoreRun {
                label: url.url_of(&rel),
                state_rel: rel.clone(),
                ids: None,
                storage: Arc::new(ObjectStorage::new(store, url)),
                lease,
                guard: Some(guard),
                state: Some(object),
                loaded: Some(state),
            }),
            Err(e) => {
                guard.release().await;
                Err(e)
            }
        }
    }

    /// The state read at start (taken once).
    pub fn take_loaded(&mut self) -> Loaded {
        Loaded {
            state: self.loaded.take().unwrap_or_default(),
            v1_files: None,
        }
    }

    /// Opens the output (ownership, manifest, damage, leftovers; see [`open_output`]).
    pub async fn open_output(
        &self,
        format: FileFormat,
        state: &mut State,
        streams: &[String],
        verify_hashes: bool,
    ) -> Result<(Box<dyn Output>, Opened), OutputError> {
        let ids_dir = format!("{}.ids", self.state_rel);
        let ids = IdSetsAt {
            storage: self.storage.as_ref(),
            dir: &ids_dir,
        };
        let args = OpenArgs {
            format,
            state_label: &self.label,
            ids,
            v1_files: None,
            streams,
            verify_hashes,
        };
        let (output, opened) =
            open_output(self.storage.clone(), self.lease.clone(), state, args).await?;
        Ok((Box::new(output), opened))
    }

    /// Downloads the id sets `state` names into a scratch directory (removing objects it does
    /// not name) and returns that directory; the checkpoint uploads them as they change.
    pub async fn fetch_id_sets(&mut self, state: &State) -> Result<PathBuf, OutputError> {
        let ids = ObjectIdSets::fetch(self.storage.clone(), &self.state_rel, state).await?;
        let dir = ids.dir().to_path_buf();
        self.ids = Some(ids);
        Ok(dir)
    }

    /// Saves the state object (before the committer takes it over).
    pub async fn save(&mut self, state: &State) -> Result<(), StateError> {
        match self.state.as_mut() {
            Some(s) => s.put(state).await,
            None => Err(StateError::Invalid {
                path: self.label.clone(),
                reason: "the state object was already handed to the committer".into(),
            }),
        }
    }

    /// The checkpoint for the committer (taken once).
    pub fn checkpoint(&mut self) -> Result<Box<dyn Checkpoint>, StateError> {
        match self.state.take() {
            Some(state) => Ok(match self.ids.take() {
                Some(ids) => Box::new(CheckpointWithIds { state, ids }),
                None => Box::new(state),
            }),
            None => Err(StateError::Invalid {
                path: self.label.clone(),
                reason: "the state object was already handed to the committer".into(),
            }),
        }
    }

    /// Deletes the lease (at the end of the run; dropping the run does it too).
    pub async fn release(&mut self) {
        if let Some(guard) = self.guard.take() {
            guard.release().await;
        }
    }
}

/// Deletes the lease at the end of a run, however it ends: [`ReleaseGuard::release`], or
/// when dropped.
pub struct ReleaseGuard {
    lease: Option<Arc<Lease>>,
}

/// How long an abandoned run waits for its lease's deletion.
const RELEASE_ON_DROP: std::time::Duration = std::time::Duration::from_secs(5);

impl ReleaseGuard {
    /// Deletes the lease now.
    pub async fn release(mut self) {
        if let Some(lease) = self.lease.take() {
            lease.release().await;
        }
    }
}

/// Lease deletions started by dropped guards, until [`released`] waits for them.
static RELEASING: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>> =
    std::sync::Mutex::new(Vec::new());

impl Drop for ReleaseGuard {
    fn drop(&mut self) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        // Dropped inside the runtime (the run's future abandoned on SIGINT/SIGTERM): the store's
        // client belongs to this runtime, so the deletion is started on it, to take at most
        // RELEASE_ON_DROP (else the lease expires by itself); the binary waits for it
        // ([`released`]) before it exits.
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let task = handle.spawn(async move {
            if tokio::time::timeout(RELEASE_ON_DROP, lease.release())
                .await
                .is_err()
            {
                tracing::warn!("Could not delete the lease in time; it expires by itself.");
            }
        });
        if let Ok(mut pending) = RELEASING.lock() {
            pending.push(task);
        }
    }
}

/// Waits for the lease deletions that dropped runs started (each at most 5 s).
pub async fn released() {
    let pending = RELEASING
        .lock()
        .map(|mut p| std::mem::take(&mut *p))
        .unwrap_or_default();
    for task in pending {
        let _ = task.await;
    }
}
