//! Discovery: the databases of a run, found by walking the tree with the key's privileges —
//! `Paginate(Databases())` in each database, through a secret scoped to it — and what could
//! not be read on the way.

use super::error::TreeError;
use super::path::DatabasePath;
use super::selection::{DatabaseSelection, Databases};
use crate::fauna::{Expr, FaunaClient, FaunaError};

/// The databases found, and those whose children could not be listed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    /// The selected databases, in path order (the key's own first).
    pub databases: Vec<DatabasePath>,
    /// Databases whose child databases the key could not list, with Fauna's answer: their
    /// subtrees are missing from [`Tree::databases`].
    pub unlisted: Vec<(DatabasePath, String)>,
}

/// Whether Fauna's answer means the key may not do this (rather than a failure to retry).
fn refused(e: &FaunaError) -> bool {
    matches!(e.status(), Some(401 | 403))
}

/// Finds the databases `selection` names. `list_client` makes the client that lists the
/// child databases of one (an admin role), `read_client` the one that reads it. A named
/// database the key cannot reach fails discovery; a database whose children cannot be listed
/// is kept in [`Tree::unlisted`].
pub async fn discover(
    selection: &DatabaseSelection,
    list_client: impl Fn(&DatabasePath) -> Result<FaunaClient, FaunaError>,
    read_client: impl Fn(&DatabasePath) -> Result<FaunaClient, FaunaError>,
) -> Result<Tree, TreeError> {
    let mut tree = Tree::default();
    match &selection.databases {
        Databases::Own => tree.databases.push(DatabasePath::root()),
        Databases::Named(paths) => {
            for path in paths {
                let unreachable = |source| TreeError::Unreachable {
                    path: path.to_string(),
                    source,
                };
                let client = read_client(path).map_err(unreachable)?;
                // Any query shows whether the scoped secret opens the database.
                client.query(&Expr::now()).await.map_err(unreachable)?;
                if selection.keeps(path) && !tree.databases.contains(path) {
                    tree.databases.push(path.clone());
                }
            }
        }
        Databases::Recursive => {
            let mut pending = vec![DatabasePath::root()];
            while let Some(path) = pending.pop() {
                if selection.keeps(&path) {
                    tree.databases.push(path.clone());
                }
                let listing = |source| TreeError::Listing {
                    path: path.to_string(),
                    source,
                };
                let client = list_client(&path).map_err(listing)?;
                match child_databases(&client).await {
                    Ok(children) => {
                        // Reversed so that the stack pops them in name order.
                        pending.extend(children.iter().rev().map(|c| path.child(c)));
                    }
                    Err(e) if refused(&e) => {
                        let label = path.label();
                        tracing::warn!(database = %path, "The key cannot list the child databases of {label} (Fauna: {e}); its subtree is left out (listing databases needs an admin key).");
                        tree.unlisted.push((path, e.to_string()));
                    }
                    Err(e) => return Err(listing(e)),
                }
            }
        }
    }
    tree.databases.sort();
    Ok(tree)
}

/// The names of the child databases of the client's database, every page.
pub async fn child_databases(client: &FaunaClient) -> Result<Vec<String>, FaunaError> {
    crate::read::ref_ids(client, Expr::databases()).await
}
