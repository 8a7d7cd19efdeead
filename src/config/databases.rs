//! The `databases` setting (and `--databases`, `--include-database`, `--exclude-database`):
//! which databases of the tree a run reads (`spec/trees.md`).

use serde::Deserialize;

use super::error::ConfigError;
use crate::tree::{DatabasePath, DatabaseSelection, Databases, Pattern};

/// `databases` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabasesFile {
    /// `"own"`, `"recursive"`, or database paths (comma-separated, or a list).
    pub select: Option<SelectFile>,
    /// Path patterns kept.
    #[serde(default)]
    pub include: Vec<String>,
    /// Path patterns left out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// One stream per collection name across the databases.
    pub merge: Option<bool>,
}

/// `databases.select` as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum SelectFile {
    /// `"own"` or `"recursive"`.
    Word(String),
    /// Database paths (`"tenant1"`, `"tenant1/eu"`).
    Paths(Vec<String>),
}

/// The `--databases` flag and its patterns.
#[derive(Clone, Debug, Default)]
pub struct DatabaseOverrides {
    /// `--databases own|recursive|PATH[,PATH…]`.
    pub select: Option<String>,
    /// `--include-database` (repeatable).
    pub include: Vec<String>,
    /// `--exclude-database` (repeatable).
    pub exclude: Vec<String>,
    /// `--merge-databases`.
    pub merge: bool,
}

/// The selection of the file and flags (the flags win; patterns add up).
pub fn resolve_databases(
    file: Option<DatabasesFile>,
    o: &DatabaseOverrides,
) -> Result<DatabaseSelection, ConfigError> {
    let file = file.unwrap_or_default();
    let merge = o.merge || file.merge == Some(true);
    let databases = match (&o.select, file.select) {
        (Some(flag), _) => select("--databases", &word_or_paths(flag))?,
        (None, Some(SelectFile::Word(w))) => select("databases.select", &word_or_paths(&w))?,
        (None, Some(s)) => select("databases.select", &s)?,
        (None, None) => Databases::Own,
    };
    let include: Vec<Pattern> = file
        .include
        .iter()
        .chain(&o.include)
        .map(|p| Pattern::new(p))
        .collect();
    let exclude: Vec<Pattern> = file
        .exclude
        .iter()
        .chain(&o.exclude)
        .map(|p| Pattern::new(p))
        .collect();
    if databases == Databases::Own && !(include.is_empty() && exclude.is_empty()) {
        return Err(ConfigError::new(
            "databases.include",
            "database patterns without a tree to choose from",
            "Add --databases recursive (or \"databases\": {\"select\": \"recursive\"}), or leave the patterns out.",
        ));
    }
    if databases == Databases::Own && merge {
        return Err(ConfigError::new(
            "databases.merge",
            "merging databases without a tree to merge",
            "Add --databases recursive (or named databases), or leave --merge-databases out.",
        ));
    }
    Ok(DatabaseSelection {
        databases,
        include,
        exclude,
        merge,
    })
}

fn word_or_paths(flag: &str) -> SelectFile {
    match flag {
        "own" | "recursive" => SelectFile::Word(flag.to_string()),
        _ => SelectFile::Paths(flag.split(',').map(str::to_string).collect()),
    }
}

fn select(field: &str, s: &SelectFile) -> Result<Databases, ConfigError> {
    match s {
        SelectFile::Word(w) if w == "own" => Ok(Databases::Own),
        SelectFile::Word(w) if w == "recursive" => Ok(Databases::Recursive),
        SelectFile::Word(w) => select(field, &SelectFile::Paths(vec![w.clone()])),
        SelectFile::Paths(paths) => {
            let mut out: Vec<DatabasePath> = Vec::new();
            for p in paths {
                let path = DatabasePath::parse(p.trim()).map_err(|e| {
                    ConfigError::new(
                        field,
                        e.to_string(),
                        "Name databases by their path below the key's database, segments joined by '/', e.g. tenant1/eu.",
                    )
                })?;
                if !out.contains(&path) {
                    out.push(path);
                }
            }
            if out.is_empty() {
                return Err(ConfigError::new(
                    field,
                    "an empty list of databases",
                    "Name at least one database, or use \"own\".",
                ));
            }
            Ok(Databases::Named(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_file_resolve() {
        let flag = |s: &str| DatabaseOverrides {
            select: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(
            resolve_databases(None, &DatabaseOverrides::default()).unwrap(),
            DatabaseSelection::default()
        );
        assert_eq!(
            resolve_databases(None, &flag("recursive"))
                .unwrap()
                .databases,
            Databases::Recursive
        );
        assert_eq!(
            resolve_databases(None, &flag("t1,t2/eu"))
                .unwrap()
                .databases,
            Databases::Named(vec![
                DatabasePath::parse("t1").unwrap(),
                DatabasePath::parse("t2/eu").unwrap()
            ])
        );
        let e = resolve_databases(None, &flag("t1,t 2")).unwrap_err();
        assert_eq!(e.field, "--databases");
        let file: DatabasesFile = serde_json::from_str(r#"{"select":"t1, t2/eu"}"#).unwrap();
        let s = resolve_databases(Some(file), &DatabaseOverrides::default()).unwrap();
        assert_eq!(
            s.databases,
            resolve_databases(None, &flag("t1,t2/eu"))
                .unwrap()
                .databases
        );
        let file: DatabasesFile =
            serde_json::from_str(r#"{"select":"recursive","exclude":["t3/**"]}"#).unwrap();
        let s = resolve_databases(Some(file), &DatabaseOverrides::default()).unwrap();
        assert_eq!(s.exclude, vec![Pattern::new("t3/**")]);
        let lone = DatabaseOverrides {
            include: vec!["t1".into()],
            ..Default::default()
        };
        assert_eq!(
            resolve_databases(None, &lone).unwrap_err().field,
            "databases.include"
        );
        let merged = DatabaseOverrides {
            merge: true,
            ..Default::default()
        };
        assert_eq!(
            resolve_databases(None, &merged).unwrap_err().field,
            "databases.merge"
        );
        let file: DatabasesFile =
            serde_json::from_str(r#"{"select":"recursive","merge":true}"#).unwrap();
        assert!(
            resolve_databases(Some(file), &DatabaseOverrides::default())
                .unwrap()
                .merge
        );
    }
}
