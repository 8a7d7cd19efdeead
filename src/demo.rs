//! `fauna-sync demo`: an in-process fauna-dev seeded with `fixtures/demo` (built into the
//! binary); a full export to Parquet, then the incremental loop in JSONL — a first sync, a
//! batch of creates, updates and deletes applied to the server, and a second sync whose
//! summary shows exactly those.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use fauna_dev::engine::{Engine, EngineOptions, Request};
use fauna_dev::server::{serve, ServerConfig};

use crate::config::{Overrides, Settings};
use crate::console::run_with_progress;
use crate::fauna::Secret;
use crate::run::Mode;

/// `fauna-sync demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the demo output.
    #[arg(long, default_value = "demo-out", value_name = "DIR")]
    pub out: PathBuf,
    /// A dataset folder to seed fauna-dev with (spec/fauna-dev-dataset.md) instead of the
    /// built-in demo dataset.
    #[arg(long, value_name = "DIR")]
    pub dataset: Option<PathBuf>,
}

/// The demo dataset's read-only exporter key (a custom role; see fixtures/demo/schema.json).
const DEMO_SECRET: &str = "fnDemoExporterKey";
/// The demo dataset's server key, used only to change data between the two syncs.
const DEMO_SERVER_SECRET: &str = "fnDemoServerKey";

/// The changes made between the two syncs: 2 players' credits updated (the first two in id
/// order, before the new players, whose short ids would sort first), 3 new players, 2
/// purchases deleted.
const CHANGES: [&str; 3] = [
    r#"{"map":{"lambda":"r","expr":{"update":{"var":"r"},"params":{"object":{"data":{"object":{"credits":999999}}}}}},
       "collection":{"select":"data","from":{"paginate":{"documents":{"collection":"players"}},"size":2}}}"#,
    r#"{"do":[
      {"create":{"ref":{"collection":"players"},"id":"9000001"},"params":{"object":{"data":{"object":{"nickname":"newcomer-1","credits":100}}}}},
      {"create":{"ref":{"collection":"players"},"id":"9000002"},"params":{"object":{"data":{"object":{"nickname":"newcomer-2","credits":100}}}}},
      {"create":{"ref":{"collection":"players"},"id":"9000003"},"params":{"object":{"data":{"object":{"nickname":"newcomer-3","credits":100}}}}}]}"#,
    r#"{"map":{"lambda":"r","expr":{"delete":{"var":"r"}}},
       "collection":{"select":"data","from":{"paginate":{"documents":{"collection":"purchases"}},"size":2}}}"#,
];

/// The demo dataset (`fixtures/demo`, made by scripts/gen-demo-dataset.py), built into the
/// binary so that a copied binary or the connector image runs the demo from any directory.
const DATASET: [(&str, &str); 5] = [
    ("schema.json", include_str!("../fixtures/demo/schema.json")),
    (
        "documents/items.jsonl",
        include_str!("../fixtures/demo/documents/items.jsonl"),
    ),
    (
        "documents/players.jsonl",
        include_str!("../fixtures/demo/documents/players.jsonl"),
    ),
    (
        "documents/pricing.jsonl",
        include_str!("../fixtures/demo/documents/pricing.jsonl"),
    ),
    (
        "documents/purchases.jsonl",
        include_str!("../fixtures/demo/documents/purchases.jsonl"),
    ),
];

/// Writes the built-in dataset to a new temporary directory (removed when dropped), for
/// fauna-dev's dataset loader.
fn built_in_dataset() -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("fauna-sync-demo")
        .tempdir()?;
    std::fs::create_dir(dir.path().join("documents"))?;
    for (name, text) in DATASET {
        std::fs::write(dir.path().join(name), text)?;
    }
    Ok(dir)
}

/// An error and its causes, each said once: a cause that the message before it already quotes
/// (a file error names its path and its I/O error) is left out.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}

/// fauna-dev's engine seeded with `dataset` (default: the built-in one), and what it serves;
/// the exit code of a dataset that cannot be loaded (printed).
fn seeded_engine(dataset: Option<PathBuf>) -> Result<(Engine, String), i32> {
    let engine = Engine::new(EngineOptions::default());
    let (loaded, what) = match dataset {
        Some(dir) => (
            engine.load_dataset(&dir),
            format!("the dataset {}", dir.display()),
        ),
        None => match built_in_dataset() {
            Ok(dir) => (
                engine.load_dataset(dir.path()),
                "the built-in demo dataset".to_string(),
            ),
            Err(e) => {
                eprintln!("error: cannot write the demo dataset to a temporary directory: {e}");
                return Err(1);
            }
        },
    };
    match loaded {
        Ok(()) => Ok((engine, what)),
        Err(e) => {
            eprintln!("error: cannot load {what}: {}", describe(&*e));
            Err(2)
        }
    }
}

/// Removes an earlier demo run's output (only a directory holding a fauna-sync state).
fn clear(out: &Path) -> Result<(), i32> {
    if out.join("_state.json").exists() {
        std::fs::remove_dir_all(out).map_err(|e| {
            eprintln!(
                "error: cannot clear the previous demo output {}: {e}",
                out.display()
            );
            1
        })?;
    }
    Ok(())
}

fn settings(
    url: &str,
    out: PathBuf,
    config: Option<&Path>,
    overrides: Overrides,
) -> Result<Settings, i32> {
    Settings::load(
        config,
        Overrides {
            secret: Some(Secret::new(DEMO_SECRET)),
            endpoint: Some(url.to_string()),
            out: Some(out),
            batch_rows: Some(2000),
            ..overrides
        },
    )
    .map_err(|e| {
        eprintln!("error: {e}");
        2
    })
}

/// Runs the demo; returns the exit code.
pub async fn run(args: DemoArgs) -> i32 {
    let (engine, dataset) = match seeded_engine(args.dataset) {
        Ok(seeded) => seeded,
        Err(code) => return code,
    };
    let engine = Arc::new(engine);
    let server = match serve(ServerConfig::new().port(0), engine.clone()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start fauna-dev: {e}");
            return 1;
        }
    };
    eprintln!("fauna-dev is serving {dataset} at {}", server.url());
    let code = steps(&args.out, &server.url(), &engine).await;
    server.shutdown().await;
    if code != 0 {
        return code;
    }
    let out = args.out.display();
    eprintln!();
    eprintln!(
        "Look at the result (pip install duckdb); the manifest lists exactly the committed files:"
    );
    eprintln!(
        "  python3 -c \"import duckdb, json; m = [json.loads(l) for l in open('{out}/parquet/_manifest.jsonl')]; files = ['{out}/parquet/' + f['file'] for f in m if f['stream'] == 'players']; duckdb.sql(f\\\"SELECT data->>'nickname' AS player, (data->>'credits')::INT AS credits FROM read_parquet({{files}}) ORDER BY credits DESC LIMIT 5\\\").show()\""
    );
    0
}

/// The export, the first sync, the changes, the second sync.
async fn steps(out: &Path, url: &str, engine: &Engine) -> i32 {
    let parquet = out.join("parquet");
    let sync = out.join("sync");
    for dir in [&parquet, &sync, &out.join("jsonl")] {
        if let Err(code) = clear(dir) {
            return code;
        }
    }
    eprintln!("\n1. A one-off export of every collection to Parquet:");
    let export = match settings(
        url,
        parquet,
        None,
        Overrides {
            format: Some("parquet".into()),
            ..Overrides::default()
        },
    ) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let code = run_with_progress(&export, Mode::Export).await;
    if code != 0 {
        return code;
    }

    // The sync tracks deletions: its config file lives beside its output.
    if let Err(e) = std::fs::create_dir_all(&sync) {
        eprintln!("error: cannot create {}: {e}", sync.display());
        return 1;
    }
    let config = out.join("sync-config.json");
    let config_text = r#"{"defaults": {"deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}}, "output": {"format": "jsonl"}}"#;
    if let Err(e) = std::fs::write(&config, config_text) {
        eprintln!("error: cannot write {}: {e}", config.display());
        return 1;
    }
    let sync_settings = match settings(
        url,
        sync,
        Some(&config),
        Overrides {
            collections: vec!["players".into(), "items".into(), "purchases".into()],
            ..Overrides::default()
        },
    ) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mode = Mode::Sync { max_duration: None };
    eprintln!("\n2. A first incremental sync (JSONL): a full export, then synced up to now:");
    let code = run_with_progress(&sync_settings, mode).await;
    if code != 0 {
        return code;
    }
    eprintln!(
        "\n3. Meanwhile, on the server: 3 players created, 2 players updated, 2 purchases deleted."
    );
    for change in CHANGES {
        let r = engine.execute(&Request {
            secret: Some(DEMO_SERVER_SECRET),
            body: change.as_bytes(),
            last_seen_txn: None,
            api_version: "4",
            read_only: false,
            deadline: None,
        });
        if !(200..300).contains(&r.status) {
            eprintln!("error: the demo's change failed: {}", r.body);
            return 1;
        }
    }
    eprintln!("\n4. The next sync reads exactly those changes:");
    run_with_progress(&sync_settings, mode).await
}

#[cfg(test)]
mod tests {
    use super::DATASET;

    #[test]
    fn the_built_in_dataset_is_every_file_of_fixtures_demo() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
        let mut files = vec!["schema.json".to_string()];
        for e in std::fs::read_dir(root.join("documents")).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            files.push(format!("documents/{name}"));
        }
        files.sort();
        let mut built_in: Vec<String> = DATASET.iter().map(|(n, _)| n.to_string()).collect();
        built_in.sort();
        assert_eq!(built_in, files);
        for (name, text) in DATASET {
            assert_eq!(
                std::fs::read_to_string(root.join(name)).unwrap(),
                text,
                "{name}"
            );
        }
    }
}
