//! Which databases a run reads: the key's own (the default), named ones, or the whole tree,
//! narrowed by include and exclude patterns.

use super::path::DatabasePath;

/// Where the databases of a run come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Databases {
    /// The key's own database only: streams and records exactly as without trees.
    #[default]
    Own,
    /// These databases (paths below the key's), each on its own.
    Named(Vec<DatabasePath>),
    /// The key's database and every database below it that the key can list.
    Recursive,
}

/// The databases of a run, as configured (`databases` in the file, `--databases`,
/// `--include-database`, `--exclude-database`, `--merge-databases`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatabaseSelection {
    /// Where they come from.
    pub databases: Databases,
    /// Paths kept (all when empty); see [`Pattern`].
    pub include: Vec<Pattern>,
    /// Paths left out, after `include`.
    pub exclude: Vec<Pattern>,
    /// Write a collection of the same name from every database into one stream
    /// (`merge_databases`): see [`crate::tree::stream_name_in`].
    pub merge: bool,
}

impl DatabaseSelection {
    /// Whether streams are per database (anything but the key's own database alone): records
    /// then carry the `database` column.
    pub fn is_tree(&self) -> bool {
        self.databases != Databases::Own
    }

    /// Whether the database at `path` is selected by the patterns.
    pub fn keeps(&self, path: &DatabasePath) -> bool {
        let p = path.to_string();
        (self.include.is_empty() || self.include.iter().any(|i| i.matches(&p)))
            && !self.exclude.iter().any(|e| e.matches(&p))
    }
}

/// A pattern over database paths: `*` matches any run of characters within one segment, `**`
/// any run across segments (`/` included); anything else matches itself. A pattern matches the
/// whole path: `t1` is only `t1`, `t1/**` everything below it, `*` every child of the root.
/// The key's own database has the empty path, matched by `""` and `**`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    /// The pattern as written.
    pub fn new(p: &str) -> Self {
        Pattern(p.to_string())
    }

    /// Whether the pattern matches all of `path`.
    ///
    /// ```
    /// use fauna_sync::tree::Pattern;
    /// assert!(Pattern::new("t*").matches("t1"));
    /// assert!(!Pattern::new("t*").matches("t1/eu"));
    /// assert!(Pattern::new("t1/**").matches("t1/eu/x"));
    /// assert!(Pattern::new("**").matches(""));
    /// ```
    pub fn matches(&self, path: &str) -> bool {
        glob(self.0.as_bytes(), path.as_bytes())
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        [b'*', rest @ ..] => (0..=s.len())
            .take_while(|&i| i == 0 || s[i - 1] != b'/')
            .any(|i| glob(rest, &s[i..])),
        [c, rest @ ..] => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(include: &[&str], exclude: &[&str]) -> DatabaseSelection {
        DatabaseSelection {
            databases: Databases::Recursive,
            include: include.iter().map(|p| Pattern::new(p)).collect(),
            exclude: exclude.iter().map(|p| Pattern::new(p)).collect(),
            merge: false,
        }
    }

    #[test]
    fn patterns_match_whole_paths() {
        let p = |s: &str| DatabasePath::parse(s).unwrap();
        let s = sel(&[], &["t2/**", "t3"]);
        assert!(s.keeps(&p("")));
        assert!(s.keeps(&p("t1/eu")));
        assert!(s.keeps(&p("t2")));
        assert!(!s.keeps(&p("t2/eu")));
        assert!(!s.keeps(&p("t3")));
        assert!(s.keeps(&p("t3/eu")));
        let s = sel(&["t1", "t1/**"], &[]);
        assert!(!s.keeps(&p("")));
        assert!(s.keeps(&p("t1")) && s.keeps(&p("t1/eu")));
        assert!(!s.keeps(&p("t10")));
        assert!(Pattern::new("t*/e*").matches("t1/eu"));
        assert!(!Pattern::new("*").matches("t1/eu"));
        assert!(Pattern::new("").matches(""));
    }
}
