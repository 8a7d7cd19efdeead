//! Progress hooks.

/// Hooks for progress display; all optional.
pub trait Observer: Send + Sync {
    /// A page of `docs` documents was read.
    fn page_read(&self, _collection: &str, _docs: u64) {}
    /// A batch file was committed.
    fn batch_committed(&self, _collection: &str, _rows: u64, _bytes: u64) {}
    /// The run is done with the collection (read to its end, stopped or failed).
    fn collection_done(&self, _collection: &str) {}
    /// Whether the observer shows an expected total (the run then counts documents, briefly).
    fn wants_total(&self) -> bool {
        false
    }
    /// The collection is expected to hold `total` documents, `done` of which an earlier run
    /// committed.
    fn total_known(&self, _collection: &str, _total: u64, _done: u64) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}
