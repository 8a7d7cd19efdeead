//! Crash points for the interruption tests, compiled only with the `test-hooks` feature.
//!
//! `FAUNA_SYNC_TEST_CRASH_AT=<point>:<n>` aborts the process (like SIGKILL: no cleanup, no
//! flush) the `n`-th time the named point is reached. Points: `after-page` (a page was read,
//! nothing of it committed yet), `mid-batch` (a batch file is being written under its
//! temporary name, not yet fsynced or renamed: reached after each page written to it and once
//! more before the fsync, so `mid-batch:N` counts pages), `after-batch-rename` (a batch file is in place and listed in
//! the manifest, the state not yet written) and `state-write` (the state file is being
//! written), `scan-start` (the short-retention scan starts or resumes from an `after` position:
//! its start time and split points are chosen, nothing of it read), `catch-up-start` (the
//! short-retention catch-up's time is chosen and recorded, as one range or as ranges of ts,
//! nothing of it read). `fauna-sync load` adds
//! `load-mid-copy-row` (after each record sent to the staging COPY), `load-after-copy`,
//! `load-mid-merge`, `load-after-merge`, `load-before-commit` and `load-after-commit` (one hit
//! per file). Without the feature every point compiles to nothing.
//!
//! `FAUNA_SYNC_TEST_PAUSE_AT=<point>:<n>` with `FAUNA_SYNC_TEST_PAUSE_FILE=<path>` pauses
//! instead, the `n`-th time the point is reached: the process creates `<path>.paused` and
//! waits until `<path>` exists, so a test changes the server (writes, its clock) at an exact
//! moment of the run without racing the machine's speed. It aborts instead once `<path>`'s
//! directory is gone (the test failed and dropped it) or after 10 minutes.

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

    fn pause_target() -> Option<&'static (String, u64, std::path::PathBuf)> {
        static TARGET: OnceLock<Option<(String, u64, std::path::PathBuf)>> = OnceLock::new();
        TARGET
            .get_or_init(|| {
                let v = std::env::var("FAUNA_SYNC_TEST_PAUSE_AT").ok()?;
                let file = std::env::var_os("FAUNA_SYNC_TEST_PAUSE_FILE")?;
                let (name, n) = v.rsplit_once(':')?;
                Some((name.to_string(), n.parse().ok()?, file.into()))
            })
            .as_ref()
    }

    static PAUSE_HITS: AtomicU64 = AtomicU64::new(0);

    /// Pauses here (blocking the thread) if this is the hit the test asked for.
    pub fn pause(point: &str) {
        let Some((name, n, file)) = pause_target() else {
            return;
        };
        if name != point || PAUSE_HITS.fetch_add(1, Ordering::SeqCst) + 1 != *n {
            return;
        }
        let mut paused = file.clone().into_os_string();
        paused.push(".paused");
        let _ = std::fs::write(&paused, b"");
        // A test that failed meanwhile never writes the file; its temporary directory goes
        // with it, and then so does this process (and after 10 minutes in any case).
        let dir = file.parent().map(std::path::Path::to_path_buf);
        let since = std::time::Instant::now();
        while !file.exists() {
            let orphaned = dir.as_ref().is_some_and(|d| !d.exists());
            if orphaned || since.elapsed() > std::time::Duration::from_secs(600) {
                std::process::abort();
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
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
    #[cfg(feature = "test-hooks")]
    hooks::pause(point);
    if armed(point) {
        std::process::abort();
    }
}
