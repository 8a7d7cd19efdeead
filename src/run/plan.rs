//! What a run reads: its streams, in order, and how each is read.

use std::collections::BTreeMap;
use std::time::Duration;

use super::databases::{databases, DatabaseClients};
use crate::config::{CollectionSettings, Settings};
use crate::fauna::FaunaClient;
use crate::read::list_collections;
use crate::state::RangePosition;
use crate::sync::ExportError;
use crate::tree::{stream_name_in, DatabasePath, Tree};

/// How a stream is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// A full export, resumed when interrupted and left complete once done (`export`). The
    /// run's collections share one snapshot.
    Export,
    /// A full read, resumed when interrupted; a complete one (or a stream left in any other
    /// state) starts afresh (Airbyte's `full_refresh`).
    Refresh,
    /// The full export the first time, then one window per run through the collection's
    /// `[ts, ref]` index (`sync`, Airbyte's `incremental`). With `or_refresh`, a collection
    /// without a fitting index is read as [`ReadMode::Refresh`], with a warning, instead of
    /// failing.
    Incremental {
        /// Fall back to a full refresh without a fitting index.
        or_refresh: bool,
    },
}

/// One stream of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamPlan {
    /// Its collection's settings.
    pub collection: CollectionSettings,
    /// How it is read.
    pub read: ReadMode,
    /// The database of its collection (the key's own without trees).
    pub database: DatabasePath,
    /// Whether its database's streams are merged by collection (`merge_databases`).
    pub merged: bool,
}

impl StreamPlan {
    /// The stream's name: its collection's, after its database's path in a tree
    /// ([`stream_name_in`]: merged, the name of its database's entry).
    pub fn name(&self) -> String {
        stream_name_in(&self.database, &self.collection.name, self.merged)
    }

    /// The merged stream its batches are files of (`merge_databases`): its collection's name.
    pub fn merged_into(&self) -> Option<&str> {
        self.merged.then_some(self.collection.name.as_str())
    }
}

/// What a run reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The streams, in order; `None`: the configured collections, else every collection the
    /// key can list (with the defaults), each read with [`Plan::read`].
    pub streams: Option<Vec<StreamPlan>>,
    /// How the configured or listed collections are read.
    pub read: ReadMode,
    /// Stop at the first batch boundary after this long (`sync --max-duration`).
    pub max_duration: Option<Duration>,
    /// A shard of a scale-out plan (`export --plan --shard`, `crate::scale`): the snapshot
    /// every stream is read at, and each new stream's ranges of ids.
    pub pinned: Option<Pinned>,
}

/// What a scale-out plan fixes for one shard's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pinned {
    /// The plan's snapshot (µs): every stream is read at it.
    pub snapshot_ts: i64,
    /// Each stream's ranges of ids (its first position, a pinned read of those ranges only).
    pub ranges: BTreeMap<String, Vec<RangePosition>>,
}

/// What a run does with each collection (`export` or `sync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A one-off full export.
    Export,
    /// A full export the first time, then one incremental window per run.
    Sync {
        /// Stop at the first batch boundary after this long.
        max_duration: Option<Duration>,
    },
}

impl Plan {
    /// The plan of `export` or `sync`: the configured (or every listable) collection.
    pub fn of(mode: Mode) -> Plan {
        match mode {
            Mode::Export => Plan {
                streams: None,
                read: ReadMode::Export,
                max_duration: None,
                pinned: None,
            },
            Mode::Sync { max_duration } => Plan {
                streams: None,
                read: ReadMode::Incremental { or_refresh: false },
                max_duration,
                pinned: None,
            },
        }
    }

    /// The streams of the run, in order, with a client in `clients` for each of their
    /// databases: over a tree, every selected database's collections (`spec/trees.md`), and
    /// the tree as discovered.
    pub async fn streams(
        &self,
        settings: &Settings,
        clients: &mut DatabaseClients,
    ) -> Result<(Vec<StreamPlan>, Option<Tree>), ExportError> {
        if let Some(streams) = &self.streams {
            for s in streams {
                clients.add(settings, &s.database)?;
            }
            return Ok((streams.clone(), None));
        }
        if !settings.databases.is_tree() {
            let root = DatabasePath::root();
            let streams = self.streams_of(settings, clients.root(), &root).await?;
            return Ok((streams, None));
        }
        let tree = databases(settings).await?;
        let mut streams = Vec::new();
        for path in &tree.databases {
            clients.add(settings, path)?;
            let client = clients.get(path)?;
            match self.streams_of(settings, client, path).await {
                Ok(s) => streams.extend(s),
                Err(ExportError::Fauna { source, .. })
                    if matches!(source.status(), Some(401 | 403)) =>
                {
                    let label = path.label();
                    tracing::warn!(database = %path, "The key cannot list the collections of {label} (Fauna: {source}); it is left out.");
                }
                Err(e) => return Err(e),
            }
        }
        Ok((streams, Some(tree)))
    }

    /// The streams of the database at `path`, read with `client`: the configured collections
    /// (in a tree, those the database has), else every collection the key can list.
    async fn streams_of(
        &self,
        settings: &Settings,
        client: &FaunaClient,
        path: &DatabasePath,
    ) -> Result<Vec<StreamPlan>, ExportError> {
        let listed = |source| ExportError::Fauna {
            context: if path.is_root() {
                "listing collections (name them with --collection if the key cannot read Collections())".into()
            } else {
                format!("listing the collections of database '{path}'")
            },
            source,
        };
        let collections = match &settings.collections {
            Some(c) if settings.databases.is_tree() => {
                let present = list_collections(client).await.map_err(listed)?;
                c.iter()
                    .filter(|c| present.contains(&c.name))
                    .cloned()
                    .collect()
            }
            Some(c) => c.clone(),
            None => list_collections(client)
                .await
                .map_err(listed)?
                .into_iter()
                .map(|name| CollectionSettings {
                    name,
                    ..settings.defaults.clone()
                })
                .collect(),
        };
        Ok(collections
            .into_iter()
            .map(|collection| StreamPlan {
                collection,
                read: self.read,
                database: path.clone(),
                merged: settings.databases.merge,
            })
            .collect())
    }
}
