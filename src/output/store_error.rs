//! What an object-store failure means, in the user's terms: a bucket (container) that does not
//! exist, no credentials, credentials the store rejects, a permission the credentials lack — each
//! with what to do — or anything else (a network failure, a 5xx), which a re-run may get past.
//!
//! The `object_store` crate reports most of these as HTTP errors with the store's XML body; the
//! store's error code (`<Code>NoSuchBucket</Code>`) says which. Credentials that cannot be found
//! are recognised by [`CredentialsUnavailable`], which [`tag_credentials`] wraps around every
//! failure of the store's credential chain. Messages name the object URL, never a credential.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use object_store::CredentialProvider;

use crate::error::ErrorKind;

/// A failure of the store's credential chain (none in the environment, and no instance,
/// container or web identity gave any).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CredentialsUnavailable(String);

/// A credential provider whose failures are [`CredentialsUnavailable`].
#[cfg_attr(
    not(any(feature = "s3", feature = "gcs", feature = "azure")),
    allow(dead_code)
)]
struct Tagged<T> {
    inner: Arc<dyn CredentialProvider<Credential = T>>,
}

impl<T> std::fmt::Debug for Tagged<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tagged")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<T: Send + Sync + 'static> CredentialProvider for Tagged<T> {
    type Credential = T;

    fn get_credential<'life0, 'async_trait>(
        &'life0 self,
    ) -> Pin<Box<dyn Future<Output = object_store::Result<Arc<T>>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.inner
                .get_credential()
                .await
                .map_err(|e| object_store::Error::Generic {
                    store: "credentials",
                    source: Box::new(CredentialsUnavailable(scrub(&e.to_string()))),
                })
        })
    }
}

/// `provider` with its failures marked as missing credentials.
#[cfg_attr(
    not(any(feature = "s3", feature = "gcs", feature = "azure")),
    allow(dead_code)
)]
pub(crate) fn tag_credentials<T: Send + Sync + 'static>(
    provider: Arc<dyn CredentialProvider<Credential = T>>,
) -> Arc<dyn CredentialProvider<Credential = T>> {
    Arc::new(Tagged { inner: provider })
}

/// The operation of building the store's client ([`super::StoreUrl::connect`]).
pub(crate) const CONNECT: &str = "connect to";

/// What a failed object-store request means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreProblem {
    /// The bucket (container) does not exist: the store's code, if it sent one.
    NoBucket(Option<String>),
    /// No credentials were found; why the last source failed.
    NoCredentials(String),
    /// The store rejected the credentials (an unknown key, a wrong secret, an expired token).
    BadCredentials(String),
    /// The credentials lack a permission.
    Denied(String),
    /// The client could not be set up from the URL and the environment (a missing account, a
    /// malformed variable).
    Setup,
    /// Anything else: a network failure, a 5xx, a throttled request.
    Other,
}

impl StoreProblem {
    /// Reads `e`, from an operation `op` (`upload`, `list`, `read the manifest`, …). A
    /// not-found answer to a write or a listing can only mean a missing bucket.
    pub fn of(op: &str, e: &object_store::Error) -> StoreProblem {
        if op == CONNECT {
            return StoreProblem::Setup;
        }
        if let Some(c) = find_source::<CredentialsUnavailable>(e) {
            return StoreProblem::NoCredentials(short_cause(&c.0));
        }
        let text = full_text(e);
        let code = store_code(&text);
        match code.as_deref() {
            Some("NoSuchBucket" | "ContainerNotFound") => return StoreProblem::NoBucket(code),
            Some(
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "InvalidToken"
                | "TokenRefreshRequired"
                | "AuthenticationFailed"
                | "InvalidAuthenticationInfo",
            ) => return StoreProblem::BadCredentials(code.unwrap_or_default()),
            Some(
                c @ ("AccessDenied"
                | "AllAccessDisabled"
                | "AuthorizationFailure"
                | "AuthorizationPermissionMismatch"),
            ) => return StoreProblem::Denied(c.to_string()),
            _ => {}
        }
        if text.contains("The specified bucket does not exist") {
            return StoreProblem::NoBucket(code);
        }
        match e {
            object_store::Error::NotFound { .. } if writes_or_lists(op) => {
                StoreProblem::NoBucket(code)
            }
            object_store::Error::Unauthenticated { .. } => {
                StoreProblem::BadCredentials(code.unwrap_or_else(|| "HTTP 401".into()))
            }
            object_store::Error::PermissionDenied { .. } => {
                StoreProblem::Denied(code.unwrap_or_else(|| "HTTP 403".into()))
            }
            _ => StoreProblem::Other,
        }
    }

    /// The kind: configuration for a missing bucket and for credentials (exit 2), permission
    /// for a lacking privilege; anything else is an output failure a re-run may get past.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreProblem::NoBucket(_)
            | StoreProblem::NoCredentials(_)
            | StoreProblem::BadCredentials(_)
            | StoreProblem::Setup => ErrorKind::Config,
            StoreProblem::Denied(_) => ErrorKind::Permission,
            StoreProblem::Other => ErrorKind::Output,
        }
    }
}

/// The message of a failed `op` on the object `url`.
pub fn describe(op: &str, url: &str, e: &object_store::Error) -> String {
    let store = Store::of(url);
    match StoreProblem::of(op, e) {
        StoreProblem::NoBucket(code) => format!(
            "cannot {op} {url}: the {} '{}' does not exist{}; check the {} name in --out{}, or create it",
            store.bucket_word(),
            bucket_of(url),
            code.map(|c| format!(" ({c})")).unwrap_or_default(),
            store.bucket_word(),
            store.endpoint_hint(),
        ),
        StoreProblem::NoCredentials(cause) => format!(
            "cannot {op} {url}: no {} credentials found ({cause}); {}",
            store.name(),
            store.credentials_hint()
        ),
        StoreProblem::BadCredentials(code) => format!(
            "cannot {op} {url}: {} rejected the credentials ({code}); {}",
            store.name(),
            store.check_credentials_hint()
        ),
        StoreProblem::Denied(code) => format!(
            "cannot {op} {url}: the credentials may not do that ({code}); {}",
            store.grant_hint(op, url)
        ),
        StoreProblem::Setup => scrub(&format!(
            "cannot {op} {url}: {e}; check --out and the {} variables of the environment",
            store.name()
        )),
        StoreProblem::Other => scrub(&format!("cannot {op} {url}: {e}")),
    }
}

/// The store a URL names, for wording and advice.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Store {
    S3,
    Gcs,
    Azure,
}

impl Store {
    fn of(url: &str) -> Store {
        match url.split("://").next().unwrap_or_default() {
            "gs" | "gcs" => Store::Gcs,
            "az" | "azure" | "abfs" | "abfss" | "adl" => Store::Azure,
            _ => Store::S3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Store::S3 => "S3",
            Store::Gcs => "Google Cloud Storage",
            Store::Azure => "Azure",
        }
    }

    fn bucket_word(self) -> &'static str {
        match self {
            Store::Azure => "container",
            _ => "bucket",
        }
    }

    fn endpoint_hint(self) -> &'static str {
        match self {
            Store::S3 => " (and AWS_ENDPOINT_URL for an S3-compatible server)",
            Store::Gcs => "",
            Store::Azure => " (and AZURE_STORAGE_ACCOUNT_NAME)",
        }
    }

    fn credentials_hint(self) -> &'static str {
        match self {
            Store::S3 => "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, or run where an instance or container role provides them",
            Store::Gcs => "set GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_SERVICE_ACCOUNT) to a service account key file, or run where a service account provides them",
            Store::Azure => "set AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY (or AZURE_STORAGE_SAS_KEY, or AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID), or run where a managed identity provides them",
        }
    }

    fn check_credentials_hint(self) -> &'static str {
        match self {
            Store::S3 => "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN, which expires), and that they belong to the account and endpoint of the bucket",
            Store::Gcs => "check GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_SERVICE_ACCOUNT): the key file may be revoked or of another project",
            Store::Azure => "check AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY (or the SAS key, which expires, or the client secret)",
        }
    }

    /// What to grant for `op` on `url`, and everything a run needs.
    fn grant_hint(self, op: &str, url: &str) -> String {
        let bucket = bucket_of(url);
        match self {
            Store::S3 => {
                let action = if op.starts_with("read") || op.starts_with("download") {
                    "s3:GetObject"
                } else if op.starts_with("list") {
                    "s3:ListBucket"
                } else if op.starts_with("delete") {
                    "s3:DeleteObject"
                } else {
                    "s3:PutObject"
                };
                format!(
                    "grant them {action} (a run needs s3:GetObject, s3:PutObject and s3:DeleteObject on arn:aws:s3:::{bucket}/<prefix>/* and s3:ListBucket on arn:aws:s3:::{bucket}; verify needs s3:GetObject and s3:ListBucket)"
                )
            }
            Store::Gcs => format!(
                "grant them roles/storage.objectAdmin on the bucket '{bucket}' (objects get, create, delete and list; verify needs roles/storage.objectViewer)"
            ),
            Store::Azure => format!(
                "grant them the Storage Blob Data Contributor role on the container '{bucket}' (verify needs Storage Blob Data Reader)"
            ),
        }
    }
}

/// Whether `op` writes or lists (a not-found answer to it can only mean a missing bucket), as
/// opposed to reading one object, which may just not exist.
fn writes_or_lists(op: &str) -> bool {
    const WRITES: [&str; 8] = [
        "upload",
        "write",
        "create",
        "start the upload",
        "finish the upload",
        "take over",
        "renew",
        "list",
    ];
    WRITES.iter().any(|w| op.starts_with(w))
}

/// The bucket (container) of a store URL: `s3://b/p` → `b`, `abfss://c@acct.dfs…/p` → `c`.
fn bucket_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    authority.split('@').next().unwrap_or(authority)
}

/// The error and all its sources, as text.
fn full_text(e: &object_store::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(" | ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The first source of `e` (itself included) of type `T`.
fn find_source<T: std::error::Error + 'static>(e: &object_store::Error) -> Option<&T> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

/// The store's error code in an XML error body (`<Code>NoSuchBucket</Code>`).
fn store_code(text: &str) -> Option<String> {
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    let code = &text[start..start + len];
    (!code.is_empty() && code.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| code.into())
}

/// A short cause of a credential failure: the HTTP status the last source answered
/// (`HTTP 403 Forbidden from http://169.254.169.254`), else its last words.
fn short_cause(text: &str) -> String {
    let from = text
        .find("Error performing ")
        .and_then(|i| text[i..].split_whitespace().nth(3))
        .map(|u| {
            format!(
                " from {}",
                u.split('/').take(3).collect::<Vec<_>>().join("/")
            )
        })
        .unwrap_or_default();
    if let Some(i) = text.find("status code: ") {
        let status: String = text[i + "status code: ".len()..]
            .chars()
            .take_while(|c| *c != ':')
            .collect();
        return format!("HTTP {}{from}", status.trim());
    }
    let last = text.rsplit(" - ").next().unwrap_or(text).trim();
    let last: String = last.chars().take(200).collect();
    format!("{last}{from}")
}

/// Environment variables whose values are secrets.
const SECRET_VARS: [&str; 8] = [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
];

/// `text` with the value of every secret variable of the environment replaced by `***`.
pub(crate) fn scrub(text: &str) -> String {
    let values: Vec<String> = SECRET_VARS
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .collect();
    scrub_values(text, &values)
}

/// `text` with each of `values` (of at least 4 bytes) replaced by `***`.
fn scrub_values(text: &str, values: &[String]) -> String {
    let mut text = text.to_string();
    for value in values.iter().filter(|v| v.len() >= 4) {
        text = text.replace(value.as_str(), "***");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: &str, body: &str) -> String {
        format!("Error performing PUT http://127.0.0.1:9000/b/p/_lock in 3ms - Server returned non-2xx status code: {status}: {body}")
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Text(String);

    fn not_found(body: &str) -> object_store::Error {
        object_store::Error::NotFound {
            path: "p/_lock".into(),
            source: Box::new(Text(http("404 Not Found", body))),
        }
    }

    fn generic(text: String) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: Box::new(Text(text)),
        }
    }

    #[test]
    fn a_missing_bucket_is_named_with_what_to_do() {
        let e = not_found("<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>");
        assert_eq!(
            StoreProblem::of("read", &e),
            StoreProblem::NoBucket(Some("NoSuchBucket".into()))
        );
        assert_eq!(
            describe("create the lease", "s3://nobucket/p/_lock", &e),
            "cannot create the lease s3://nobucket/p/_lock: the bucket 'nobucket' does not exist (NoSuchBucket); check the bucket name in --out (and AWS_ENDPOINT_URL for an S3-compatible server), or create it"
        );
        // A listing (Generic in object_store) and an Azure container.
        let listed = generic(http(
            "404 Not Found",
            "<Error><Code>ContainerNotFound</Code></Error>",
        ));
        assert_eq!(
            describe("list", "az://cont/p", &listed),
            "cannot list az://cont/p: the container 'cont' does not exist (ContainerNotFound); check the container name in --out (and AZURE_STORAGE_ACCOUNT_NAME), or create it"
        );
        assert_eq!(StoreProblem::of("list", &listed).kind(), ErrorKind::Config);
        // A not-found object on a read is not a missing bucket; on a write it can only be.
        let bare = not_found("");
        for op in ["read the manifest", "download the id set file", "delete"] {
            assert_eq!(StoreProblem::of(op, &bare), StoreProblem::Other, "{op}");
        }
        for op in ["upload", "write the state", "create the lease", "list"] {
            assert_eq!(
                StoreProblem::of(op, &bare),
                StoreProblem::NoBucket(None),
                "{op}"
            );
        }
    }

    #[test]
    fn credentials_problems_say_which_variables_to_set_or_check() {
        let missing = object_store::Error::Generic {
            store: "credentials",
            source: Box::new(CredentialsUnavailable(
                "Generic S3 error: ".to_string()
                    + &http("403 Forbidden", "").replace(
                        "127.0.0.1:9000/b/p/_lock",
                        "169.254.169.254/latest/api/token",
                    ),
            )),
        };
        assert_eq!(
            describe("create the lease", "s3://b/p/_lock", &missing),
            "cannot create the lease s3://b/p/_lock: no S3 credentials found (HTTP 403 Forbidden from http://169.254.169.254); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, or run where an instance or container role provides them"
        );
        assert_eq!(StoreProblem::of("x", &missing).kind(), ErrorKind::Config);
        let rejected = object_store::Error::PermissionDenied {
            path: "p/_lock".into(),
            source: Box::new(Text(http(
                "403 Forbidden",
                "<Error><Code>InvalidAccessKeyId</Code></Error>",
            ))),
        };
        assert_eq!(
            describe("create the lease", "s3://b/p/_lock", &rejected),
            "cannot create the lease s3://b/p/_lock: S3 rejected the credentials (InvalidAccessKeyId); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN, which expires), and that they belong to the account and endpoint of the bucket"
        );
    }

    #[test]
    fn a_lacking_permission_names_the_action_to_grant() {
        let denied = object_store::Error::PermissionDenied {
            path: "p/_lock".into(),
            source: Box::new(Text(http(
                "403 Forbidden",
                "<Error><Code>AccessDenied</Code></Error>",
            ))),
        };
        assert_eq!(
            StoreProblem::of("upload", &denied).kind(),
            ErrorKind::Permission
        );
        assert_eq!(
            describe("upload", "s3://b/p/things/part-00000001.jsonl", &denied),
            "cannot upload s3://b/p/things/part-00000001.jsonl: the credentials may not do that (AccessDenied); grant them s3:PutObject (a run needs s3:GetObject, s3:PutObject and s3:DeleteObject on arn:aws:s3:::b/<prefix>/* and s3:ListBucket on arn:aws:s3:::b; verify needs s3:GetObject and s3:ListBucket)"
        );
        assert!(describe("list", "gs://g/p", &denied).ends_with(
            "grant them roles/storage.objectAdmin on the bucket 'g' (objects get, create, delete and list; verify needs roles/storage.objectViewer)"
        ));
    }

    #[test]
    fn other_failures_keep_their_text_without_secrets() {
        let e = generic("503 Slow Down".into());
        assert_eq!(StoreProblem::of("upload", &e), StoreProblem::Other);
        assert_eq!(StoreProblem::of("upload", &e).kind(), ErrorKind::Output);
        assert_eq!(
            describe("upload", "az://c/p/x", &e),
            "cannot upload az://c/p/x: Generic S3 error: 503 Slow Down"
        );
        assert_eq!(
            scrub_values(
                "GET /c/x?sv=2024&sig=SECRETSIG failed (key abc)",
                &["sv=2024&sig=SECRETSIG".into(), "abc".into()]
            ),
            "GET /c/x?*** failed (key abc)"
        );
    }
}
