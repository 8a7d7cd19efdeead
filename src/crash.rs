//! Crash points for the interruption tests, compiled only with the `test-hooks` feature.
//!
//! `FAUNA_SYNC_TEST_CRASH_AT=<point>:<n>` aborts the process (like SIGKILL: no cleanup, no
//! flush) the `n`-th time the named point is reached. Points: `after-page` (a page was read,
//! nothing of it committed yet), `mid-batch` (a batch file is being written under its
//! temporary name, not yet fsynced or renamed: reached after each page written to it and once
//! more before the fsync, so `mid-batch:N` counts pages), `after-batch-rename` (a batch file is in place and listed in
//! the manifest, the state not yet written) and `state-write` (the state file is being
//! written). Without the feature every point compiles to nothing.

#[cfg(feature = "test-hooks")]
mod hooks {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    fn target() -> Option<&'static (String, u64)> {
        static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
        TARGET
            .get_or_init(|| {
                let v = std::env::var("FAUNA_SYNC_TEST_CRASH_AT").ok()?;
                let (name, n) = v.rsplit_once(':')?;
                Some((name.to_string(), n.parse().ok()?))
            })
            .as_ref()
    }

    static HITS: AtomicU64 = AtomicU64::new(0);

    pub fn armed(point: &str) -> bool {
        match target() {
            Some((name, n)) if name == point => HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n,
            _ => false,
        }
    }
}

/// Counts a hit of `point`; true when the process must crash now.
#[inline]
pub(crate) fn armed(point: &str) -> bool {
    #[cfg(feature = "test-hooks")]
    {
        hooks::armed(point)
    }
    #[cfg(not(feature = "test-hooks"))]
    {
        let _ = point;
        false
    }
}

/// Aborts the process here if the test hook says so.
#[inline]
pub(crate) fn point(point: &str) {
    if armed(point) {
        std::process::abort();
    }
}
