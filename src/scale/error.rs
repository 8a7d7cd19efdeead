//! What goes wrong planning, running a shard of, or finalizing a scale-out export.

use thiserror::Error;

use crate::error::ErrorKind;

/// A scale-out error; every one names what to do.
#[derive(Debug, Error)]
pub enum ScaleError {
    /// The plan file cannot be read or is not a plan.
    #[error("the plan {path} is not usable: {reason}. Make one with `fauna-sync plan`")]
    BadPlan {
        /// The plan file or object.
        path: String,
        /// Why.
        reason: String,
    },
    /// `--shard` or `JOB_COMPLETION_INDEX` does not name a shard of the plan.
    #[error("{0}")]
    BadShard(String),
    /// The run's settings are not the ones the plan was made with.
    #[error("the settings differ from the plan's ({what}: the plan has {planned}, this run {now}); run every shard and finalize with the settings of `fauna-sync plan`, or make a new plan")]
    SettingsDiffer {
        /// What differs.
        what: String,
        /// The plan's value.
        planned: String,
        /// This run's.
        now: String,
    },
    /// A shard's directory belongs to another plan or shard.
    #[error("{path} holds shard {found} of plan {found_plan}, not shard {shard} of plan {plan}; use another --out, or remove it to start that shard over")]
    OtherShard {
        /// The shard's directory.
        path: String,
        /// The shard it holds.
        found: String,
        /// The plan it holds.
        found_plan: String,
        /// The shard asked for.
        shard: String,
        /// The plan asked for.
        plan: String,
    },
    /// The plan's snapshot is no longer readable (or will not be for the next sync).
    #[error("the plan's snapshot {snapshot} is past the history window of collection '{collection}' (readable until {until}): its shards cannot be read at it and a sync cannot continue from it. Make a new plan and run its shards within the window (raise history_days for longer runs)")]
    Expired {
        /// The collection whose window is shortest.
        collection: String,
        /// The snapshot, as a timestamp.
        snapshot: String,
        /// Until when it was readable.
        until: String,
    },
    /// Shards are missing, unfinished, from another plan or damaged: nothing was joined.
    #[error("cannot finalize: {} shard problem(s), nothing was joined or deleted:\n  {}\nRun (or re-run) the shards named with the same plan, then finalize again", .0.len(), .0.join("\n  "))]
    Shards(Vec<String>),
    /// The joined output's root already holds another output.
    #[error("{path} already holds an output that is not this plan's ({reason}); finalize into the output the plan's shards wrote, or remove it")]
    NotEmpty {
        /// The output root.
        path: String,
        /// What is there.
        reason: String,
    },
    /// Reading or writing files.
    #[error(transparent)]
    File(#[from] crate::durable::FileError),
    /// The state.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// The output.
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    /// The run of a shard, or a query.
    #[error(transparent)]
    Export(#[from] crate::sync::ExportError),
}

impl ScaleError {
    /// The kind, for the exit code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ScaleError::BadPlan { .. }
            | ScaleError::BadShard(_)
            | ScaleError::SettingsDiffer { .. }
            | ScaleError::OtherShard { .. }
            | ScaleError::NotEmpty { .. } => ErrorKind::Config,
            ScaleError::Expired { .. } | ScaleError::Shards(_) => ErrorKind::State,
            ScaleError::File(e) => e.kind(),
            ScaleError::State(e) => e.kind(),
            ScaleError::Output(e) => e.kind(),
            ScaleError::Export(e) => e.kind(),
        }
    }
}
