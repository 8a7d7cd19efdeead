//! Turning a status and JSON body into an HTTP response with the FQL v4 response headers.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use crate::engine::Metrics;

/// `Content-Type` of every response.
pub(crate) const JSON: &str = "application/json;charset=utf-8";

/// Value of `x-faunadb-build`.
pub(crate) const BUILD: &str = concat!("fauna-dev-", env!("CARGO_PKG_VERSION"));

/// A response before the common headers are added.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    /// `None`: use the server's latest transaction time.
    pub(crate) txn_time: Option<i64>,
    pub(crate) metrics: Metrics,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
}

impl Reply {
    /// An engine answer.
    pub(crate) fn engine(status: u16, body: String, txn_time: i64, metrics: Metrics) -> Self {
        Reply {
            status,
            body: Bytes::from(body),
            txn_time: Some(txn_time),
            metrics,
            headers: Vec::new(),
        }
    }

    /// A successful `{"resource": "<text>"}`.
    pub(crate) fn resource_str(text: &str) -> Self {
        let mut body = String::from(r#"{"resource":"#);
        push_json_str(&mut body, text);
        body.push('}');
        Self::transport(200, body)
    }

    /// A protocol error: `{"errors":[{"code":…,"description":…}]}` without `position`.
    pub(crate) fn plain_error(status: u16, code: &str, description: &str) -> Self {
        let mut body = String::from(r#"{"errors":[{"code":"#);
        push_json_str(&mut body, code);
        body.push_str(r#","description":"#);
        push_json_str(&mut body, description);
        body.push_str("}]}");
        Self::transport(status, body)
    }

    /// `404 not found` for unknown paths.
    pub(crate) fn not_found() -> Self {
        Self::plain_error(404, "not found", "Not Found")
    }

    /// `401 unauthorized` with `WWW-Authenticate`.
    pub(crate) fn unauthorized() -> Self {
        Self::plain_error(401, "unauthorized", "Unauthorized")
    }

    /// `405 method not allowed` "Allowed methods are GET, POST." with `Allow: GET, POST`.
    pub(crate) fn method_not_allowed(allow: &'static str) -> Self {
        Self::plain_error(
            405,
            "method not allowed",
            &format!("Allowed methods are {allow}."),
        )
        .with_header(hyper::header::ALLOW, HeaderValue::from_static(allow))
    }

    /// Adds a header.
    pub(crate) fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    fn transport(status: u16, body: String) -> Self {
        Reply {
            status,
            body: Bytes::from(body),
            txn_time: None,
            metrics: Metrics::default(),
            headers: Vec::new(),
        }
    }
}

/// What [`finish`] needs besides the reply.
pub(crate) struct Finish {
    pub(crate) txn_time: i64,
    pub(crate) query_time_ms: u64,
    pub(crate) bytes_in: usize,
    pub(crate) gzip: bool,
}

/// Builds the HTTP response: content type, `x-txn-time`, `x-faunadb-build`, the metric headers
/// (not on 401 and 500), `WWW-Authenticate` on 401, and gzip when negotiated.
pub(crate) fn finish(reply: Reply, ctx: &Finish) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let bytes_out = reply.body.len();
    let (body, gzipped) = match ctx
        .gzip
        .then(|| super::gzip::compress(&reply.body))
        .flatten()
    {
        Some(packed) => (Bytes::from(packed), true),
        None => (reply.body, false),
    };
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    if gzipped {
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert("x-txn-time", HeaderValue::from(ctx.txn_time));
    h.insert("x-faunadb-build", HeaderValue::from_static(BUILD));
    if status == StatusCode::UNAUTHORIZED {
        h.insert(
            hyper::header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="Unauthorized""#),
        );
    }
    if status != StatusCode::UNAUTHORIZED && status != StatusCode::INTERNAL_SERVER_ERROR {
        let m = &reply.metrics;
        h.insert("x-compute-ops", HeaderValue::from(m.compute_ops));
        h.insert("x-byte-read-ops", HeaderValue::from(m.byte_read_ops));
        h.insert("x-byte-write-ops", HeaderValue::from(m.byte_write_ops));
        h.insert("x-query-time", HeaderValue::from(ctx.query_time_ms));
        h.insert("x-query-bytes-in", HeaderValue::from(ctx.bytes_in));
        h.insert("x-query-bytes-out", HeaderValue::from(bytes_out));
        h.insert(
            "x-storage-bytes-read",
            HeaderValue::from(m.storage_bytes_read),
        );
        h.insert(
            "x-storage-bytes-write",
            HeaderValue::from(m.storage_bytes_write),
        );
        h.insert("x-txn-retries", HeaderValue::from_static("0"));
    }
    for (name, value) in reply.headers {
        h.insert(name, value);
    }
    res
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, r#""a\"b\\c\n\u0001é""#);
    }

    #[test]
    fn plain_error_body() {
        let r = Reply::plain_error(413, "request too large", "Request entity is too large");
        assert_eq!(
            &r.body[..],
            br#"{"errors":[{"code":"request too large","description":"Request entity is too large"}]}"#
        );
    }
}
