//! Test support: an in-process fauna-dev seeded from a dataset written on the fly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fauna_dev::engine::{Engine, EngineOptions, Request, Response};
use fauna_dev::server::{serve, RunningServer, ServerConfig};
use fauna_sync::config::{Overrides, Settings};
use fauna_sync::fauna::Secret;

/// A running fauna-dev and the temporary folders of one test.
pub struct Fixture {
    pub server: RunningServer,
    pub dir: tempfile::TempDir,
    pub engine: Arc<Engine>,
}

impl Fixture {
    /// Starts fauna-dev with `schema` (schema.json text) and `documents` (collection, jsonl text).
    pub async fn start(schema: &str, documents: &[(&str, String)]) -> Fixture {
        Self::start_with(
            schema,
            documents,
            EngineOptions::default(),
            ServerConfig::new(),
        )
        .await
    }

    /// [`Fixture::start`] with explicit engine options and server settings (its port is 0).
    pub async fn start_with(
        schema: &str,
        documents: &[(&str, String)],
        options: EngineOptions,
        config: ServerConfig,
    ) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("dataset");
        std::fs::create_dir_all(data.join("documents")).unwrap();
        std::fs::write(data.join("schema.json"), schema).unwrap();
        for (coll, lines) in documents {
            std::fs::write(data.join("documents").join(format!("{coll}.jsonl")), lines).unwrap();
        }
        let engine = Engine::new(options);
        engine.load_dataset(&data).unwrap();
        let engine = Arc::new(engine);
        let server = serve(config.port(0), engine.clone()).await.unwrap();
        Fixture {
            server,
            dir,
            engine,
        }
    }

    /// A fresh output directory under the test's temporary folder.
    pub fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Runs `query` (wire JSON) on the engine with `secret`.
pub fn execute(engine: &Engine, secret: &str, query: &str) -> Response {
    engine.execute(&Request {
        secret: Some(secret),
        body: query.as_bytes(),
        last_seen_txn: None,
        api_version: "4",
        read_only: false,
        deadline: None,
    })
}

/// Runs `query` (wire JSON) on the engine with `secret`; the status and the response body.
pub fn query(engine: &Engine, secret: &str, query: &str) -> (u16, serde_json::Value) {
    let resp = execute(engine, secret, query);
    (resp.status, serde_json::from_str(&resp.body).unwrap())
}

/// Settings from the config file `config`, for the test key, `endpoint` and output `out`.
pub fn load_settings(config: &Path, endpoint: &str, out: &Path) -> Settings {
    Settings::load(
        Some(config),
        Overrides {
            secret: Some(Secret::new("fnTestServer")),
            endpoint: Some(endpoint.to_string()),
            out: Some(out.to_path_buf()),
            ..Overrides::default()
        },
    )
    .unwrap()
}

/// The wire JSON of a document ref.
pub fn wire_ref(coll: &str, id: &str) -> String {
    format!(
        r#"{{"@ref":{{"id":"{id}","collection":{{"@ref":{{"id":"{coll}","collection":{{"@ref":{{"id":"collections"}}}}}}}}}}}}"#
    )
}

/// Every file below `dir`, relative, sorted.
pub fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(
                    p.strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The ids of `stream`'s id set as the state file at `state` records it, in document order.
pub fn id_set_of(state: &Path, stream: &str) -> Vec<String> {
    use fauna_sync::id_set::{id_set_dir, IdSet, Start};
    let st = fauna_sync::state::State::load(state).unwrap();
    let mark = st.streams[stream].ids.expect("the stream keeps an id set");
    assert!(mark.complete);
    let mut set = IdSet::open(&id_set_dir(state), stream, Start::Mark(mark)).unwrap();
    set.compact().unwrap();
    set.sorted().unwrap().range(None, usize::MAX).unwrap()
}

/// The documents of `collection` now, id → (ts, data).
pub fn collection_now(
    fx: &Fixture,
    collection: &str,
) -> std::collections::BTreeMap<String, (i64, serde_json::Value)> {
    let (status, body) = query(
        &fx.engine,
        "fnTestServer",
        &format!(
            r#"{{"map":{{"lambda":"x","expr":{{"get":{{"var":"x"}}}}}},"collection":{{"paginate":{{"documents":{{"collection":"{collection}"}}}},"size":100000}}}}"#
        ),
    );
    assert_eq!(status, 200, "{body}");
    body["resource"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["ref"]["@ref"]["id"].as_str().unwrap().to_string(),
                (d["ts"].as_i64().unwrap(), d["data"].clone()),
            )
        })
        .collect()
}

/// `n` documents `{"n": i}` with ids 1..=n, one µs apart, as dataset lines.
pub fn numbered_docs(n: i64) -> String {
    (1..=n)
        .map(|i| {
            format!(
                r#"{{"id":"{i}","ts":{},"data":{{"n":{i}}}}}"#,
                1_658_188_683_000_000 + i
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Writes to a collection `things` whose documents are `{"n": id, "v": version}`, as the
/// moved-window and Airbyte-parity tests make them (transactions in the wire's JSON form).
pub mod things {
    use super::{execute, Fixture};

    fn doc(id: i64) -> String {
        format!(r#"{{"ref":{{"collection":"things"}},"id":"{id}"}}"#)
    }

    pub fn update(id: i64, v: i64) -> String {
        format!(
            r#"{{"update":{},"params":{{"object":{{"data":{{"object":{{"n":{id},"v":{v}}}}}}}}}}}"#,
            doc(id)
        )
    }

    pub fn create(id: i64, v: i64) -> String {
        format!(
            r#"{{"create":{},"params":{{"object":{{"data":{{"object":{{"n":{id},"v":{v}}}}}}}}}}}"#,
            doc(id)
        )
    }

    pub fn delete(id: i64) -> String {
        format!(r#"{{"delete":{}}}"#, doc(id))
    }

    /// Runs `ops` in transactions of 250 writes each.
    pub fn write_all(fx: &Fixture, ops: impl IntoIterator<Item = String>) {
        let ops: Vec<String> = ops.into_iter().collect();
        for chunk in ops.chunks(250) {
            let r = execute(
                &fx.engine,
                "fnTestServer",
                &format!(r#"{{"do":[{}]}}"#, chunk.join(",")),
            );
            assert!(r.status == 200 || r.status == 201, "{}", r.body);
        }
    }
}
