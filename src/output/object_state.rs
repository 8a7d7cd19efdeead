//! The state as an object beside the data (`<prefix>/_state.json`), written conditionally.
//!
//! Its content is the local state file's plus a field `"write": {"run": <id>, "n": <count>}`
//! unique to each write, so no two writes have the same bytes (S3's etag is the content's MD5:
//! without it, a write that restores earlier bytes would satisfy a stale `If-Match`). The first
//! write creates the object (`PutMode::Create`); every later write updates the version this run
//! read or wrote last (`PutMode::Update` with its etag/version), so of two overlapping runs only
//! one can commit: the other's write fails and the run stops with [`LockError::Held`] (exit
//! code 75). A run claims the state with such a write before it changes anything else.

use std::sync::Arc;

use async_trait::async_trait;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use serde::Deserialize;

use super::store_url::StoreUrl;
use super::{Checkpoint, OutputError, Receipt};
use crate::lock::LockError;
use crate::state::{State, StateError, STATE_VERSION};

/// The state object's default name under the output prefix.
pub const STATE_OBJECT: &str = "_state.json";

/// The state object of one run.
pub struct ObjectState {
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    url: String,
    /// The version last read or written; `None` while the object does not exist.
    version: Option<UpdateVersion>,
    /// This run's id and its number of writes, written into each version.
    run_id: String,
    writes: u64,
}

impl ObjectState {
    /// Reads the state object `rel` under `url` (an empty state when there is none).
    pub async fn load(
        store: Arc<dyn ObjectStore>,
        url: &StoreUrl,
        rel: &str,
    ) -> Result<(ObjectState, State), OutputError> {
        let key = url.key(rel)?;
        let object_url = url.url_of(rel);
        let (state, version) = match store.get(&key).await {
            Ok(r) => {
                let version = UpdateVersion {
                    e_tag: r.meta.e_tag.clone(),
                    version: r.meta.version.clone(),
                };
                let bytes = r.bytes().await.map_err(|source| OutputError::Store {
                    op: "read the state",
                    url: object_url.clone(),
                    source,
                })?;
                (Some(bytes), Some(version))
            }
            Err(object_store::Error::NotFound { .. }) => (None, None),
            Err(source) => {
                return Err(OutputError::Store {
                    op: "read the state",
                    url: object_url,
                    source,
                })
            }
        };
        let state = match state {
            Some(bytes) => parse_state(&object_url, &bytes)?,
            None => State::new(),
        };
        Ok((
            ObjectState {
                store,
                key,
                url: object_url,
                version,
                run_id: super::owner::new_output_id(),
                writes: 0,
            },
            state,
        ))
    }

    /// Writes `state` conditionally on the version this run knows.
    pub async fn put(&mut self, state: &State) -> Result<(), StateError> {
        let invalid = |e: serde_json::Error| StateError::Invalid {
            path: self.url.clone(),
            reason: e.to_string(),
        };
        let mut value = serde_json::to_value(state).map_err(invalid)?;
        self.writes += 1;
        if let Some(fields) = value.as_object_mut() {
            fields.insert(
                "write".into(),
                serde_json::json!({"run": self.run_id, "n": self.writes}),
            );
        }
        let mut bytes = serde_json::to_vec_pretty(&value).map_err(invalid)?;
        bytes.push(b'\n');
        if crate::crash::armed("state-write") {
            std::process::abort();
        }
        let mode = match &self.version {
            Some(v) => PutMode::Update(v.clone()),
            None => PutMode::Create,
        };
        match self
            .store
            .put_opts(&self.key, bytes.into(), PutOptions::from(mode))
            .await
        {
            Ok(r) => {
                self.version = Some(r.into());
                Ok(())
            }
            Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::AlreadyExists { .. }) => {
                Err(StateError::Locked(LockError::Held {
                    path: self.url.clone().into(),
                    holder: "another run committed a newer state meanwhile".into(),
                }))
            }
            Err(source) => Err(StateError::Store(Box::new(OutputError::Store {
                op: "write the state",
                url: self.url.clone(),
                source,
            }))),
        }
    }
}

/// Parses a state object: version 2 only (version 1 never lived in an object store).
pub(crate) fn parse_state(url: &str, bytes: &[u8]) -> Result<State, StateError> {
    let invalid = |reason: String| StateError::Invalid {
        path: url.to_string(),
        reason,
    };
    #[derive(Deserialize)]
    struct Version {
        version: u32,
    }
    let version = serde_json::from_slice::<Version>(bytes)
        .map_err(|e| invalid(format!("not a fauna-sync state ({e})")))?
        .version;
    if version != STATE_VERSION {
        return Err(invalid(format!(
            "version {version} (an object-store state is version {STATE_VERSION})"
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))
}

#[async_trait]
impl Checkpoint for ObjectState {
    async fn save(
        &mut self,
        state: &State,
        _: &str,
        _: Option<&Receipt>,
    ) -> Result<(), StateError> {
        self.put(state).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn of_two_runs_that_read_the_same_state_only_the_first_commits() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let url = StoreUrl::parse(std::path::Path::new("s3://b/p"))
            .unwrap()
            .unwrap();
        let (mut a, state) = ObjectState::load(store.clone(), &url, STATE_OBJECT)
            .await
            .unwrap();
        assert_eq!(state, State::new());
        a.put(&state).await.unwrap();
        let (mut b, _) = ObjectState::load(store.clone(), &url, STATE_OBJECT)
            .await
            .unwrap();
        let mut c = ObjectState::load(store.clone(), &url, STATE_OBJECT)
            .await
            .unwrap()
            .0;
        let mut next = state.clone();
        next.manifest_len = 10;
        b.put(&next).await.unwrap();
        let e = c.put(&next).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Locked);
        assert_eq!(
            e.to_string(),
            "another fauna-sync run holds s3://b/p/_state.json (another run committed a newer state meanwhile); wait for it to finish (or stop it) and run again — two runs on one output would corrupt each other"
        );
        // A second creation loses too.
        let e = a.put(&next).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Locked);
        let (_, loaded) = ObjectState::load(store, &url, STATE_OBJECT).await.unwrap();
        assert_eq!(loaded.manifest_len, 10);
    }

    #[test]
    fn only_version_2_states_are_read() {
        let e = parse_state("s3://b/_state.json", br#"{"version":1,"streams":{}}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the state file s3://b/_state.json is not usable: version 1 (an object-store state is version 2). Delete it (and the output it describes) to start over"
        );
    }
}
