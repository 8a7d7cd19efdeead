//! In-process transport tests: a server on port 0 and a plain hyper client.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::{serve, Fault, FaultConfig, RunningServer, ServerConfig};
use crate::engine::{Engine, EngineOptions};

const METRIC_HEADERS: [&str; 9] = [
    "x-compute-ops",
    "x-byte-read-ops",
    "x-byte-write-ops",
    "x-query-time",
    "x-query-bytes-in",
    "x-query-bytes-out",
    "x-storage-bytes-read",
    "x-storage-bytes-write",
    "x-txn-retries",
];

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn start(config: ServerConfig) -> RunningServer {
    let engine = Arc::new(Engine::new(EngineOptions::default()));
    serve(config.port(0), engine).await.expect("server starts")
}

/// Sends one request on a fresh connection.
async fn send(
    server: &RunningServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Reply, hyper::Error> {
    let stream = TcpStream::connect(server.addr()).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body))).expect("request");
    let res = sender.send_request(req).await?;
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await?.to_bytes();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

async fn get(server: &RunningServer, path: &str, headers: &[(&str, &str)]) -> Reply {
    send(server, "GET", path, headers, Vec::new())
        .await
        .expect("response")
}

fn header<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

fn assert_common_headers(r: &Reply, metrics: bool) {
    assert_eq!(
        header(r, "content-type"),
        Some("application/json;charset=utf-8")
    );
    assert!(header(r, "x-txn-time").is_some_and(|t| t.parse::<i64>().is_ok()));
    assert!(header(r, "x-faunadb-build").is_some());
    for name in METRIC_HEADERS {
        assert_eq!(
            r.headers.contains_key(name),
            metrics,
            "{name} on {}",
            r.status
        );
    }
}

#[tokio::test]
async fn ping_answers_without_auth() {
    let server = start(ServerConfig::new()).await;
    let r = get(&server, "/ping", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, r#"{"resource":"Scope write is OK"}"#);
    assert_common_headers(&r, true);
    assert_eq!(header(&r, "x-query-bytes-out"), Some("32"));
    let r = get(&server, "/ping?scope=read&timeout=10", &[]).await;
    assert_eq!(r.body, r#"{"resource":"Scope read is OK"}"#);
    let r = get(&server, "/ping?scope=node", &[]).await;
    assert_eq!(r.body, r#"{"resource":"Scope node is OK"}"#);
    let r = send(&server, "POST", "/ping", &[], Vec::new())
        .await
        .expect("response");
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&r, "allow"), Some("GET"));
    assert_eq!(
        r.body,
        r#"{"errors":[{"code":"method not allowed","description":"Allowed methods are GET."}]}"#
    );
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_path_is_404_before_auth() {
    let server = start(ServerConfig::new()).await;
    let r = get(&server, "/nope/deeper", &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.body,
        r#"{"errors":[{"code":"not found","description":"Not Found"}]}"#
    );
    assert_common_headers(&r, true);
    server.shutdown().await;
}

#[tokio::test]
async fn missing_or_malformed_auth_is_401() {
    let server = start(ServerConfig::new()).await;
    for headers in [
        &[][..],
        &[("authorization", "Token secret")][..],
        &[("authorization", "Basic !!")][..],
    ] {
        let r = send(&server, "POST", "/", headers, b"{\"now\":null}".to_vec())
            .await
            .expect("response");
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.body,
            r#"{"errors":[{"code":"unauthorized","description":"Unauthorized"}]}"#
        );
        assert_eq!(
            header(&r, "www-authenticate"),
            Some(r#"Basic realm="Unauthorized""#)
        );
        assert_common_headers(&r, false);
    }
    // Without a secret the method is never judged.
    let r = send(&server, "DELETE", "/", &[], Vec::new())
        .await
        .expect("response");
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    server.shutdown().await;
}

#[tokio::test]
async fn other_methods_on_root_are_405() {
    let server = start(ServerConfig::new()).await;
    for method in ["PUT", "DELETE", "PATCH"] {
        let r = send(
            &server,
            method,
            "/",
            &[("authorization", "Bearer secret")],
            Vec::new(),
        )
        .await
        .expect("response");
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(
            r.body,
            r#"{"errors":[{"code":"method not allowed","description":"Allowed methods are GET, POST."}]}"#
        );
        assert_eq!(header(&r, "allow"), Some("GET, POST"));
        assert_common_headers(&r, true);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_headers_are_400_bad_request() {
    let server = start(ServerConfig::new()).await;
    let cases = [
        (
            ("x-faunadb-api-version", "x"),
            "Invalid header 'x-faunadb-api-version': Unsupported or invalid API version 'x'.",
        ),
        (
            ("x-query-timeout", "600001"),
            "Invalid header 'x-query-timeout': Must be less than or equal to 600000.",
        ),
        (
            ("x-last-seen-txn", "later"),
            "Invalid header 'x-last-seen-txn': Invalid timestamp 'later'.",
        ),
        (
            ("x-max-retries-on-contention", "8"),
            "Invalid header 'x-max-retries-on-contention': Must be between 0 and 7.",
        ),
    ];
    for (h, description) in cases {
        let r = send(
            &server,
            "POST",
            "/",
            &[("authorization", "Bearer secret"), h],
            b"1".to_vec(),
        )
        .await
        .expect("response");
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            r.body,
            format!(r#"{{"errors":[{{"code":"bad request","description":"{description}"}}]}}"#)
        );
        assert_common_headers(&r, true);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn bodies_over_8_mib_are_413() {
    let server = start(ServerConfig::new()).await;
    let body = vec![b' '; super::MAX_BODY_BYTES + 1];
    let r = send(
        &server,
        "POST",
        "/",
        &[("authorization", "Bearer secret")],
        body,
    )
    .await
    .expect("response");
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.body,
        r#"{"errors":[{"code":"request too large","description":"Request entity is too large"}]}"#
    );
    assert_common_headers(&r, true);
    server.shutdown().await;
}

async fn faulty(kind: Fault) -> RunningServer {
    let faults = FaultConfig::new(1.0).expect("rate").kinds(&[kind]);
    start(ServerConfig::new().faults(faults)).await
}

#[tokio::test]
async fn injected_429() {
    let server = faulty(Fault::RateLimited).await;
    let auth = [
        ("authorization", "Bearer secret"),
        ("x-faunadb-api-version", "4"),
    ];
    let r = send(&server, "POST", "/", &auth, b"{\"now\":null}".to_vec())
        .await
        .expect("response");
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.body,
        r#"{"errors":[{"code":"too many requests","description":"Rate limit for read exceeded"}]}"#
    );
    assert_eq!(header(&r, "x-rate-limited-ops"), Some("read"));
    assert_common_headers(&r, true);
    // Health checks and unauthenticated requests are not faulted.
    assert_eq!(get(&server, "/ping", &[]).await.status, StatusCode::OK);
    assert_eq!(
        get(&server, "/?q=1", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    server.shutdown().await;
}

#[tokio::test]
async fn injected_413_only_for_pages_above_a_size_and_a_page_limit() {
    let faults = FaultConfig::new(1.0)
        .expect("rate")
        .kinds(&[Fault::TooLarge])
        .pages_above(100);
    let server = start(ServerConfig::new().faults(faults)).await;
    let auth = [
        ("authorization", "Bearer secret"),
        ("x-faunadb-api-version", "4"),
    ];
    let page = |n: u32| format!(r#"{{"paginate":{{"collections":null}},"size":{n}}}"#).into_bytes();
    let r = send(&server, "POST", "/", &auth, page(101))
        .await
        .expect("response");
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.body,
        r#"{"errors":[{"code":"request too large","description":"Request entity is too large"}]}"#
    );
    assert_common_headers(&r, true);
    let r = send(&server, "POST", "/", &auth, page(100))
        .await
        .expect("response");
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, r#"{"resource":{"data":[]}}"#)
    );
    server.shutdown().await;

    let limit = FaultConfig::new(0.0).expect("rate").max_page_items(10);
    let server = start(ServerConfig::new().faults(limit)).await;
    let r = send(&server, "POST", "/", &auth, page(11))
        .await
        .expect("response");
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.body,
        r#"{"errors":[{"code":"time out","description":"Read timed out"}]}"#
    );
    let r = send(&server, "POST", "/", &auth, page(10))
        .await
        .expect("response");
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(server.faults_injected(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn injected_503() {
    let server = faulty(Fault::TimedOut).await;
    let r = get(
        &server,
        "/?q=%7B%22now%22%3Anull%7D",
        &[("authorization", "Bearer secret")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.body,
        r#"{"errors":[{"code":"time out","description":"Read timed out"}]}"#
    );
    assert_eq!(header(&r, "x-rate-limited-ops"), None);
    assert_common_headers(&r, true);
    server.shutdown().await;
}

#[tokio::test]
async fn injected_drop_closes_the_connection() {
    let server = faulty(Fault::Dropped).await;
    let r = send(
        &server,
        "POST",
        "/",
        &[("authorization", "Bearer secret")],
        b"1".to_vec(),
    )
    .await;
    let err = r.err().expect("no response");
    assert!(err.is_incomplete_message() || err.is_closed(), "{err:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let server = start(ServerConfig::new()).await;
    let stream = TcpStream::connect(server.addr()).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    for _ in 0..3 {
        let req = Request::get("/ping")
            .header("host", "localhost")
            .body(Full::new(Bytes::new()))
            .expect("request");
        let res = sender.send_request(req).await.expect("response");
        assert_eq!(res.status(), StatusCode::OK);
        res.into_body().collect().await.expect("body");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_releases_the_port() {
    let server = start(ServerConfig::new()).await;
    let addr = server.addr();
    server.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn http2_with_prior_knowledge() {
    let server = start(ServerConfig::new()).await;
    let stream = TcpStream::connect(server.addr()).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(stream),
    )
    .await
    .expect("handshake");
    tokio::spawn(conn);
    for path in ["/ping", "/nope"] {
        let req = Request::get(format!("http://localhost{path}"))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let res = sender.send_request(req).await.expect("response");
        let status = res.status();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        match path {
            "/ping" => {
                assert_eq!(status, StatusCode::OK);
                assert_eq!(&body[..], br#"{"resource":"Scope write is OK"}"#);
            }
            _ => assert_eq!(status, StatusCode::NOT_FOUND),
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn query_tags_are_validated_and_echoed() {
    let server = start(ServerConfig::new()).await;
    let r = get(&server, "/ping", &[("x-fauna-tags", "team=sync,run=7")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(header(&r, "x-fauna-tags"), Some("run=7,team=sync"));
    let r = get(&server, "/ping", &[("x-fauna-tags", "team=a b")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body,
        r#"{"errors":[{"code":"bad request","description":"Invalid header 'x-fauna-tags': invalid tags"}]}"#
    );
    server.shutdown().await;
}

#[tokio::test]
async fn latency_delays_every_response() {
    let latency = std::time::Duration::from_millis(60);
    let server = start(ServerConfig::new().latency(latency)).await;
    for path in ["/ping", "/nope"] {
        let started = std::time::Instant::now();
        let r = get(&server, path, &[]).await;
        assert!(started.elapsed() >= latency, "{path} answered early");
        assert_common_headers(&r, true);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn requests_in_flight_finish_during_shutdown() {
    let latency = std::time::Duration::from_millis(200);
    let server = start(ServerConfig::new().latency(latency)).await;
    let addr = server.addr();
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let req = Request::get("/ping")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let pending = tokio::spawn(sender.send_request(req));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    server.shutdown().await;
    let res = pending.await.expect("task").expect("response");
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn queries_past_x_query_timeout_are_503() {
    let engine = Arc::new(Engine::new(EngineOptions {
        eval_delay: std::time::Duration::from_millis(20),
        ..EngineOptions::default()
    }));
    let server = serve(ServerConfig::new().port(0), engine)
        .await
        .expect("server starts");
    let auth = ("authorization", "Bearer secret");
    let version = ("x-faunadb-api-version", "4");
    let r = send(
        &server,
        "POST",
        "/",
        &[auth, version, ("x-query-timeout", "1")],
        b"1".to_vec(),
    )
    .await
    .expect("response");
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.body,
        r#"{"errors":[{"code":"time out","description":"Read timed out (Query eval has timed out.)"}]}"#
    );
    assert_common_headers(&r, true);
    // Ten minutes is more than the 20 ms of evaluation.
    let r = send(
        &server,
        "POST",
        "/",
        &[auth, version, ("x-query-timeout", "600000")],
        b"1".to_vec(),
    )
    .await
    .expect("response");
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, r#"{"resource":1}"#)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn get_queries_are_read_only() {
    let server = start(ServerConfig::new()).await;
    let auth = ("authorization", "Bearer secret");
    let version = ("x-faunadb-api-version", "4");
    let create =
        "/?q=%7B%22create_collection%22%3A%7B%22object%22%3A%7B%22name%22%3A%22c%22%7D%7D%7D";
    let r = get(&server, create, &[auth, version]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":[],"code":"invalid expression","description":"Call performs a write, which is not allowed in get requests."}]}"#
    );
    let exists = "/?q=%7B%22exists%22%3A%7B%22collection%22%3A%22c%22%7D%7D";
    let r = get(&server, exists, &[auth, version]).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, r#"{"resource":false}"#)
    );
    server.shutdown().await;
}
