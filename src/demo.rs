//! `fauna-sync demo`: an in-process fauna-dev seeded with `fixtures/demo`, exported to Parquet
//! and JSONL, with the summary and a command to look at the result.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fauna_dev::engine::{Engine, EngineOptions};
use fauna_dev::server::{serve, ServerConfig};

use crate::cli::{export, DemoArgs};
use crate::config::{Overrides, Settings};
use crate::fauna::Secret;

/// The demo dataset's read-only exporter key (a custom role; see fixtures/demo/schema.json).
const DEMO_SECRET: &str = "fnDemoExporterKey";

fn dataset_dir(arg: Option<PathBuf>) -> PathBuf {
    arg.unwrap_or_else(|| {
        let local = PathBuf::from("fixtures/demo");
        if local.join("schema.json").exists() {
            local
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
        }
    })
}

/// Runs the demo; returns the exit code.
pub async fn run(args: DemoArgs) -> i32 {
    let dataset = dataset_dir(args.dataset);
    let engine = Engine::new(EngineOptions::default());
    if let Err(e) = engine.load_dataset(&dataset) {
        eprintln!(
            "error: cannot load the demo dataset {}: {e:#}",
            dataset.display()
        );
        return 1;
    }
    let server = match serve(ServerConfig::new().port(0), Arc::new(engine)).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start fauna-dev: {e}");
            return 1;
        }
    };
    eprintln!(
        "fauna-dev is serving {} at {}",
        dataset.display(),
        server.url()
    );
    // Each demo run starts from scratch: earlier demo output is replaced.
    for format in ["parquet", "jsonl"] {
        let out = args.out.join(format);
        if out.join("_state.json").exists() {
            if let Err(e) = std::fs::remove_dir_all(&out) {
                eprintln!(
                    "error: cannot clear the previous demo output {}: {e}",
                    out.display()
                );
                return 1;
            }
        }
        let settings = Settings::load(
            None,
            Overrides {
                secret: Some(Secret::new(DEMO_SECRET)),
                endpoint: Some(server.url()),
                format: Some(format.into()),
                out: Some(out),
                batch_rows: Some(2000),
                batch_bytes: None,
                ..Overrides::default()
            },
        );
        let settings = match settings {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
        let code = export(&settings).await;
        if code != 0 {
            server.shutdown().await;
            return code;
        }
    }
    server.shutdown().await;
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
