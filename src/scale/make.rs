//! `fauna-sync plan`: pins the snapshot T, checks how long it stays readable, splits each
//! collection into ranges of ids at documents that exist at T, and deals the ranges out to the
//! shards.

use super::error::ScaleError;
use super::plan_file::{output_settings, PlannedCollection, PlannedRange, ScalePlan, PLAN_VERSION};
use crate::config::Settings;
use crate::fauna::FaunaClient;
use crate::output::new_output_id;
use crate::read::{now, sampled_split_points};
use crate::run::{check_collection, client, sync_index, DatabaseClients, Mode, Plan, Use};
use crate::sync::ExportError;

/// How a plan is shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanShape {
    /// Shards (processes).
    pub shards: u32,
    /// Ranges of ids to aim for per shard and collection: more ranges balance better (a
    /// range's size is not known in advance), each costs a query or two.
    pub ranges_per_shard: u32,
}

/// Makes the plan of `settings`' collections for `shape`.
pub async fn make_plan(settings: &Settings, shape: PlanShape) -> Result<ScalePlan, ScaleError> {
    let client = client(settings, Use::Run).map_err(|source| ExportError::Fauna {
        context: "setting up the client".into(),
        source,
    })?;
    if settings.databases.is_tree() {
        return Err(ScaleError::BadShard(
            "scale-out plans the key's own database: plan each database of a tree on its own (a key scoped to it), or export the tree in one process (spec/scale-out.md, \"Limits\")".into(),
        ));
    }
    let snapshot_ts = now(&client, "(server time)")
        .await
        .map_err(ExportError::from)?;
    let mut clients = DatabaseClients::new(client, Use::Run);
    let (streams, _) = Plan::of(Mode::Export)
        .streams(settings, &mut clients)
        .await?;
    let client = clients.root();
    let mut collections = Vec::with_capacity(streams.len());
    let mut shortest: Option<(i64, String)> = None;
    // Dealt round-robin across collections, so that small collections do not all land on
    // the first shard.
    let mut next_shard = 0u32;
    for s in &streams {
        let c = &s.collection;
        let retention = check_collection(client, c).await?;
        // The joined output is meant to be synced from T: say now when it cannot be.
        if let Err(e) = sync_index(client, c).await {
            tracing::warn!(collection = %c.name, "{e} (the export works; `sync` after finalize will not, for this collection)");
        }
        if let Some(window) = retention.window_secs() {
            let until = snapshot_ts.saturating_add(window.saturating_mul(1_000_000));
            if shortest.as_ref().is_none_or(|(u, _)| until < *u) {
                shortest = Some((until, c.name.clone()));
            }
        }
        let parts = shape.shards.saturating_mul(shape.ranges_per_shard.max(1));
        let points = split(client, &c.name, snapshot_ts, parts).await?;
        let mut ranges = Vec::with_capacity(points.len() + 1);
        let mut from = None;
        for until in points.into_iter().map(Some).chain([None]) {
            ranges.push(PlannedRange {
                shard: next_shard,
                from: from.replace(until.clone()).flatten(),
                until,
            });
            next_shard = (next_shard + 1) % shape.shards;
        }
        collections.push(PlannedCollection {
            name: c.name.clone(),
            ranges,
        });
    }
    let (readable_until, shortest_window) = shortest.unwrap_or((i64::MAX, String::new()));
    if readable_until.saturating_sub(snapshot_ts) < 3_600_000_000 {
        tracing::warn!(
            collection = %shortest_window,
            "Collection '{shortest_window}' keeps history for less than an hour: every shard and finalize must end by {} (raise its history_days for a longer copy).",
            micros_text(readable_until)
        );
    }
    Ok(ScalePlan {
        version: PLAN_VERSION,
        plan_id: new_output_id(),
        snapshot_ts,
        snapshot: micros_text(snapshot_ts),
        readable_until,
        shortest_window,
        shards: shape.shards,
        concurrency: settings.concurrency.saturating_mul(shape.shards),
        settings: output_settings(settings),
        collections,
    })
}

async fn split(
    client: &FaunaClient,
    collection: &str,
    at: i64,
    parts: u32,
) -> Result<Vec<String>, ScaleError> {
    sampled_split_points(client, collection, at, parts)
        .await
        .map_err(|e| ScaleError::Export(e.into()))
}

/// Microseconds since the epoch as an RFC 3339 UTC time.
pub fn micros_text(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_else(|| format!("{us} µs"))
}
