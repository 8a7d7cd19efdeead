//! How often a pinned time may fall out of the history window before a strategy gives up.

use super::error::ExportError;

/// Expiries in a row without a committed record in between that a strategy tolerates (each is
/// followed by a retry at a newer time).
const MAX_EXPIRIES: u32 = 8;

/// Counts expiries of a strategy's pinned time; progress (more committed records) resets it.
#[derive(Debug, Default)]
pub(crate) struct ExpiryBudget {
    count: u32,
    rows_at_last: Option<u64>,
}

impl ExpiryBudget {
    /// Records the expiry `e` with `rows` committed so far: `Ok` to retry at a newer time,
    /// `Err(e)` once the budget is spent.
    pub fn spend(&mut self, rows: u64, e: ExportError) -> Result<(), ExportError> {
        if self.allow(rows) {
            Ok(())
        } else {
            Err(e)
        }
    }

    /// Records an expiry with `rows` committed so far; false once the budget is spent.
    fn allow(&mut self, rows: u64) -> bool {
        self.count = if self.rows_at_last == Some(rows) {
            self.count + 1
        } else {
            1
        };
        self.rows_at_last = Some(rows);
        self.count <= MAX_EXPIRIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_expiries_without_progress_count() {
        let mut b = ExpiryBudget::default();
        for _ in 0..MAX_EXPIRIES {
            assert!(b.allow(5));
        }
        assert!(!b.allow(5));
        assert!(b.allow(6), "progress resets the count");
    }
}
