//! Reading Fauna into committed batches with checkpointed resume: full exports at a pinned
//! snapshot, or — for collections that keep history too briefly — a scan, a catch-up and a
//! reconciliation of deletions (incremental readers come next).

mod batches;
mod discover;
mod document;
mod emitted;
mod full;
mod run;
mod scan_catch_up;
mod state;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub use batches::BatchLimits;
pub use discover::{list_collections, retention, Retention, MVT_OFFSET_SECS};
pub use document::{document_record, RecordError};
pub use emitted::{emitted_ids_path, EmittedIds};
pub use full::{record_schema, CollectionExport, ExportError, Observer, Quiet};
pub use run::{run_export, RunError, Summary};
pub use state::{Position, State, StateError, Strategy, StreamState, STATE_VERSION};

/// The test hook `FAUNA_SYNC_TEST_CRASH_AT=<point>:<n>` aborts the process (like SIGKILL: no
/// cleanup, no flush) the `n`-th time the named point is reached. Points: `after-page` (a page
/// was read, nothing of it committed yet), `after-batch-rename` (a batch file is in place, the
/// state not yet written) and `state-write` (the state file is being written). Unset, it costs one atomic load.
fn crash_target() -> Option<&'static (String, u64)> {
    static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let v = std::env::var("FAUNA_SYNC_TEST_CRASH_AT").ok()?;
            let (name, n) = v.rsplit_once(':')?;
            Some((name.to_string(), n.parse().ok()?))
        })
        .as_ref()
}

static CRASH_HITS: AtomicU64 = AtomicU64::new(0);

/// Counts a hit of `point`; true when the process must crash now.
pub(crate) fn crash_point_armed(point: &str) -> bool {
    match crash_target() {
        Some((name, n)) if name == point => CRASH_HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n,
        _ => false,
    }
}

/// Aborts the process here if the test hook says so.
pub(crate) fn crash_point(point: &str) {
    if crash_point_armed(point) {
        std::process::abort();
    }
}
