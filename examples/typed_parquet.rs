//! Writes a typed Parquet file (issue 24 groundwork) from wire documents:
//! `cargo run --example typed_parquet -- <documents.jsonl> <out.parquet> [flatten_depth]`.
//!
//! Each input line is one document as Fauna returns it (`{"ref":{"@ref":…},"ts":…,"data":…}`).
//! All documents are observed first, the plan is grown once, then one file is written with the
//! `data` column beside the typed ones, and beside it `<out>.schema.json` (the observed
//! schema), `<out>.record.schema.json` (its JSON Schema) and `<out>.bigquery.json`. `tests/typed/test_typed_parquet.py` judges the output
//! with pyarrow, DuckDB and the official `faunadb` driver.

use std::process::ExitCode;

use fauna_sync::fauna::{decode, Value};
use fauna_sync::schema::{
    bigquery_schema, record_json_schema, ColumnPlan, ObservedSchema, PlanOptions,
};
use fauna_sync::sink::typed::{write_typed_parquet, TypedDoc, Unplanned};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("typed_parquet: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (input, output) = match (args.first(), args.get(1)) {
        (Some(i), Some(o)) => (i, o),
        _ => {
            return Err(
                "usage: typed_parquet <documents.jsonl> <out.parquet> [flatten_depth]".into(),
            )
        }
    };
    let flatten_depth = match args.get(2) {
        Some(d) => d.parse().map_err(|e| format!("flatten depth {d:?}: {e}"))?,
        None => PlanOptions::default().flatten_depth,
    };
    let text = std::fs::read_to_string(input).map_err(|e| format!("{input}: {e}"))?;
    let mut docs: Vec<(String, i64, Value)> = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let doc = decode(line.as_bytes()).map_err(|e| format!("{input}:{}: {e}", n + 1))?;
        let id = doc
            .as_object()
            .and_then(|o| o.get("ref"))
            .and_then(Value::as_ref)
            .map(|r| r.id.clone())
            .ok_or_else(|| format!("{input}:{}: no ref", n + 1))?;
        let ts = doc
            .as_object()
            .and_then(|o| o.get("ts"))
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("{input}:{}: no ts", n + 1))?;
        let data = doc
            .as_object()
            .and_then(|o| o.get("data"))
            .cloned()
            .unwrap_or(Value::Null);
        docs.push((id, ts, data));
    }
    let mut schema = ObservedSchema::default();
    for (id, ts, data) in &docs {
        schema.observe(data, *ts, id);
    }
    let mut plan = ColumnPlan::new(PlanOptions {
        flatten_depth,
        ..PlanOptions::default()
    })
    .map_err(|e| e.to_string())?;
    plan.grow(&schema);
    let typed: Vec<TypedDoc> = docs
        .iter()
        .map(|(id, ts, data)| TypedDoc { id, ts: *ts, data })
        .collect();
    let file = std::fs::File::create(output).map_err(|e| format!("{output}: {e}"))?;
    write_typed_parquet(file, &plan, true, Unplanned::Error, &typed).map_err(|e| e.to_string())?;
    let schema_path = format!("{output}.schema.json");
    std::fs::write(&schema_path, schema.to_json()).map_err(|e| format!("{schema_path}: {e}"))?;
    let sidecars = [
        ("record.schema.json", record_json_schema(&schema)),
        ("bigquery.json", bigquery_schema(&plan, true)),
    ];
    for (suffix, json) in sidecars {
        let path = format!("{output}.{suffix}");
        std::fs::write(&path, json.to_string()).map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}
