//! Where `--out` points, parsed once when the settings are read: a local directory, or an
//! object store's URL.
//!
//! `s3://bucket/prefix` (also `s3a://`), `gs://bucket/prefix`, `az://container/prefix` and
//! `abfs[s]://container@account.dfs.core.windows.net/prefix` name an object store (its client:
//! `crate::output`'s `StoreUrl::connect`). `file:///dir` is the local directory `/dir`.
//! Anything else without `://` is a local path.

use std::path::{Path, PathBuf};

use object_store::path::Path as ObjectPath;
use thiserror::Error;

/// Where a run's output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Dir(PathBuf),
    /// An object store.
    Store(StoreUrl),
}

impl Location {
    /// Parses `--out` (or `output.dir`).
    pub fn parse(out: &Path) -> Result<Location, BadUrl> {
        Ok(match StoreUrl::parse(out)? {
            Some(url) => Location::Store(url),
            None => Location::Dir(local_path(out)),
        })
    }

    /// The location `rel` (`/`-separated) below this one: a subdirectory, or a longer key
    /// prefix.
    pub fn join(&self, rel: &str) -> Location {
        match self {
            Location::Dir(dir) => Location::Dir(dir.join(rel)),
            Location::Store(url) => Location::Store(url.join(rel)),
        }
    }

    /// The location as `--out` names it (a path, or a URL), for paths derived from it.
    pub fn as_path(&self) -> PathBuf {
        match self {
            Location::Dir(dir) => dir.clone(),
            Location::Store(url) => PathBuf::from(url.to_string()),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Dir(dir) => write!(f, "{}", dir.display()),
            Location::Store(url) => write!(f, "{url}"),
        }
    }
}

/// An `--out` URL fauna-sync cannot write to.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("--out {url}: {reason}")]
pub struct BadUrl {
    /// The URL.
    pub url: String,
    /// What is wrong and what to use instead.
    pub reason: String,
}

/// Which cloud a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    /// Amazon S3 and S3-compatible servers (`AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP=true`).
    S3,
    /// Google Cloud Storage.
    Gcs,
    /// Azure Blob Storage / ADLS Gen2.
    Azure,
}

/// A parsed object-store `--out` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreUrl {
    cloud: Cloud,
    /// `scheme://authority` as given.
    base: String,
    /// The key prefix, without leading or trailing `/` (may be empty).
    prefix: String,
}

/// The local directory of a `file://` URL (`file:///tmp/x` → `/tmp/x`); any other path as is.
pub fn local_path(out: &Path) -> PathBuf {
    match out.to_str().and_then(|s| s.strip_prefix("file://")) {
        Some(rest) => PathBuf::from(rest),
        None => out.to_path_buf(),
    }
}

impl StoreUrl {
    /// Parses `out`: `Ok(None)` for a local path (including `file://`), the store URL, or an
    /// error for a URL of an unknown scheme or without a bucket.
    pub fn parse(out: &Path) -> Result<Option<StoreUrl>, BadUrl> {
        let Some(s) = out.to_str() else {
            return Ok(None);
        };
        let Some((scheme, rest)) = s.split_once("://") else {
            return Ok(None);
        };
        let bad = |reason: &str| BadUrl {
            url: s.to_string(),
            reason: reason.to_string(),
        };
        let cloud = match scheme.to_ascii_lowercase().as_str() {
            "file" => return Ok(None),
            "s3" | "s3a" => Cloud::S3,
            "gs" | "gcs" => Cloud::Gcs,
            "az" | "azure" | "abfs" | "abfss" | "adl" => Cloud::Azure,
            _ => {
                return Err(bad(
                    "unknown scheme; use s3://bucket/prefix, gs://bucket/prefix, az://container/prefix, abfss://container@account.dfs.core.windows.net/prefix, file:///dir or a local directory",
                ))
            }
        };
        let (authority, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() {
            return Err(bad("no bucket (container) after the scheme"));
        }
        let prefix = prefix.trim_matches('/').to_string();
        if !prefix.is_empty() {
            ObjectPath::parse(&prefix).map_err(|e| bad(&format!("bad prefix: {e}")))?;
        }
        Ok(Some(StoreUrl {
            cloud,
            base: format!("{scheme}://{authority}"),
            prefix,
        }))
    }

    /// The URL `rel` (`/`-separated) below this one.
    pub fn join(&self, rel: &str) -> StoreUrl {
        let rel = rel.trim_matches('/');
        let prefix = match (self.prefix.is_empty(), rel.is_empty()) {
            (_, true) => self.prefix.clone(),
            (true, false) => rel.to_string(),
            (false, false) => format!("{}/{rel}", self.prefix),
        };
        StoreUrl {
            cloud: self.cloud,
            base: self.base.clone(),
            prefix,
        }
    }

    /// `scheme://authority` as given.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The cloud.
    pub fn cloud(&self) -> Cloud {
        self.cloud
    }

    /// The object key of `rel` (a `/`-separated path relative to the output root).
    pub fn key(&self, rel: &str) -> Result<ObjectPath, BadUrl> {
        let full = if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        };
        ObjectPath::parse(&full).map_err(|e| BadUrl {
            url: self.url_of(rel),
            reason: format!("not a valid object key: {e}"),
        })
    }

    /// The prefix to list the whole output (`None` for a bucket's root).
    pub fn root_prefix(&self) -> Option<ObjectPath> {
        (!self.prefix.is_empty()).then(|| ObjectPath::parse(&self.prefix).unwrap_or_default())
    }

    /// The path of `key` relative to the output root, if it is below it.
    pub fn relative<'a>(&self, key: &'a ObjectPath) -> Option<&'a str> {
        let raw = key.as_ref();
        if self.prefix.is_empty() {
            Some(raw)
        } else {
            raw.strip_prefix(self.prefix.as_str())?.strip_prefix('/')
        }
    }

    /// The URL of `rel` below the root, for messages.
    pub fn url_of(&self, rel: &str) -> String {
        match (self.prefix.is_empty(), rel.is_empty()) {
            (true, _) => format!("{}/{rel}", self.base),
            (false, true) => format!("{}/{}", self.base, self.prefix),
            (false, false) => format!("{}/{}/{rel}", self.base, self.prefix),
        }
    }
}

impl Cloud {
    /// The cargo feature that builds this cloud's client.
    pub fn feature(self) -> &'static str {
        match self {
            Cloud::S3 => "s3",
            Cloud::Gcs => "gcs",
            Cloud::Azure => "azure",
        }
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url_of(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<StoreUrl>, String> {
        StoreUrl::parse(Path::new(s)).map_err(|e| e.to_string())
    }

    #[test]
    fn urls_name_a_cloud_a_bucket_and_a_prefix() {
        let u = parse("s3://bucket/a/b/").unwrap().unwrap();
        assert_eq!(u.cloud(), Cloud::S3);
        assert_eq!(
            u.key("x%2Ey/part-00000001.jsonl").unwrap().as_ref(),
            "a/b/x%2Ey/part-00000001.jsonl"
        );
        assert_eq!(u.to_string(), "s3://bucket/a/b");
        assert_eq!(u.url_of("_state.json"), "s3://bucket/a/b/_state.json");
        let root = parse("gs://bucket").unwrap().unwrap();
        assert_eq!(root.cloud(), Cloud::Gcs);
        assert_eq!(
            root.key("_manifest.jsonl").unwrap().as_ref(),
            "_manifest.jsonl"
        );
        assert_eq!(root.to_string(), "gs://bucket/");
        let az = parse("abfss://c@acct.dfs.core.windows.net/p")
            .unwrap()
            .unwrap();
        assert_eq!(
            (az.cloud(), az.to_string().as_str()),
            (Cloud::Azure, "abfss://c@acct.dfs.core.windows.net/p")
        );
        let key = u.key("s/part-1.jsonl").unwrap();
        assert_eq!(u.relative(&key), Some("s/part-1.jsonl"));
    }

    #[test]
    fn local_paths_and_file_urls_are_directories() {
        assert_eq!(parse("out/dir").unwrap(), None);
        assert_eq!(parse("file:///tmp/x").unwrap(), None);
        assert_eq!(
            local_path(Path::new("file:///tmp/x")),
            PathBuf::from("/tmp/x")
        );
        assert_eq!(local_path(Path::new("rel")), PathBuf::from("rel"));
    }

    #[test]
    fn unknown_schemes_and_missing_buckets_are_refused() {
        assert!(parse("http://host/x")
            .unwrap_err()
            .starts_with("--out http://host/x: unknown scheme"));
        assert_eq!(
            parse("s3:///x").unwrap_err(),
            "--out s3:///x: no bucket (container) after the scheme"
        );
    }
}
