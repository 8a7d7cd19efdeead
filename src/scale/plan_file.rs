//! `plan.json`: what `fauna-sync plan` fixed for every shard and for `finalize` — the snapshot
//! T, each collection's ranges of ids and the shard that reads each, the settings that shape
//! the output, the cluster's request budget — under a plan id that every shard's output
//! records (`spec/scale-out.md`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::ScaleError;
use crate::config::Settings;
use crate::fauna::{encode, Ref, Value};
use crate::run::schema_fingerprint;
use crate::state::RangePosition;

/// The plan file's format version.
pub const PLAN_VERSION: u32 = 1;

/// A scale-out plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalePlan {
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// Random; every shard's output and the joined state record it.
    pub plan_id: String,
    /// The snapshot every page is read at (µs).
    pub snapshot_ts: i64,
    /// The same, as an RFC 3339 time, for people.
    pub snapshot: String,
    /// The collection whose history window ends first, and when (µs): every shard must be
    /// read, and the joined output synced, before then.
    pub readable_until: i64,
    /// That collection.
    pub shortest_window: String,
    /// Shards (processes) the plan is spread over.
    pub shards: u32,
    /// Queries in flight for the whole cluster; each shard takes `concurrency / shards` (at
    /// least 1).
    pub concurrency: u32,
    /// The settings that shape the output (format, compression, batch size, each
    /// collection's record schema): a shard or finalize run with others is refused.
    pub settings: serde_json::Value,
    /// The collections, in order, with their ranges.
    pub collections: Vec<PlannedCollection>,
}

/// One collection of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedCollection {
    /// Its name.
    pub name: String,
    /// Its ranges of ids, in id order; together they cover every id.
    pub ranges: Vec<PlannedRange>,
}

/// One range of ids and the shard that reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRange {
    /// The shard (0-based).
    pub shard: u32,
    /// The first document's id (inclusive); `None`: the collection's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The next range's first id (exclusive); `None`: the collection's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// The settings of `settings` that shape the output, as a plan records them.
pub fn output_settings(settings: &Settings) -> serde_json::Value {
    let collections: BTreeMap<&str, serde_json::Value> = settings
        .collections
        .iter()
        .flatten()
        .map(|c| (c.name.as_str(), schema_fingerprint(c)))
        .collect();
    serde_json::json!({
        "format": crate::run::file_format(settings).name(),
        "batch_rows": settings.output.batch_rows,
        "batch_bytes": settings.output.batch_bytes,
        "collections": collections,
    })
}

impl ScalePlan {
    /// Each collection's ranges that shard `index` (0-based) reads, as the first positions
    /// of its streams.
    pub fn ranges_of(&self, index: u32) -> BTreeMap<String, Vec<RangePosition>> {
        let mut out = BTreeMap::new();
        for c in &self.collections {
            let parts: Vec<RangePosition> = c
                .ranges
                .iter()
                .filter(|r| r.shard == index)
                .map(|r| RangePosition {
                    cursor: r.from.as_ref().map(|id| {
                        encode(&Value::Array(vec![Value::Ref(Ref::document(&c.name, id))]))
                    }),
                    until: r.until.clone(),
                    ..RangePosition::default()
                })
                .collect();
            if !parts.is_empty() {
                out.insert(c.name.clone(), parts);
            }
        }
        out
    }

    /// Refuses `settings` unless they shape the output as the plan's did.
    pub fn check_settings(&self, settings: &Settings) -> Result<(), ScaleError> {
        let now = output_settings(settings);
        if now == self.settings {
            return Ok(());
        }
        let (planned, current) = (self.settings.as_object(), now.as_object());
        let what = planned
            .zip(current)
            .and_then(|(p, c)| {
                p.keys()
                    .chain(c.keys())
                    .find(|k| p.get(*k) != c.get(*k))
                    .map(|k| (k.clone(), p.get(k).cloned(), c.get(k).cloned()))
            })
            .unwrap_or_else(|| ("settings".into(), Some(self.settings.clone()), Some(now)));
        let show = |v: Option<serde_json::Value>| v.map_or("nothing".into(), |v| v.to_string());
        Err(ScaleError::SettingsDiffer {
            what: what.0,
            planned: show(what.1),
            now: show(what.2),
        })
    }

    /// Parses a plan file's bytes (`shown`: where it came from, for errors).
    pub fn parse(bytes: &[u8], shown: &str) -> Result<ScalePlan, ScaleError> {
        let bad = |reason: String| ScaleError::BadPlan {
            path: shown.to_string(),
            reason,
        };
        let plan: ScalePlan = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if plan.version != PLAN_VERSION {
            return Err(bad(format!(
                "version {} (this fauna-sync reads version {PLAN_VERSION})",
                plan.version
            )));
        }
        if plan.shards == 0 {
            return Err(bad("it has no shards".into()));
        }
        if let Some(r) = plan
            .collections
            .iter()
            .flat_map(|c| &c.ranges)
            .find(|r| r.shard >= plan.shards)
        {
            return Err(bad(format!(
                "a range names shard {} of {}",
                r.shard, plan.shards
            )));
        }
        Ok(plan)
    }

    /// Reads a plan file.
    pub fn read(path: &Path) -> Result<ScalePlan, ScaleError> {
        let bytes = std::fs::read(path).map_err(|e| ScaleError::BadPlan {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        ScalePlan::parse(&bytes, &path.display().to_string())
    }

    /// The plan as its file holds it: pretty JSON and a newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::{PlannedCollection, PlannedRange, ScalePlan, PLAN_VERSION};
    use crate::state::RangePosition;

    fn plan() -> ScalePlan {
        let range = |shard, from: Option<&str>, until: Option<&str>| PlannedRange {
            shard,
            from: from.map(str::to_string),
            until: until.map(str::to_string),
        };
        ScalePlan {
            version: PLAN_VERSION,
            plan_id: "p".into(),
            snapshot_ts: 5,
            snapshot: "t".into(),
            readable_until: 9,
            shortest_window: "a".into(),
            shards: 2,
            concurrency: 4,
            settings: serde_json::json!({}),
            collections: vec![
                PlannedCollection {
                    name: "a".into(),
                    ranges: vec![range(0, None, Some("10")), range(1, Some("10"), None)],
                },
                PlannedCollection {
                    name: "b".into(),
                    ranges: vec![range(0, None, None)],
                },
            ],
        }
    }

    #[test]
    fn a_shards_ranges_start_at_their_first_id_and_stop_before_the_next_range() {
        let p = plan();
        let shard0 = p.ranges_of(0);
        assert_eq!(
            shard0["a"],
            [RangePosition {
                until: Some("10".into()),
                ..RangePosition::default()
            }]
        );
        assert_eq!(shard0["b"], [RangePosition::default()]);
        let shard1 = p.ranges_of(1);
        assert!(!shard1.contains_key("b"));
        let cursor = shard1["a"][0].cursor.as_deref().unwrap();
        assert!(
            cursor.contains(r#""id":"10""#) && cursor.contains(r#""a""#),
            "{cursor}"
        );
        assert_eq!(shard1["a"][0].until, None);
    }

    #[test]
    fn plans_round_trip_and_bad_ones_are_refused() {
        let p = plan();
        assert_eq!(ScalePlan::parse(&p.to_bytes(), "p.json").unwrap(), p);
        let refused = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut v: serde_json::Value = serde_json::from_slice(&p.to_bytes()).unwrap();
            edit(&mut v);
            ScalePlan::parse(v.to_string().as_bytes(), "p.json")
                .unwrap_err()
                .to_string()
        };
        assert!(refused(&|v| v["version"] = 2.into()).contains("version 2"));
        assert!(refused(&|v| v["shards"] = 0.into()).contains("no shards"));
        assert!(
            refused(&|v| v["collections"][0]["ranges"][1]["shard"] = 2.into())
                .contains("a range names shard 2 of 2")
        );
        assert!(ScalePlan::parse(b"{", "p.json")
            .unwrap_err()
            .to_string()
            .starts_with("the plan p.json is not usable"));
    }
}
