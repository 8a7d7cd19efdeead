//! Database trees (issue 25): a run over the key's database and the child databases below it.
//!
//! - [`DatabasePath`], [`stream_name`] (`path.rs`): paths relative to the key's database and
//!   the stream name of a (database, collection) pair (`spec/trees.md`).
//! - [`DatabaseSelection`] (`selection.rs`): which databases a run reads.
//! - [`scoped_secret`] (`scoped.rs`): the secret of a client of one database.
//! - [`discover`] (`discover.rs`): walking the tree with the key's privileges.
//!
//! The run (`crate::run`) builds one client per database from these, names each stream, and
//! has the committer write the `database` column ([`DATABASE_COLUMN`]).

mod discover;
mod error;
mod path;
mod scoped;
mod selection;

pub use discover::{child_databases, discover, Tree};
pub use error::TreeError;
pub use path::{split_stream_name, stream_name, stream_name_in, valid_name, DatabasePath};
pub use scoped::{scoped_secret, Access};
pub use selection::{DatabaseSelection, Databases, Pattern};

/// The column records of a tree run gain: the database's path (`""` for the key's own).
pub const DATABASE_COLUMN: &str = "database";
