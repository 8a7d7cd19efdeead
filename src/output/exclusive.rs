//! One run at a time on an output: a lock file (`flock`) for a local directory, the lease
//! object for a store ([`super::Lease`]). The output confirms it before each commit.

use std::sync::Mutex;

use async_trait::async_trait;

use super::OutputError;
use crate::lock::RunLock;

/// What keeps other runs off an output while this one runs.
#[async_trait]
pub trait ExclusiveRun: Send + Sync {
    /// Confirms, before a commit, that this run still holds the output (a lease is renewed
    /// when due); fails with `LockError::Held` when another run took it over.
    async fn confirm(&self) -> Result<(), OutputError>;

    /// Lets go of the output.
    async fn release(&self);
}

/// The lock files of a local output: the operating system releases them when the process
/// ends, however it ends, so nothing can take them over.
#[derive(Debug)]
pub struct LockFiles(Mutex<Option<RunLock>>);

impl LockFiles {
    /// Holds `lock`.
    pub fn new(lock: RunLock) -> Self {
        LockFiles(Mutex::new(Some(lock)))
    }
}

#[async_trait]
impl ExclusiveRun for LockFiles {
    async fn confirm(&self) -> Result<(), OutputError> {
        Ok(())
    }

    async fn release(&self) {
        let lock = self.0.lock().map(|mut l| l.take()).unwrap_or_default();
        drop(lock);
    }
}

#[async_trait]
impl ExclusiveRun for super::Lease {
    async fn confirm(&self) -> Result<(), OutputError> {
        self.renew_if_due().await
    }

    async fn release(&self) {
        super::Lease::release(self).await
    }
}
