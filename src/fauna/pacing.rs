//! Adaptive page size of one read stream (`spec/paging.md`).
//!
//! The configured size is the start. After a full page that took at most half the time target
//! and whose bytes leave room, the size doubles (up to [`MAX_PAGE_SIZE`] and to what the byte
//! budget fits at the measured bytes per item, less [`GROWTH_HEADROOM`]). A page over the byte
//! budget shrinks the size to that too; a page slower than the target halves it. A page that failed as too
//! large (query time out, 408, a client-side timeout, 413) halves it and is asked again, and
//! growth then pauses for [`HOLD_PAGES`] pages (doubling on each further failure, up to
//! [`MAX_HOLD_PAGES`]). A pinned pacer never changes its size.
//!
//! Partitions of one stream share one pacer: it is `Send + Sync` and a lock held only for the
//! arithmetic. Only the number of items a request asks for changes, never its cursor.

use std::sync::Mutex;
use std::time::Duration;

/// Fauna's largest page (larger sizes are clamped by the server).
pub const MAX_PAGE_SIZE: u32 = 100_000;

/// The response bytes a page should stay within, by default (a client reading several
/// ranges at once divides it among them, `FaunaClient::set_page_byte_budget`).
pub const PAGE_BYTE_BUDGET: u64 = 8 * 1024 * 1024;

/// Growth, and a shrink of a page over the budget, stop at what the byte budget fits less one
/// part in this many (about 3 %: the bytes per item of pages of a thousand documents vary far
/// less), so that pages of documents a little larger than the last do not cross the budget.
pub const GROWTH_HEADROOM: u64 = 32;

/// The time a page should take at most, by default.
pub const PAGE_TIME_TARGET: Duration = Duration::from_secs(1);

/// Pages without growth after the first too-large failure.
pub const HOLD_PAGES: u32 = 16;

/// The longest pause of growth after repeated failures.
pub const MAX_HOLD_PAGES: u32 = 1024;

/// What a successful page measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The size the request asked for.
    pub requested: u32,
    /// Items the page held.
    pub items: usize,
    /// Response body bytes.
    pub bytes: u64,
    /// Time from sending the request to the end of the response.
    pub elapsed: Duration,
}

/// Counters of a pacer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacerStats {
    /// The size the next request asks for.
    pub size: u32,
    /// Times the size grew.
    pub grows: u64,
    /// Times it shrank (slow or over-budget pages and too-large failures).
    pub shrinks: u64,
    /// Pages that failed as too large and were asked again smaller.
    pub too_large: u64,
}

#[derive(Debug)]
struct State {
    size: u32,
    /// Successful pages left before the size may grow again.
    hold: u32,
    /// The next hold after a failure.
    next_hold: u32,
    stats: PacerStats,
}

/// The page size of one read stream.
#[derive(Debug)]
pub struct Pacer {
    fixed: bool,
    target: Duration,
    budget: u64,
    state: Mutex<State>,
}

/// The size after a successful page of `o`, from `o.requested` alone: the pure arithmetic of
/// the module doc (`hold` = growth paused, `target` = the time a page should take at most).
pub fn next_size(o: &Outcome, hold: bool, target: Duration) -> u32 {
    next_size_within(o, hold, target, PAGE_BYTE_BUDGET)
}

/// [`next_size`] with another byte budget than [`PAGE_BYTE_BUDGET`].
pub fn next_size_within(o: &Outcome, hold: bool, target: Duration, budget: u64) -> u32 {
    let requested = o.requested.clamp(1, MAX_PAGE_SIZE);
    // Items of the measured size that fit `bytes`.
    let within = |bytes: u64| -> u32 {
        let n = if o.items == 0 || o.bytes == 0 {
            u128::from(MAX_PAGE_SIZE)
        } else {
            u128::from(bytes) * o.items as u128 / u128::from(o.bytes)
        };
        n.clamp(1, u128::from(MAX_PAGE_SIZE)) as u32
    };
    // Growth and a shrink to the budget stop short of it by GROWTH_HEADROOM: a page sized to
    // exactly what the last one's bytes per item fit goes over whenever the next documents
    // are a few bytes larger, and is trimmed (a shrink) on a fault-free server, page after page.
    let room = within(budget - budget / GROWTH_HEADROOM);
    if o.bytes > budget {
        return room.min(requested).max(1);
    }
    if o.elapsed > target {
        return (requested / 2).max(1);
    }
    let full = o.items >= requested as usize;
    if !hold && full && o.elapsed.saturating_mul(2) <= target {
        return requested.saturating_mul(2).min(room).max(requested);
    }
    requested
}

impl Pacer {
    /// A pacer starting at `start` (clamped to 1..=[`MAX_PAGE_SIZE`]); `fixed` pins it there.
    pub fn new(start: u32, fixed: bool) -> Self {
        Self::with_target(start, fixed, PAGE_TIME_TARGET)
    }

    /// [`Pacer::new`] with another time target than [`PAGE_TIME_TARGET`].
    pub fn with_target(start: u32, fixed: bool, target: Duration) -> Self {
        Self::with_limits(start, fixed, target, PAGE_BYTE_BUDGET)
    }

    /// [`Pacer::with_target`] with another byte budget than [`PAGE_BYTE_BUDGET`].
    pub fn with_limits(start: u32, fixed: bool, target: Duration, budget: u64) -> Self {
        let size = start.clamp(1, MAX_PAGE_SIZE);
        Pacer {
            fixed,
            target,
            budget: budget.max(1),
            state: Mutex::new(State {
                size,
                hold: 0,
                next_hold: HOLD_PAGES,
                stats: PacerStats {
                    size,
                    ..PacerStats::default()
                },
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The size the next request asks for.
    pub fn size(&self) -> u32 {
        self.lock().size
    }

    /// Whether a too-large failure of a page of `requested` items can be retried smaller.
    pub fn can_shrink(&self, requested: u32) -> bool {
        !self.fixed && requested > 1
    }

    /// Records a successful page. Growth applies only from the current size (a partition
    /// reporting an older, smaller size does not undo another's growth); a shrink always does.
    pub fn succeeded(&self, o: &Outcome) {
        if self.fixed {
            return;
        }
        let mut s = self.lock();
        let next = next_size_within(o, s.hold > 0, self.target, self.budget);
        s.hold = s.hold.saturating_sub(1);
        if next > o.requested && o.requested >= s.size && next > s.size {
            s.size = next;
            s.stats.grows += 1;
        } else if next < o.requested && next < s.size {
            s.size = next;
            s.stats.shrinks += 1;
        }
        s.stats.size = s.size;
    }

    /// Records that a page of `requested` items failed as too large; returns the size to ask
    /// for instead, or `None` when the size is pinned or already 1 (the failure stands).
    pub fn too_large(&self, requested: u32) -> Option<u32> {
        if !self.can_shrink(requested) {
            return None;
        }
        let mut s = self.lock();
        let half = (requested / 2).max(1);
        if half < s.size {
            s.size = half;
            s.stats.shrinks += 1;
        }
        s.stats.too_large += 1;
        s.hold = s.next_hold;
        s.next_hold = s.next_hold.saturating_mul(2).min(MAX_HOLD_PAGES);
        s.stats.size = s.size;
        Some(s.size)
    }

    /// The counters.
    pub fn stats(&self) -> PacerStats {
        self.lock().stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(requested: u32, items: usize, bytes: u64, ms: u64) -> Outcome {
        Outcome {
            requested,
            items,
            bytes,
            elapsed: Duration::from_millis(ms),
        }
    }

    #[test]
    fn doubles_after_fast_full_pages_up_to_the_cap() {
        assert_eq!(
            next_size(&page(64, 64, 64 * 630, 20), false, PAGE_TIME_TARGET),
            128
        );
        assert_eq!(
            next_size(&page(64, 64, 64 * 630, 500), false, PAGE_TIME_TARGET),
            128
        );
        assert_eq!(
            next_size(
                &page(80_000, 80_000, 80_000 * 50, 20),
                false,
                PAGE_TIME_TARGET
            ),
            100_000
        );
        assert_eq!(
            next_size(
                &page(100_000, 100_000, 1_000_000, 20),
                false,
                PAGE_TIME_TARGET
            ),
            100_000
        );
    }

    #[test]
    fn holds_on_partial_slowish_or_paused_pages() {
        // The last page of a stream is not full.
        assert_eq!(
            next_size(&page(64, 10, 6300, 20), false, PAGE_TIME_TARGET),
            64
        );
        // Over half the target: doubling would exceed it.
        assert_eq!(
            next_size(&page(64, 64, 64 * 630, 501), false, PAGE_TIME_TARGET),
            64
        );
        assert_eq!(
            next_size(&page(64, 64, 64 * 630, 20), true, PAGE_TIME_TARGET),
            64
        );
        // Empty pages say nothing about sizes.
        assert_eq!(next_size(&page(64, 0, 30, 20), false, PAGE_TIME_TARGET), 64);
    }

    #[test]
    fn growth_stops_at_what_the_byte_budget_fits() {
        // 100 KiB per document: 8 MiB fits 81 of them; growth stops a 32nd short, at 79.
        let per_doc = 100 * 1024;
        assert_eq!(
            next_size(&page(64, 64, 64 * per_doc, 20), false, PAGE_TIME_TARGET),
            79
        );
        // Within the budget, at or past the headroom: it holds (no shrink).
        for at in [79u32, 81] {
            let o = page(at, at as usize, u64::from(at) * per_doc, 20);
            assert_eq!(next_size(&o, false, PAGE_TIME_TARGET), at);
        }
        // Documents 0.1 % larger than the last page's: still within the budget, no trim.
        let full = (8 << 20) * 31 / 32 / 1000 * 1000;
        let bigger = page(1000, 1000, full * 1001 / 1000, 20);
        assert_eq!(next_size(&bigger, false, PAGE_TIME_TARGET), 1000);
    }

    #[test]
    fn shrinks_to_the_budget_on_big_pages_and_halves_on_slow_ones() {
        // 1 MiB per document, 64 asked: 16 items of the page exceed the budget → 7 (8 fit,
        // less the headroom).
        assert_eq!(
            next_size(&page(64, 16, 16 << 20, 100), false, PAGE_TIME_TARGET),
            7
        );
        // A single item over the budget: 1.
        assert_eq!(
            next_size(&page(4, 1, 9 << 20, 100), false, PAGE_TIME_TARGET),
            1
        );
        assert_eq!(
            next_size(&page(1000, 1000, 1000, 1001), false, PAGE_TIME_TARGET),
            500
        );
        assert_eq!(next_size(&page(1, 1, 10, 5000), false, PAGE_TIME_TARGET), 1);
    }

    #[test]
    fn too_large_halves_pauses_growth_and_backs_off_growth_longer_each_time() {
        let p = Pacer::new(512, false);
        assert_eq!(p.too_large(512), Some(256));
        for _ in 0..HOLD_PAGES {
            p.succeeded(&page(256, 256, 1000, 1));
            assert_eq!(p.size(), 256);
        }
        p.succeeded(&page(256, 256, 1000, 1));
        assert_eq!(p.size(), 512);
        assert_eq!(p.too_large(512), Some(256));
        for _ in 0..2 * HOLD_PAGES {
            p.succeeded(&page(256, 256, 1000, 1));
        }
        assert_eq!(p.size(), 256);
        p.succeeded(&page(256, 256, 1000, 1));
        assert_eq!(p.size(), 512);
        assert_eq!(
            p.stats(),
            PacerStats {
                size: 512,
                grows: 2,
                shrinks: 2,
                too_large: 2
            }
        );
        assert_eq!(Pacer::new(1, false).too_large(1), None);
    }

    #[test]
    fn a_pinned_pacer_never_changes() {
        let p = Pacer::new(64, true);
        p.succeeded(&page(64, 64, 100, 1));
        assert_eq!(p.too_large(64), None);
        assert_eq!(p.size(), 64);
        assert_eq!(p.stats().grows + p.stats().shrinks, 0);
        assert_eq!(Pacer::new(0, true).size(), 1);
        assert_eq!(Pacer::new(200_000, false).size(), MAX_PAGE_SIZE);
    }

    #[test]
    fn partitions_sharing_a_pacer_do_not_undo_each_other() {
        let p = Pacer::new(64, false);
        p.succeeded(&page(64, 64, 100, 1)); // → 128
        p.succeeded(&page(64, 64, 100, 1)); // an older 64-item page: stays 128
        assert_eq!(p.size(), 128);
        p.too_large(128); // → 64
        p.succeeded(&page(128, 128, 100, 1)); // a 128 page still in flight: no growth back
        assert_eq!(p.size(), 64);
    }
}
