//! Database paths and the stream names built from them.
//!
//! A path names a database relative to the key's own: `""` (the root, the key's database),
//! `tenant1`, `tenant1/eu`. Fauna names hold word characters and `;@+$-_.!~%` only
//! (`Parsing.Name.isValid` in the core), never `/`, so `/` joins the segments — as in a scoped
//! secret `<secret>:tenant1/eu:<role>` — and also joins the path and a collection into a
//! stream name: the collection is what follows the last `/` (`tenant1/eu/orders`). The root's
//! streams keep the bare collection name, so a run over the key's own database names its
//! streams as before.

use std::fmt;

use super::error::TreeError;

/// A database path below the key's own database, outermost first; empty for the key's own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatabasePath(Vec<String>);

impl DatabasePath {
    /// The key's own database.
    pub fn root() -> Self {
        DatabasePath(Vec::new())
    }

    /// Parses `a/b/c` (`""` is the root); each segment must be a valid Fauna name.
    ///
    /// ```
    /// use fauna_sync::tree::DatabasePath;
    /// assert_eq!(DatabasePath::parse("t1/eu").unwrap().to_string(), "t1/eu");
    /// assert!(DatabasePath::parse("").unwrap().is_root());
    /// assert!(DatabasePath::parse("t1//eu").is_err());
    /// assert!(DatabasePath::parse("t 1").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, TreeError> {
        if s.is_empty() {
            return Ok(Self::root());
        }
        let segments: Vec<String> = s.split('/').map(str::to_string).collect();
        if let Some(bad) = segments.iter().find(|n| !valid_name(n)) {
            return Err(TreeError::BadPath {
                path: s.to_string(),
                reason: if bad.is_empty() {
                    "an empty segment".into()
                } else {
                    format!("'{bad}' is not a Fauna name (word characters and ;@+$-_.!~% only)")
                },
            });
        }
        Ok(DatabasePath(segments))
    }

    /// Whether this is the key's own database.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The child database `name` of this one.
    pub fn child(&self, name: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(name.to_string());
        DatabasePath(segments)
    }

    /// Whether `self` is `other` or lies below it.
    pub fn within(&self, other: &DatabasePath) -> bool {
        self.0.starts_with(&other.0)
    }

    /// How messages name it: `the key's own database` or `database 'a/b'`.
    ///
    /// ```
    /// use fauna_sync::tree::DatabasePath;
    /// assert_eq!(DatabasePath::root().label(), "the key's own database");
    /// assert_eq!(DatabasePath::parse("t1").unwrap().label(), "database 't1'");
    /// ```
    pub fn label(&self) -> String {
        match self.is_root() {
            true => "the key's own database".into(),
            false => format!("database '{self}'"),
        }
    }

    /// Its depth below the key's database (0 for the root).
    pub fn depth(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for DatabasePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

/// Whether `name` is a valid Fauna schema name: word characters and `;@+$-_.!~%`, not `_`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "_"
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || ";@+$-_.!~%".contains(c))
}

/// The stream of `collection` in the database at `path`: the collection's name for the root,
/// else `path/collection`.
///
/// ```
/// use fauna_sync::tree::{stream_name, DatabasePath};
/// assert_eq!(stream_name(&DatabasePath::root(), "orders"), "orders");
/// assert_eq!(stream_name(&DatabasePath::parse("t1/eu").unwrap(), "orders"), "t1/eu/orders");
/// ```
pub fn stream_name(path: &DatabasePath, collection: &str) -> String {
    if path.is_root() {
        collection.to_string()
    } else {
        format!("{path}/{collection}")
    }
}

/// The name of the state entry of `collection` in the database at `path` when the run merges
/// databases (`merge_databases`, `spec/trees.md`): the merged stream, named by the collection,
/// owns the output (its files, their sequence); each database keeps its own position under
/// `path/collection`, the key's own database under `/collection`. Without merging, the stream
/// name ([`stream_name`]).
///
/// ```
/// use fauna_sync::tree::{stream_name_in, DatabasePath};
/// assert_eq!(stream_name_in(&DatabasePath::root(), "orders", true), "/orders");
/// assert_eq!(stream_name_in(&DatabasePath::parse("t1").unwrap(), "orders", true), "t1/orders");
/// assert_eq!(stream_name_in(&DatabasePath::root(), "orders", false), "orders");
/// ```
pub fn stream_name_in(path: &DatabasePath, collection: &str, merged: bool) -> String {
    if merged {
        format!("{path}/{collection}")
    } else {
        stream_name(path, collection)
    }
}

/// The database path and collection of a stream name made by [`stream_name`]; `None` when a
/// segment is not a Fauna name.
///
/// ```
/// use fauna_sync::tree::{split_stream_name, DatabasePath};
/// let (path, c) = split_stream_name("t1/eu/orders").unwrap();
/// assert_eq!((path.to_string().as_str(), c), ("t1/eu", "orders"));
/// assert_eq!(split_stream_name("orders").unwrap(), (DatabasePath::root(), "orders"));
/// ```
pub fn split_stream_name(stream: &str) -> Option<(DatabasePath, &str)> {
    let (path, collection) = match stream.rsplit_once('/') {
        // A merged run's entry of the key's own database is `/collection`.
        Some((p, c)) => (DatabasePath::parse(p).ok()?, c),
        None => (DatabasePath::root(), stream),
    };
    valid_name(collection).then_some((path, collection))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_never_collide() {
        let cases = [
            ("", "orders"),
            ("t1", "orders"),
            ("t1/eu", "orders"),
            ("t1", "eu.orders"),
        ];
        let mut seen = std::collections::HashSet::new();
        for (p, c) in cases {
            let path = DatabasePath::parse(p).unwrap();
            let name = stream_name(&path, c);
            assert!(seen.insert(name.clone()), "{name}");
            assert_eq!(split_stream_name(&name), Some((path, c)));
        }
    }

    #[test]
    fn paths_nest() {
        let t1 = DatabasePath::parse("t1").unwrap();
        assert!(t1.child("eu").within(&t1));
        assert!(!t1.within(&t1.child("eu")));
        assert!(t1.within(&DatabasePath::root()));
        assert_eq!(t1.child("eu").depth(), 2);
    }
}
