//! Adaptive page sizes and the AIMD concurrency limit against fauna-dev: pages grow from the
//! configured size, shrink and are asked again on query time outs and 413s, stay put when
//! pinned, and 429s halve the limit of queries in flight. Every run reads exactly the records.
//!
//! The clients' page time target is an hour, so page sizes follow only from items, bytes and
//! failures, never from how fast this machine is.

use std::time::Duration;

use fauna_dev::engine::EngineOptions;
use fauna_dev::server::{Fault, FaultConfig, ServerConfig};
use fauna_sync::config::CollectionSettings;
use fauna_sync::fauna::pacing::PacerStats;
use fauna_sync::fauna::{ClientOptions, FaunaClient, RetryPolicy, Secret};
use fauna_sync::read::{Documents, Reader};

use crate::support::{numbered_docs, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "c", "history_days": null}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

fn settings(page_size: u32, fixed: bool) -> CollectionSettings {
    CollectionSettings {
        name: "c".into(),
        index: None,
        data_column: true,
        columns: vec![],
        page_size,
        page_size_fixed: fixed,
        deletion_column: None,
        history_gap: Default::default(),
        typed: false,
        contract: None,
    }
}

fn client(url: &str, max_retries: usize) -> FaunaClient {
    let client = FaunaClient::new(ClientOptions {
        endpoint: url.into(),
        secret: Secret::new("fnTestServer"),
        query_timeout: Duration::from_secs(30),
        retry: RetryPolicy {
            max_retries,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
    })
    .unwrap();
    client.set_page_time_target(Duration::from_secs(3600));
    client
}

async fn fixture(docs: i64, config: ServerConfig) -> Fixture {
    Fixture::start_with(
        SCHEMA,
        &[("c", numbered_docs(docs))],
        EngineOptions::default(),
        config,
    )
    .await
}

/// The ids of every document read from the start, page after page.
async fn read_all(client: &FaunaClient, s: &CollectionSettings) -> Vec<String> {
    let r = Documents {
        client,
        settings: s,
        at: None,
        before_ts: None,
        until: None,
    };
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = r.page(after.take()).await.unwrap();
        ids.extend(
            page.items
                .into_iter()
                .filter_map(|i| i.record.map(|r| r.id)),
        );
        match page.next {
            Some(n) => after = Some(n),
            None => return ids,
        }
    }
}

fn numbered(n: i64) -> Vec<String> {
    (1..=n).map(|i| i.to_string()).collect()
}

/// The one stream's pacer counters, which are also what the run summary reports.
fn stats(client: &FaunaClient) -> PacerStats {
    let pacers = client.pacers();
    assert_eq!(pacers.len(), 1, "one stream read");
    let stats = pacers[0].1.stats();
    assert_eq!(client.paging(), stats);
    stats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_grow_from_the_configured_size() {
    let fx = fixture(5000, ServerConfig::new()).await;
    let c = client(&fx.server.url(), 0);
    assert_eq!(read_all(&c, &settings(64, false)).await, numbered(5000));
    // 64 + 128 + … + 2048 = 4032, then one page of 4096 holds the last 968: 7 queries where a
    // fixed size of 64 takes 79.
    assert_eq!(c.queries(), 7);
    assert_eq!(
        stats(&c),
        PacerStats {
            size: 4096,
            grows: 6,
            shrinks: 0,
            too_large: 0
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_page_size_asks_for_exactly_that_many() {
    let fx = fixture(5000, ServerConfig::new()).await;
    let c = client(&fx.server.url(), 0);
    assert_eq!(read_all(&c, &settings(64, true)).await, numbered(5000));
    assert_eq!(c.queries(), 5000_u64.div_ceil(64));
    assert_eq!(stats(&c).size, 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_time_outs_of_big_pages_shrink_them_and_the_read_completes() {
    // Pages over 300 items time out (503 "time out"), as on a server too slow for them.
    let faults = FaultConfig::new(0.0).unwrap().max_page_items(300);
    let fx = fixture(2900, ServerConfig::new().faults(faults)).await;
    let c = client(&fx.server.url(), 0);
    assert_eq!(read_all(&c, &settings(1000, false)).await, numbered(2900));
    // 1000 and 500 time out; 250 succeeds and stays (growth pauses after a failure): 12 pages.
    assert_eq!(fx.server.faults_injected(), 2);
    assert_eq!(c.queries(), 2 + 12);
    // Each failed page was asked once more, smaller, at once: two retries, no back-off.
    assert_eq!((c.retries(), c.overload_backoffs()), (2, 0));
    assert_eq!(
        stats(&c),
        PacerStats {
            size: 250,
            grows: 0,
            shrinks: 2,
            too_large: 2
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_page_size_that_times_out_fails_as_before() {
    let faults = FaultConfig::new(0.0).unwrap().max_page_items(300);
    let fx = fixture(1000, ServerConfig::new().faults(faults)).await;
    let c = client(&fx.server.url(), 2);
    let s = settings(1000, true);
    let r = Documents {
        client: &c,
        settings: &s,
        at: None,
        before_ts: None,
        until: None,
    };
    let err = r.page(None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "collection 'c': Fauna answered HTTP 503: time out: Read timed out"
    );
    assert_eq!((c.queries(), c.retries()), (3, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_too_large_shrinks_the_page() {
    // Every query asking for more than 500 items gets 413 "request too large".
    let faults = FaultConfig::new(1.0)
        .unwrap()
        .kinds(&[Fault::TooLarge])
        .pages_above(500);
    let fx = fixture(2000, ServerConfig::new().faults(faults)).await;
    let c = client(&fx.server.url(), 0);
    assert_eq!(read_all(&c, &settings(64, false)).await, numbered(2000));
    // 64 + 128 + 256 = 448; 512 gets a 413; 7 pages of 256 read the other 1552.
    assert_eq!(fx.server.faults_injected(), 1);
    assert_eq!(c.queries(), 3 + 1 + 7);
    assert_eq!(c.retries(), 1);
    assert_eq!(
        stats(&c),
        PacerStats {
            size: 256,
            grows: 3,
            shrinks: 1,
            too_large: 1
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_halve_the_concurrency_limit_and_back_off() {
    // Every query is rate limited: four attempts halve the limit 8 → 4 → 2 → 1 → 1.
    let faults = FaultConfig::new(1.0).unwrap().kinds(&[Fault::RateLimited]);
    let fx = fixture(10, ServerConfig::new().faults(faults)).await;
    let c = client(&fx.server.url(), 3);
    let s = settings(64, false);
    let r = Documents {
        client: &c,
        settings: &s,
        at: None,
        before_ts: None,
        until: None,
    };
    let err = r.page(None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "collection 'c': Fauna answered HTTP 429: too many requests: Rate limit for read exceeded"
    );
    let limit = c.concurrency();
    assert_eq!((limit.limit, limit.max, limit.shrinks), (1, 8, 4));
    assert_eq!((c.retries(), c.overload_backoffs()), (3, 3));
    assert_eq!(
        stats(&c).size,
        64,
        "a rate limit does not change the page size"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intermittent_rate_limits_are_backed_off_and_every_record_is_read() {
    let faults = FaultConfig::new(0.5)
        .unwrap()
        .seed(7)
        .kinds(&[Fault::RateLimited]);
    let fx = fixture(600, ServerConfig::new().faults(faults)).await;
    let c = client(&fx.server.url(), 30);
    c.set_max_concurrency(4);
    assert_eq!(read_all(&c, &settings(64, true)).await, numbered(600));
    let injected = fx.server.faults_injected();
    assert!(injected > 0, "the seed draws some 429s");
    // Queries are sequential, so each 429 is its own burst and halves the limit once.
    let limit = c.concurrency();
    assert_eq!(limit.shrinks, injected);
    assert_eq!(limit.max, 4);
    assert_eq!(c.overload_backoffs(), injected);
    assert_eq!(c.retries(), injected);
    assert_eq!(c.queries(), 10 + injected);
}
