//! Top-level keys of the configuration file: known ones, ones Airbyte may add (accepted
//! silently), clear misspellings of known ones (refused) and the rest (ignored with a warning).

use super::error::ConfigError;

/// Every top-level key fauna-sync reads (`spec/config.schema.json`).
pub const KNOWN_KEYS: [&str; 14] = [
    "domain",
    "port",
    "scheme",
    "secret",
    "collection",
    "collections",
    "defaults",
    "query_timeout_ms",
    "max_retries",
    "concurrency",
    "allow_insecure_http",
    "discover_sample",
    "output",
    "databases",
];

/// Keys a drop-in Airbyte config may carry that fauna-sync does not use: JSON-schema
/// annotations and keys the Airbyte platform injects (`__injected_declarative_manifest`, …).
fn is_airbyte_key(key: &str) -> bool {
    key.starts_with("__") || matches!(key, "$schema" | "$comment")
}

/// A top-level key fauna-sync does not know, with the known key it is closest to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownKey {
    /// The key as written.
    pub key: String,
    /// The closest known key.
    pub nearest: &'static str,
}

impl std::fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the configuration key `{}` is unknown and ignored (the nearest known key is `{}`)",
            self.key, self.nearest
        )
    }
}

/// Checks the top-level keys: an error for the first key within edit distance 2 of a known key
/// (a misspelling, which would otherwise be ignored silently), else the unknown keys to warn
/// about, in file order.
pub fn check_keys<'a>(
    keys: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<UnknownKey>, ConfigError> {
    let mut unknown = Vec::new();
    for key in keys {
        if KNOWN_KEYS.contains(&key) || is_airbyte_key(key) {
            continue;
        }
        let (nearest, distance) = nearest_known(key);
        if distance <= 2 {
            return Err(ConfigError::new(
                key,
                format!("unknown key; it looks like a misspelling of `{nearest}`"),
                format!("Rename it to `{nearest}` (see spec/config.schema.json)."),
            ));
        }
        unknown.push(UnknownKey {
            key: key.to_string(),
            nearest,
        });
    }
    Ok(unknown)
}

/// The known key closest to `key` (compared case-insensitively, `-` as `_`) and its distance.
fn nearest_known(key: &str) -> (&'static str, usize) {
    let normalized = key.to_lowercase().replace('-', "_");
    let mut best = (KNOWN_KEYS[0], usize::MAX);
    for known in KNOWN_KEYS {
        let d = edit_distance(&normalized, known);
        if d < best.1 {
            best = (known, d);
        }
    }
    best
}

/// Edit distance counting insertions, deletions, substitutions and swaps of adjacent
/// characters (optimal string alignment), over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("colection", "collection"), 1);
        assert_eq!(edit_distance("max_retires", "max_retries"), 1);
        assert_eq!(edit_distance("prot", "port"), 1);
        assert_eq!(edit_distance("max_retrys", "max_retries"), 2);
        assert_eq!(edit_distance("collections", "collection"), 1);
        assert_eq!(edit_distance("", "port"), 4);
        assert_eq!(edit_distance("port", "port"), 0);
    }

    #[test]
    fn misspellings_are_refused_naming_the_key_to_use() {
        for (typo, nearest) in [
            ("colection", "collection"),
            ("max_retires", "max_retries"),
            ("Secret", "secret"),
            ("query-timeout-ms", "query_timeout_ms"),
            ("ouput", "output"),
            ("allow_insecure_htp", "allow_insecure_http"),
            ("prot", "port"),
            ("host", "port"),
        ] {
            let e = check_keys([typo]).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "invalid configuration: `{typo}`: unknown key; it looks like a misspelling \
                     of `{nearest}`. Rename it to `{nearest}` (see spec/config.schema.json)."
                )
            );
        }
    }

    #[test]
    fn other_unknown_keys_are_reported_and_airbyte_keys_are_not() {
        let keys = [
            "domain",
            "$schema",
            "__injected_declarative_manifest",
            "notes",
            "secret",
            "tenant_id",
        ];
        assert_eq!(
            check_keys(keys).unwrap(),
            vec![
                UnknownKey {
                    key: "notes".into(),
                    nearest: "port"
                },
                UnknownKey {
                    key: "tenant_id".into(),
                    nearest: "domain"
                },
            ]
        );
        assert_eq!(
            UnknownKey {
                key: "notes".into(),
                nearest: "port"
            }
            .to_string(),
            "the configuration key `notes` is unknown and ignored (the nearest known key is `port`)"
        );
    }
}
