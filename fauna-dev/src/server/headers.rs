//! Validation of the FQL v4 request headers, with the real server's exact error texts.
//!
//! Checked in the server's order: `X-FaunaDB-API-Version`, `X-Last-Seen-Txn`,
//! `X-Query-Timeout`, `X-Max-Retries-On-Contention`, `x-fauna-tags`; the first invalid one is
//! reported as `400 bad request` "Invalid header '<name>': <reason>".

use std::fmt;
use std::time::Duration;

use hyper::header::HeaderMap;

use super::tags;

/// API versions the server accepts, spelled exactly as in the header.
pub const API_VERSIONS: [&str; 8] = ["2.0", "2.1", "2.7", "2.12", "3", "4", "5", "UNSTABLE"];

/// The version used when the header is absent.
pub const DEFAULT_API_VERSION: &str = "2.1";

/// Largest `X-Query-Timeout` in milliseconds.
pub const MAX_QUERY_TIMEOUT_MS: i64 = 600_000;

const API_VERSION: &str = "x-faunadb-api-version";
const LAST_SEEN_TXN: &str = "x-last-seen-txn";
const QUERY_TIMEOUT: &str = "x-query-timeout";
const MAX_RETRIES: &str = "x-max-retries-on-contention";

/// The validated request parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestParams {
    /// One of [`API_VERSIONS`].
    pub api_version: &'static str,
    /// `X-Last-Seen-Txn` in microseconds.
    pub last_seen_txn: Option<i64>,
    /// `X-Query-Timeout`.
    pub query_timeout: Option<Duration>,
    /// `X-Max-Retries-On-Contention`.
    pub max_retries_on_contention: Option<u8>,
    /// `x-fauna-tags` as the response echoes it.
    pub tags: Option<String>,
}

/// A header that failed validation; `Display` gives the server's description.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct InvalidHeader {
    /// The lower-case header name.
    pub header: &'static str,
    /// Why it is invalid, e.g. "Must be greater than 0.".
    pub reason: String,
}

impl fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid header '{}': {}", self.header, self.reason)
    }
}

/// Validates the request headers.
pub fn parse(headers: &HeaderMap) -> Result<RequestParams, InvalidHeader> {
    let api_version = match text(headers, API_VERSION) {
        None => DEFAULT_API_VERSION,
        Some(v) => API_VERSIONS
            .iter()
            .copied()
            .find(|known| *known == v)
            .ok_or_else(|| {
                invalid(
                    API_VERSION,
                    format!("Unsupported or invalid API version '{v}'."),
                )
            })?,
    };
    let last_seen_txn = text(headers, LAST_SEEN_TXN)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| invalid(LAST_SEEN_TXN, format!("Invalid timestamp '{v}'.")))
        })
        .transpose()?;
    let query_timeout = text(headers, QUERY_TIMEOUT)
        .map(|v| timeout(&v))
        .transpose()?;
    let max_retries_on_contention = text(headers, MAX_RETRIES)
        .map(|v| retries(&v))
        .transpose()?;
    let tags = match text(headers, tags::HEADER) {
        None => None,
        Some(v) => tags::parse(&v).map_err(|e| invalid(tags::HEADER, e.into()))?,
    };
    Ok(RequestParams {
        api_version,
        last_seen_txn,
        query_timeout,
        max_retries_on_contention,
        tags,
    })
}

fn timeout(v: &str) -> Result<Duration, InvalidHeader> {
    let ms = v
        .parse::<i64>()
        .map_err(|_| invalid(QUERY_TIMEOUT, format!("Invalid number '{v}'.")))?;
    if ms <= 0 {
        return Err(invalid(QUERY_TIMEOUT, "Must be greater than 0.".into()));
    }
    if ms > MAX_QUERY_TIMEOUT_MS {
        return Err(invalid(
            QUERY_TIMEOUT,
            format!("Must be less than or equal to {MAX_QUERY_TIMEOUT_MS}."),
        ));
    }
    Ok(Duration::from_millis(ms.unsigned_abs()))
}

fn retries(v: &str) -> Result<u8, InvalidHeader> {
    let n = v
        .parse::<i32>()
        .map_err(|_| invalid(MAX_RETRIES, format!("Invalid number '{v}'.")))?;
    u8::try_from(n)
        .ok()
        .filter(|n| *n <= 7)
        .ok_or_else(|| invalid(MAX_RETRIES, "Must be between 0 and 7.".into()))
}

/// The header's value as text (non-UTF-8 bytes replaced), if present.
fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
}

fn invalid(header: &'static str, reason: String) -> InvalidHeader {
    InvalidHeader { header, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn with(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn err(pairs: &[(&'static str, &'static str)]) -> String {
        match parse(&with(pairs)) {
            Ok(p) => panic!("expected an error, got {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_when_absent() {
        assert_eq!(
            parse(&HeaderMap::new()),
            Ok(RequestParams {
                api_version: "2.1",
                last_seen_txn: None,
                query_timeout: None,
                max_retries_on_contention: None,
                tags: None,
            })
        );
    }

    #[test]
    fn accepts_every_known_version_and_valid_values() {
        for v in API_VERSIONS {
            let mut h = HeaderMap::new();
            h.insert(API_VERSION, HeaderValue::from_static(v));
            assert_eq!(parse(&h).map(|p| p.api_version), Ok(v));
        }
        let p = parse(&with(&[
            ("x-faunadb-api-version", "4"),
            ("x-last-seen-txn", "1658188683585000"),
            ("x-query-timeout", "600000"),
            ("x-max-retries-on-contention", "7"),
            ("x-fauna-tags", "a=1,b_2=x"),
        ]));
        assert_eq!(
            p,
            Ok(RequestParams {
                api_version: "4",
                last_seen_txn: Some(1_658_188_683_585_000),
                query_timeout: Some(Duration::from_millis(600_000)),
                max_retries_on_contention: Some(7),
                tags: Some("b_2=x,a=1".into()),
            })
        );
    }

    #[test]
    fn rejects_with_the_server_texts() {
        assert_eq!(
            err(&[("x-faunadb-api-version", "x")]),
            "Invalid header 'x-faunadb-api-version': Unsupported or invalid API version 'x'."
        );
        assert_eq!(
            err(&[("x-faunadb-api-version", "4.0")]),
            "Invalid header 'x-faunadb-api-version': Unsupported or invalid API version '4.0'."
        );
        assert_eq!(
            err(&[("x-last-seen-txn", "soon")]),
            "Invalid header 'x-last-seen-txn': Invalid timestamp 'soon'."
        );
        assert_eq!(
            err(&[("x-query-timeout", "600001")]),
            "Invalid header 'x-query-timeout': Must be less than or equal to 600000."
        );
        assert_eq!(
            err(&[("x-query-timeout", "0")]),
            "Invalid header 'x-query-timeout': Must be greater than 0."
        );
        assert_eq!(
            err(&[("x-query-timeout", "1.5")]),
            "Invalid header 'x-query-timeout': Invalid number '1.5'."
        );
        assert_eq!(
            err(&[("x-max-retries-on-contention", "8")]),
            "Invalid header 'x-max-retries-on-contention': Must be between 0 and 7."
        );
        assert_eq!(
            err(&[("x-max-retries-on-contention", "-1")]),
            "Invalid header 'x-max-retries-on-contention': Must be between 0 and 7."
        );
        assert_eq!(
            err(&[("x-fauna-tags", "a=1,b")]),
            "Invalid header 'x-fauna-tags': invalid tags"
        );
        assert_eq!(
            err(&[("x-max-retries-on-contention", "lots")]),
            "Invalid header 'x-max-retries-on-contention': Invalid number 'lots'."
        );
    }

    #[test]
    fn reports_the_first_invalid_header_in_server_order() {
        assert_eq!(
            err(&[("x-query-timeout", "0"), ("x-faunadb-api-version", "9")]),
            "Invalid header 'x-faunadb-api-version': Unsupported or invalid API version '9'."
        );
    }
}
