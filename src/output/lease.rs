//! The lease `<prefix>/_lock`: one run at a time on an object-store output.
//!
//! A run creates the object conditionally (`PutMode::Create`) with its pid, host and an expiry,
//! renews it (a conditional update on the version it wrote) at most once a minute while it
//! commits, and deletes it at the end. A second run finds it and fails at once with the local
//! lock's error ([`LockError::Held`], exit code 75). A lease past its expiry (its holder died
//! without deleting it), or one whose holder ran on this host and no longer exists (killed, like
//! the local lock the operating system releases), is taken over with a conditional update on the
//! version read, so of two runs racing for a stale lease only one wins.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use serde::{Deserialize, Serialize};

use super::store_url::StoreUrl;
use super::OutputError;
use crate::lock::LockError;

/// The lease object's name under the output prefix.
pub const LEASE_FILE: &str = "_lock";

/// How long a lease is valid after its last renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(15 * 60);

/// How often a committing run renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(60);

/// What the lease object holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LeaseRecord {
    pid: u32,
    host: String,
    /// Seconds since the epoch.
    started: i64,
    /// Seconds since the epoch; a lease past it may be taken over.
    expires: i64,
}

impl LeaseRecord {
    /// Whether another run may take the lease over now.
    fn is_stale(&self, host: &str) -> bool {
        self.expires <= now_secs() || (self.host == host && !process_exists(self.pid))
    }

    fn describe(&self) -> String {
        format!(
            "pid {} on {}, started {}, lease valid until {}",
            self.pid,
            self.host,
            fmt_time(self.started),
            fmt_time(self.expires)
        )
    }
}

fn fmt_time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| secs.to_string())
}

/// Whether process `pid` exists on this host (Linux: `/proc/<pid>`; elsewhere assumed to).
fn process_exists(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown host".into())
}

struct Held {
    version: UpdateVersion,
    record: LeaseRecord,
    renewed: Instant,
}

/// A held lease.
pub struct Lease {
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    url: String,
    held: Mutex<Held>,
}

impl Lease {
    /// Takes the lease of `url`'s output, or fails with [`LockError::Held`] naming the holder.
    pub async fn acquire(
        store: Arc<dyn ObjectStore>,
        url: &StoreUrl,
    ) -> Result<Lease, OutputError> {
        let key = url.key(LEASE_FILE)?;
        let lease_url = url.url_of(LEASE_FILE);
        let started = now_secs();
        let record = LeaseRecord {
            pid: std::process::id(),
            host: host_name(),
            started,
            expires: started + LEASE_TTL.as_secs() as i64,
        };
        let held = |version| Held {
            version,
            record: record.clone(),
            renewed: Instant::now(),
        };
        match put(&store, &key, &record, PutMode::Create).await {
            Ok(v) => {
                return Ok(Lease {
                    store,
                    key,
                    url: lease_url,
                    held: Mutex::new(held(v)),
                })
            }
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => {}
            Err(source) => {
                return Err(OutputError::Store {
                    op: "create the lease",
                    url: lease_url,
                    source,
                })
            }
        }
        // Someone holds (or held) it: take it over only once it has expired.
        let found = store.get(&key).await;
        let (existing, version) = match found {
            Ok(r) => {
                let version = UpdateVersion {
                    e_tag: r.meta.e_tag.clone(),
                    version: r.meta.version.clone(),
                };
                let bytes = r.bytes().await.map_err(|source| OutputError::Store {
                    op: "read the lease",
                    url: lease_url.clone(),
                    source,
                })?;
                (serde_json::from_slice::<LeaseRecord>(&bytes).ok(), version)
            }
            Err(source) => {
                return Err(OutputError::Store {
                    op: "read the lease",
                    url: lease_url,
                    source,
                })
            }
        };
        let held_by = |holder: String| {
            OutputError::Locked(LockError::Held {
                path: lease_url.clone().into(),
                holder,
            })
        };
        match &existing {
            Some(r) if !r.is_stale(&record.host) => return Err(held_by(r.describe())),
            Some(r) => {
                tracing::warn!(holder = %r.describe(), url = %lease_url, "Taking over a stale lease (expired, or its process on this host is gone): its run ended without releasing it.")
            }
            None => tracing::warn!(url = %lease_url, "Taking over an unreadable lease."),
        }
        match put(&store, &key, &record, PutMode::Update(version)).await {
            Ok(v) => Ok(Lease {
                store,
                key,
                url: lease_url,
                held: Mutex::new(held(v)),
            }),
            Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::NotFound { .. }) => Err(held_by(
                "another run that took over the expired lease at the same time".into(),
            )),
            Err(source) => Err(OutputError::Store {
                op: "take over the lease",
                url: lease_url,
                source,
            }),
        }
    }

    /// Extends the lease when the last renewal is a minute old; fails with
    /// [`LockError::Held`] when another run took it over meanwhile.
    pub async fn renew_if_due(&self) -> Result<(), OutputError> {
        let (version, mut record) = {
            let held = self.held.lock().map_err(|_| self.poisoned())?;
            if held.renewed.elapsed() < RENEW_EVERY {
                return Ok(());
            }
            (held.version.clone(), held.record.clone())
        };
        record.expires = now_secs() + LEASE_TTL.as_secs() as i64;
        match put(&self.store, &self.key, &record, PutMode::Update(version)).await {
            Ok(v) => {
                let mut held = self.held.lock().map_err(|_| self.poisoned())?;
                *held = Held {
                    version: v,
                    record,
                    renewed: Instant::now(),
                };
                Ok(())
            }
            Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::NotFound { .. }) => Err(self.poisoned()),
            Err(source) => Err(OutputError::Store {
                op: "renew the lease",
                url: self.url.clone(),
                source,
            }),
        }
    }

    fn poisoned(&self) -> OutputError {
        OutputError::Locked(LockError::Held {
            path: self.url.clone().into(),
            holder: "another run took over this run's lease after it expired".into(),
        })
    }

    /// Deletes the lease if it is still this run's (a failure only leaves it to expire).
    pub async fn release(&self) {
        let version = match self.held.lock() {
            Ok(h) => h.version.clone(),
            Err(_) => return,
        };
        let still_ours = match self.store.head(&self.key).await {
            Ok(meta) => meta.e_tag == version.e_tag && meta.version == version.version,
            Err(e) => {
                tracing::debug!(url = %self.url, error = %e, "Could not read the lease back.");
                false
            }
        };
        if still_ours {
            if let Err(e) = self.store.delete(&self.key).await {
                tracing::warn!(url = %self.url, error = %e, "Could not delete the lease; it expires by itself.");
            }
        }
    }
}

async fn put(
    store: &Arc<dyn ObjectStore>,
    key: &ObjectPath,
    record: &LeaseRecord,
    mode: PutMode,
) -> Result<UpdateVersion, object_store::Error> {
    let mut bytes = serde_json::to_vec(record).unwrap_or_default();
    bytes.push(b'\n');
    let r = store
        .put_opts(key, bytes.into(), PutOptions::from(mode))
        .await?;
    Ok(r.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use object_store::memory::InMemory;

    fn url() -> StoreUrl {
        StoreUrl::parse(std::path::Path::new("s3://b/p"))
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn a_held_lease_refuses_a_second_run_until_released() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let first = Lease::acquire(store.clone(), &url()).await.unwrap();
        let Err(e) = Lease::acquire(store.clone(), &url()).await else {
            panic!("a second lease")
        };
        assert_eq!(e.kind(), ErrorKind::Locked);
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!(
                "another fauna-sync run holds s3://b/p/_lock (pid {} on ",
                std::process::id()
            )),
            "{msg}"
        );
        first.release().await;
        let second = Lease::acquire(store.clone(), &url()).await.unwrap();
        second.release().await;
        assert!(store.head(&url().key(LEASE_FILE).unwrap()).await.is_err());
    }

    #[tokio::test]
    async fn a_live_lease_of_a_process_gone_from_this_host_is_taken_over() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let key = url().key(LEASE_FILE).unwrap();
        let mut record = LeaseRecord {
            pid: u32::MAX,
            host: host_name(),
            started: now_secs(),
            expires: now_secs() + 600,
        };
        put(&store, &key, &record, PutMode::Create).await.unwrap();
        let taker = Lease::acquire(store.clone(), &url()).await.unwrap();
        taker.release().await;
        // The same record from another host must wait for the expiry.
        record.host = "elsewhere".into();
        put(&store, &key, &record, PutMode::Create).await.unwrap();
        let Err(e) = Lease::acquire(store.clone(), &url()).await else {
            panic!("took a live lease of another host")
        };
        assert_eq!(e.kind(), ErrorKind::Locked);
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_and_its_holder_cannot_renew() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let key = url().key(LEASE_FILE).unwrap();
        let stale = Lease::acquire(store.clone(), &url()).await.unwrap();
        let expired = LeaseRecord {
            pid: 1,
            host: "gone".into(),
            started: 0,
            expires: now_secs() - 1,
        };
        let v = put(&store, &key, &expired, PutMode::Overwrite)
            .await
            .unwrap();
        stale.held.lock().unwrap().version = v;
        let taker = Lease::acquire(store.clone(), &url()).await.unwrap();
        // The old holder's next renewal fails: it must stop.
        stale.held.lock().unwrap().renewed = Instant::now() - RENEW_EVERY;
        let e = stale.renew_if_due().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Locked);
        // And its release leaves the new holder's lease alone.
        stale.release().await;
        assert!(store.head(&key).await.is_ok());
        taker.release().await;
    }
}
