//! `fauna-sync export --plan plan.json --shard i/n`: one shard of a plan, read into its own
//! part of the output (`<out>/_shards.d/<i>/`, with its own manifest and state), every page at
//! the plan's snapshot. Restarted with the same index, it resumes its own checkpoint.
//!
//! Numbering: `--shard i/n` counts from 1 (as Playwright's `--shard` and a matrix of
//! `[1, 2, …]` do); `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job) counts from 0, so index
//! 0 is shard 1/n. The shard directories are numbered like `--shard`.

use serde::{Deserialize, Serialize};

use super::error::ScaleError;
use super::place::Place;
use super::plan_file::ScalePlan;
use crate::config::Settings;
use crate::location::Location;
use crate::run::{Pinned, Plan, ReadMode};

/// The directory of the shards' outputs under the output root (a name no stream directory
/// can have: those never contain a `.`).
pub const SHARDS_DIR: &str = "_shards.d";

/// The file in a shard's directory that says which plan and shard it holds.
pub const SHARD_FILE: &str = "_shard.json";

/// Which shard of a plan a process is: 0-based inside, 1-based on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    /// 0-based.
    pub index: u32,
    /// The number of shards, when the command line gave it (`i/n`).
    pub of: Option<u32>,
}

impl ShardSpec {
    /// `--shard i/n` (1-based), else `JOB_COMPLETION_INDEX` (0-based, `job_index`).
    pub fn from_args(
        shard: Option<&str>,
        job_index: Option<&str>,
    ) -> Result<ShardSpec, ScaleError> {
        match (shard, job_index) {
            (Some(text), _) => {
                let bad = || {
                    ScaleError::BadShard(format!(
                        "--shard '{text}' is not i/n with 1 <= i <= n (e.g. --shard 2/4; shards count from 1)"
                    ))
                };
                let (i, n) = text.split_once('/').ok_or_else(bad)?;
                let (i, n): (u32, u32) = (
                    i.trim().parse().map_err(|_| bad())?,
                    n.trim().parse().map_err(|_| bad())?,
                );
                if i == 0 || i > n {
                    return Err(bad());
                }
                Ok(ShardSpec {
                    index: i - 1,
                    of: Some(n),
                })
            }
            (None, Some(text)) => {
                let index = text.trim().parse().map_err(|_| {
                    ScaleError::BadShard(format!(
                        "JOB_COMPLETION_INDEX '{text}' is not a number (it counts from 0)"
                    ))
                })?;
                Ok(ShardSpec { index, of: None })
            }
            (None, None) => Err(ScaleError::BadShard(
                "name the shard: --shard i/n (counting from 1), or run as a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, counting from 0)".into(),
            )),
        }
    }

    /// Checks the spec against `plan`.
    pub fn check(&self, plan: &ScalePlan) -> Result<(), ScaleError> {
        if self.of.is_some_and(|n| n != plan.shards) || self.index >= plan.shards {
            return Err(ScaleError::BadShard(format!(
                "shard {} is not one of the plan's {} shards (--shard i/n counts from 1 to {}; JOB_COMPLETION_INDEX from 0 to {})",
                self.shown(),
                plan.shards,
                plan.shards,
                plan.shards - 1
            )));
        }
        Ok(())
    }

    /// As `--shard` spells it.
    pub fn shown(&self) -> String {
        match self.of {
            Some(n) => format!("{}/{n}", self.index + 1),
            None => format!("{} (JOB_COMPLETION_INDEX {})", self.index + 1, self.index),
        }
    }
}

/// What a shard's directory records of its plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// The plan's id.
    pub plan_id: String,
    /// The plan's snapshot (µs).
    pub snapshot_ts: i64,
    /// 1-based, as `--shard`.
    pub shard: u32,
    /// The plan's shards.
    pub shards: u32,
}

/// Where shard `index` (0-based) lives, relative to the output root.
pub fn shard_rel(index: u32) -> String {
    format!("{SHARDS_DIR}/{}", index + 1)
}

/// Where shard `index` (0-based) of the output at `root` lives.
pub fn shard_dir(root: &Location, index: u32) -> Location {
    root.join(&shard_rel(index))
}

/// The settings and plan of shard `spec`'s run: its directory, its share of the cluster's
/// queries in flight, its collections and ranges at the plan's snapshot.
pub async fn shard_run(
    settings: &Settings,
    plan: &ScalePlan,
    spec: ShardSpec,
) -> Result<(Settings, Plan), ScaleError> {
    spec.check(plan)?;
    plan.check_settings(settings)?;
    let dir = shard_dir(&settings.output.out, spec.index);
    claim(&Place::open(&dir)?, plan, spec).await?;
    let ranges = plan.ranges_of(spec.index);
    let mut shard = settings.clone();
    shard.output.state = dir.as_path().join(crate::output::STATE_OBJECT);
    shard.output.out = dir;
    shard.concurrency = (plan.concurrency / plan.shards).max(1);
    shard.collections = Some(
        plan.collections
            .iter()
            .filter(|c| ranges.contains_key(&c.name))
            .map(|c| {
                settings
                    .collections
                    .iter()
                    .flatten()
                    .find(|s| s.name == c.name)
                    .cloned()
                    .unwrap_or_else(|| crate::config::CollectionSettings {
                        name: c.name.clone(),
                        ..settings.defaults.clone()
                    })
            })
            .collect(),
    );
    let run = Plan {
        streams: None,
        read: ReadMode::Export,
        max_duration: None,
        pinned: Some(Pinned {
            snapshot_ts: plan.snapshot_ts,
            ranges,
        }),
    };
    Ok((shard, run))
}

/// Records in `place` that it holds shard `spec` of `plan`, or refuses a place that holds
/// another.
async fn claim(place: &Place, plan: &ScalePlan, spec: ShardSpec) -> Result<(), ScaleError> {
    let want = ShardRecord {
        plan_id: plan.plan_id.clone(),
        snapshot_ts: plan.snapshot_ts,
        shard: spec.index + 1,
        shards: plan.shards,
    };
    match read_record(place).await? {
        Some(found) if found == want => Ok(()),
        Some(found) => Err(ScaleError::OtherShard {
            path: place.location().to_string(),
            found: format!("{}/{}", found.shard, found.shards),
            found_plan: found.plan_id,
            shard: format!("{}/{}", want.shard, want.shards),
            plan: want.plan_id,
        }),
        None => {
            place.storage().create_root().await?;
            let bytes = serde_json::to_vec(&want).unwrap_or_default();
            place.write(SHARD_FILE, bytes).await
        }
    }
}

/// A shard's record, if its place has one.
pub async fn read_record(place: &Place) -> Result<Option<ShardRecord>, ScaleError> {
    match place.storage().read(SHARD_FILE).await? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ScaleError::BadPlan {
                path: place.storage().name_of(SHARD_FILE),
                reason: format!("not a shard record: {e}"),
            }),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::ShardSpec;

    #[test]
    fn shards_count_from_1_on_the_command_line_and_from_0_in_the_job_index() {
        let spec = |s: Option<&str>, j: Option<&str>| ShardSpec::from_args(s, j);
        assert_eq!(
            spec(Some("2/4"), None).unwrap(),
            ShardSpec {
                index: 1,
                of: Some(4)
            }
        );
        assert_eq!(
            spec(None, Some("0")).unwrap(),
            ShardSpec { index: 0, of: None }
        );
        // --shard wins over the environment.
        assert_eq!(spec(Some("4/4"), Some("0")).unwrap().index, 3);
        for bad in ["0/4", "5/4", "2", "a/4", "2/b", "/", ""] {
            let e = spec(Some(bad), None).unwrap_err().to_string();
            assert!(e.contains("is not i/n with 1 <= i <= n"), "{bad}: {e}");
        }
        let e = spec(None, Some("x")).unwrap_err().to_string();
        assert!(
            e.contains("JOB_COMPLETION_INDEX 'x' is not a number (it counts from 0)"),
            "{e}"
        );
        let e = spec(None, None).unwrap_err().to_string();
        assert!(
            e.contains("--shard i/n") && e.contains("JOB_COMPLETION_INDEX"),
            "{e}"
        );
    }
}
