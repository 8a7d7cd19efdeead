//! The transaction clock: strictly increasing write times in microseconds, read snapshots that
//! never overtake the next write.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock microseconds since the epoch.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Issues transaction and snapshot times.
#[derive(Debug, Default)]
pub struct Clock {
    /// The last committed (or loaded) write time.
    last_write: AtomicI64,
    /// The highest time handed out to anyone (reads included).
    issued: AtomicI64,
    /// Microseconds added to the wall clock ([`Clock::advance`]): tests move time past a
    /// history window or a ttl instead of sleeping.
    offset: AtomicI64,
}

impl Clock {
    /// The wall clock plus the offset tests moved it by.
    pub fn now(&self) -> i64 {
        now_micros().saturating_add(self.offset.load(Ordering::SeqCst))
    }

    /// Moves this clock `micros` ahead of the wall clock (cumulative; never back).
    pub fn advance(&self, micros: i64) {
        self.offset.fetch_add(micros.max(0), Ordering::SeqCst);
    }

    /// A snapshot time for a read: `max(now, last write)`; never below an earlier snapshot.
    pub fn read_time(&self) -> i64 {
        let t = self.now().max(self.last_write.load(Ordering::SeqCst));
        let prev = self.issued.fetch_max(t, Ordering::SeqCst);
        t.max(prev)
    }

    /// A time for a write transaction (call under the write lock): strictly above every time
    /// issued so far.
    pub fn write_time(&self) -> i64 {
        let issued = self.issued.load(Ordering::SeqCst);
        let last = self.last_write.load(Ordering::SeqCst);
        let t = self.now().max(issued.max(last).saturating_add(1));
        self.issued.fetch_max(t, Ordering::SeqCst);
        t
    }

    /// Records a committed write time.
    pub fn commit(&self, ts: i64) {
        self.last_write.fetch_max(ts, Ordering::SeqCst);
        self.issued.fetch_max(ts, Ordering::SeqCst);
    }

    /// The last committed write time.
    pub fn last_write(&self) -> i64 {
        self.last_write.load(Ordering::SeqCst)
    }
}
