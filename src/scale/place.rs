//! An output root as scale-out reads and writes it — the joined output's, or a shard's —
//! whether a local directory or an object store: its files through the output's [`Storage`],
//! its state through the state file or the state object.

use std::path::Path;
use std::sync::Arc;

use super::error::ScaleError;
use crate::durable::create_dir_durable;
use crate::id_set::id_set_dir;
use crate::location::{Location, StoreUrl};
use crate::output::{
    verify, IdSetsAt, LocalDir, ObjectState, ObjectStorage, Storage, VerifyReport, STATE_OBJECT,
};
use crate::state::State;

/// Where a root's id sets live, relative to it (`<state>.ids`, beside the state).
pub const IDS_DIR: &str = "_state.json.ids";

/// An output root.
pub struct Place {
    location: Location,
    storage: Arc<dyn Storage>,
    store: Option<Arc<dyn object_store::ObjectStore>>,
}

impl Place {
    /// The root at `location` (a store's client is made once and shared with the places
    /// joined below it).
    pub fn open(location: &Location) -> Result<Place, ScaleError> {
        match location {
            Location::Dir(dir) => Ok(Place {
                location: location.clone(),
                storage: Arc::new(LocalDir::new(dir.clone())),
                store: None,
            }),
            Location::Store(url) => {
                let store = url.connect()?;
                Ok(Place::in_store(url, store))
            }
        }
    }

    fn in_store(url: &StoreUrl, store: Arc<dyn object_store::ObjectStore>) -> Place {
        Place {
            location: Location::Store(url.clone()),
            storage: Arc::new(ObjectStorage::new(store.clone(), url.clone())),
            store: Some(store),
        }
    }

    /// The root `rel` below this one.
    pub fn join(&self, rel: &str) -> Place {
        match (&self.location.join(rel), &self.store) {
            (Location::Store(url), Some(store)) => Place::in_store(url, store.clone()),
            (location, _) => Place {
                location: location.clone(),
                storage: Arc::new(LocalDir::new(location.as_path())),
                store: None,
            },
        }
    }

    /// Where it is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Its files.
    pub fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    /// Writes `rel` (making a local directory's parents first).
    pub async fn write(&self, rel: &str, bytes: Vec<u8>) -> Result<(), ScaleError> {
        if let Location::Dir(dir) = &self.location {
            if let Some(parent) = dir.join(rel).parent() {
                create_dir_durable(parent)?;
            }
        }
        Ok(self.storage.write(rel, bytes).await?)
    }

    /// Its state, if it has one.
    pub async fn load_state(&self) -> Result<Option<State>, ScaleError> {
        match (&self.location, &self.store) {
            (Location::Store(url), Some(store)) => {
                if self.storage.size(STATE_OBJECT).await?.is_none() {
                    return Ok(None);
                }
                let (_, state) = ObjectState::load(store.clone(), url, STATE_OBJECT).await?;
                Ok(Some(state))
            }
            (location, _) => {
                let path = location.as_path().join(STATE_OBJECT);
                if !path.exists() {
                    return Ok(None);
                }
                Ok(Some(State::load(&path)?))
            }
        }
    }

    /// Writes its state (a store's conditionally, on the version read just before).
    pub async fn save_state(&self, state: &State) -> Result<(), ScaleError> {
        match (&self.location, &self.store) {
            (Location::Store(url), Some(store)) => {
                let (mut object, _) = ObjectState::load(store.clone(), url, STATE_OBJECT).await?;
                Ok(object.put(state).await?)
            }
            (location, _) => Ok(state.save(&location.as_path().join(STATE_OBJECT))?),
        }
    }

    /// Verifies it against `state` (files, manifest, id sets).
    pub async fn verify(&self, state: &State) -> Result<VerifyReport, ScaleError> {
        let report = match &self.location {
            Location::Dir(dir) => {
                let ids = LocalDir::new(id_set_dir(&dir.join(STATE_OBJECT)));
                let at = IdSetsAt {
                    storage: &ids,
                    dir: "",
                };
                verify(self.storage.as_ref(), Some(state), at).await?
            }
            Location::Store(_) => {
                let at = IdSetsAt {
                    storage: self.storage.as_ref(),
                    dir: IDS_DIR,
                };
                verify(self.storage.as_ref(), Some(state), at).await?
            }
        };
        Ok(report)
    }
}

/// Reads the file or object `path` (a plan), naming it in errors.
pub async fn read_file(path: &Path) -> Result<Vec<u8>, ScaleError> {
    let (place, name) = parent_and_name(path)?;
    place
        .storage()
        .read(&name)
        .await?
        .ok_or_else(|| ScaleError::BadPlan {
            path: path.display().to_string(),
            reason: "it does not exist".into(),
        })
}

/// Writes the file or object `path` (a plan).
pub async fn write_file(path: &Path, bytes: Vec<u8>) -> Result<(), ScaleError> {
    let (place, name) = parent_and_name(path)?;
    if let Location::Dir(dir) = place.location() {
        if !dir.as_os_str().is_empty() {
            create_dir_durable(dir)?;
        }
    }
    place.write(&name, bytes).await
}

fn parent_and_name(path: &Path) -> Result<(Place, String), ScaleError> {
    let text = path.to_string_lossy();
    let bad = || ScaleError::BadPlan {
        path: text.to_string(),
        reason: "it names no file".into(),
    };
    let (parent, name) = match text.rsplit_once('/') {
        Some((parent, name)) if !name.is_empty() => (parent.to_string(), name.to_string()),
        Some(_) => return Err(bad()),
        None => (String::new(), text.to_string()),
    };
    let parent = if parent.is_empty() && !text.starts_with('/') {
        ".".to_string()
    } else if parent.is_empty() {
        "/".to_string()
    } else {
        parent
    };
    let location = Location::parse(Path::new(&parent)).map_err(crate::output::OutputError::from)?;
    Ok((Place::open(&location)?, name))
}
