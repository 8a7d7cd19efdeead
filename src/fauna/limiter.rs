//! AIMD concurrency limit: how many queries the client keeps in flight. It starts at the
//! maximum, halves (down to 1) when Fauna says it is overloaded (429, 503 "too many pending"),
//! and grows by one after every `limit` successful queries, back up to the maximum.

use std::sync::Mutex;

use tokio::sync::Notify;

/// Default maximum of queries in flight.
pub const DEFAULT_MAX_CONCURRENCY: usize = 8;

/// Counters of the limit, for the run summary and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitStats {
    /// Queries allowed in flight now.
    pub limit: usize,
    /// The configured maximum.
    pub max: usize,
    /// Times the limit was halved.
    pub shrinks: u64,
    /// Times the limit grew by one.
    pub grows: u64,
}

#[derive(Debug)]
struct State {
    limit: usize,
    max: usize,
    in_flight: usize,
    /// Successes since the limit last changed.
    successes: usize,
    /// Bumped on every halving: a permit taken before it reports overload without halving
    /// again (one burst of 429s halves once).
    epoch: u64,
    shrinks: u64,
    grows: u64,
}

/// A client-wide limit of queries in flight, adjusted additively up and multiplicatively down.
#[derive(Debug)]
pub struct Limiter {
    state: Mutex<State>,
    freed: Notify,
}

/// One query's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a Limiter,
    epoch: u64,
}

impl Limiter {
    /// A limit starting at (and never above) `max` (at least 1).
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Limiter {
            state: Mutex::new(State {
                limit: max,
                max,
                in_flight: 0,
                successes: 0,
                epoch: 0,
                shrinks: 0,
                grows: 0,
            }),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the maximum (at least 1); the current limit is cut to it if above.
    pub fn set_max(&self, max: usize) {
        let mut s = self.lock();
        s.max = max.max(1);
        s.limit = s.limit.min(s.max);
        if s.limit < s.max && s.shrinks == 0 {
            // Never throttled yet: start at the new maximum.
            s.limit = s.max;
        }
        drop(s);
        self.freed.notify_waiters();
    }

    /// Waits for a free slot.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut s = self.lock();
                if s.in_flight < s.limit {
                    s.in_flight += 1;
                    return Permit {
                        limiter: self,
                        epoch: s.epoch,
                    };
                }
            }
            freed.await;
        }
    }

    /// The counters.
    pub fn stats(&self) -> LimitStats {
        let s = self.lock();
        LimitStats {
            limit: s.limit,
            max: s.max,
            shrinks: s.shrinks,
            grows: s.grows,
        }
    }
}

impl Permit<'_> {
    /// The query succeeded: after `limit` successes the limit grows by one (up to the max).
    pub fn succeeded(&self) {
        let mut s = self.limiter.lock();
        s.successes += 1;
        if s.successes >= s.limit && s.limit < s.max {
            s.limit += 1;
            s.successes = 0;
            s.grows += 1;
            drop(s);
            self.limiter.freed.notify_waiters();
        }
    }

    /// Fauna said it is overloaded: halve the limit (min 1), once per burst.
    pub fn overloaded(&self) {
        let mut s = self.limiter.lock();
        if s.epoch == self.epoch {
            s.limit = (s.limit / 2).max(1);
            s.successes = 0;
            s.epoch += 1;
            s.shrinks += 1;
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut s = self.limiter.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        drop(s);
        self.limiter.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn halves_once_per_burst_and_grows_by_one_per_limit_successes() {
        let l = Limiter::new(8);
        assert_eq!(l.stats().limit, 8);
        // Three queries in flight all get a 429: one halving.
        let (a, b, c) = (l.acquire().await, l.acquire().await, l.acquire().await);
        a.overloaded();
        b.overloaded();
        c.overloaded();
        drop((a, b, c));
        assert_eq!(
            l.stats(),
            LimitStats {
                limit: 4,
                max: 8,
                shrinks: 1,
                grows: 0
            }
        );
        // A later overload halves again, down to 1 and no further.
        for want in [2, 1, 1] {
            let p = l.acquire().await;
            p.overloaded();
            assert_eq!(l.stats().limit, want);
        }
        assert_eq!(l.stats().shrinks, 4);
        // At limit 1, one success grows it to 2; then two successes to 3.
        let p = l.acquire().await;
        p.succeeded();
        drop(p);
        assert_eq!(l.stats().limit, 2);
        for _ in 0..2 {
            l.acquire().await.succeeded();
        }
        assert_eq!(l.stats().limit, 3);
        assert_eq!(l.stats().grows, 2);
    }

    #[tokio::test]
    async fn never_lets_more_than_the_limit_in_flight() {
        let l = std::sync::Arc::new(Limiter::new(2));
        let a = l.acquire().await;
        let _b = l.acquire().await;
        let l2 = std::sync::Arc::clone(&l);
        let third = tokio::spawn(async move {
            let _p = l2.acquire().await;
        });
        tokio::task::yield_now().await;
        assert!(!third.is_finished());
        drop(a);
        third.await.unwrap();
    }

    #[test]
    fn the_maximum_is_settable_and_caps_the_limit() {
        let l = Limiter::new(DEFAULT_MAX_CONCURRENCY);
        l.set_max(3);
        assert_eq!(l.stats().limit, 3);
        l.set_max(16);
        assert_eq!(l.stats().limit, 16);
        l.set_max(0);
        assert_eq!(l.stats().limit, 1);
    }
}
