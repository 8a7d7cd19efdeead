//! The databases of a run: which are read (discovered when the settings select a tree) and one
//! client for each, made by the one constructor ([`client_in`]).

use std::collections::BTreeMap;

use super::client::{client_in, Use};
use crate::config::Settings;
use crate::fauna::{FaunaClient, FaunaError};
use crate::sync::{DatabaseScope, ExportError};
use crate::tree::{
    discover, stream_name_in, Access, DatabasePath, Tree, TreeError, DATABASE_COLUMN,
};

/// One client per database of the run: the key's own (the run's first client) and one per
/// database below it, each with a secret scoped to it.
pub struct DatabaseClients {
    root: FaunaClient,
    below: BTreeMap<DatabasePath, FaunaClient>,
    purpose: Use,
}

impl DatabaseClients {
    /// The clients of a run whose client of the key's own database is `root`.
    pub fn new(root: FaunaClient, purpose: Use) -> Self {
        DatabaseClients {
            root,
            below: BTreeMap::new(),
            purpose,
        }
    }

    /// The client of the key's own database.
    pub fn root(&self) -> &FaunaClient {
        &self.root
    }

    /// Makes the client of the database at `path` if there is none yet.
    pub fn add(&mut self, settings: &Settings, path: &DatabasePath) -> Result<(), ExportError> {
        if path.is_root() || self.below.contains_key(path) {
            return Ok(());
        }
        let client = client_in(settings, self.purpose, path, Access::Read).map_err(|source| {
            ExportError::Fauna {
                context: format!("setting up the client of database '{path}'"),
                source,
            }
        })?;
        self.below.insert(path.clone(), client);
        Ok(())
    }

    /// The client of the database at `path` ([`DatabaseClients::add`] made it).
    pub fn get(&self, path: &DatabasePath) -> Result<&FaunaClient, ExportError> {
        if path.is_root() {
            return Ok(&self.root);
        }
        self.below.get(path).ok_or_else(|| ExportError::Fauna {
            context: format!("reading database '{path}'"),
            source: FaunaError::InvalidResponse("no client was made for it".into()),
        })
    }

    /// The clients of the databases below the key's.
    pub fn below(&self) -> impl Iterator<Item = &FaunaClient> {
        self.below.values()
    }
}

/// The databases the settings select, walked with the key's privileges (`spec/trees.md`).
pub async fn databases(settings: &Settings) -> Result<Tree, ExportError> {
    let listing = |path: &DatabasePath| client_in(settings, Use::Run, path, Access::List);
    let reading = |path: &DatabasePath| client_in(settings, Use::Run, path, Access::Read);
    discover(&settings.databases, listing, reading)
        .await
        .map_err(|e| match e {
            TreeError::Unreachable { path, source } => ExportError::Fauna {
                context: format!("database '{path}' cannot be read with the key; check the name (names are case-sensitive) and that the key is an admin key of a database above it"),
                source,
            },
            TreeError::Listing { path, source } => ExportError::Fauna {
                context: format!("listing the child databases of '{path}'"),
                source,
            },
            TreeError::BadPath { path, reason } => {
                ExportError::Collection(format!("database path '{path}': {reason}"))
            }
        })
}

/// A stream of a database below the key's that Fauna refuses the scoped secret for (401): the
/// database was deleted (or the key no longer reaches it) since the streams were named — by an
/// Airbyte catalog, or by discovery earlier in the run. It fails that stream only, where the
/// same answer for the key's own database fails the run (a wrong secret).
pub fn unreachable(path: &DatabasePath, e: ExportError) -> ExportError {
    match e {
        ExportError::Fauna { source, .. } | ExportError::Read(crate::read::ReadError::Fauna { source, .. })
            if !path.is_root() && source.status() == Some(401) =>
        {
            ExportError::Permission(format!(
                "database '{path}' cannot be read with the key (Fauna: {source}): it was deleted, or the key no longer reaches it; discover the streams again"
            ))
        }
        other => other,
    }
}

/// How the committer names and marks the streams of the database at `path`: as before for
/// the key's own database when the run reads no tree; with the `database` column otherwise.
pub fn scope(settings: &Settings, path: &DatabasePath) -> DatabaseScope {
    if !settings.databases.is_tree() {
        return DatabaseScope::default();
    }
    let merged = settings.databases.merge;
    DatabaseScope {
        prefix: stream_name_in(path, "", merged),
        column: Some((DATABASE_COLUMN.to_string(), path.to_string())),
        merged,
    }
}
