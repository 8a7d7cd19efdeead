//! Readers: pages of Fauna data with the cursor that resumes exactly at each item. They own
//! their queries and know nothing of batches, outputs or state (`spec/architecture.md`).
//!
//! - [`Documents`]: `Documents(c)` in id order, at a pinned snapshot or at read time.
//! - [`IndexChanges`]: versions written since a time, through a `[ts, ref]` index.
//! - [`DeletionEvents`]: `remove` events of `Documents(c)` after a `(ts, ref)` cursor.
//! - [`Vanished`]: deletion records for exported ids no longer live at a time (reconciliation).

mod cursor;
mod database;
mod deletion_events;
mod document_page;
mod documents;
mod error;
mod index_changes;
mod index_check;
mod merged;
mod page;
mod paged;
mod removals;
mod split;
mod vanished;

pub use cursor::Cursor;
pub use database::{
    create_ts_ref_index_fql, fitting_index, index_names, is_ts_ref_index, list_collections,
    readable_indexes, ref_ids, retention, ts_ref_index, Retention, MVT_OFFSET_SECS,
};
pub use deletion_events::DeletionEvents;
pub use document_page::{DocumentPage, DocumentParts};
pub use documents::{cursor_id as document_cursor_id, Documents};
pub use error::ReadError;
pub use index_changes::{changes_exceed, IndexChanges};
pub use index_check::ts_ref_index_problem;
pub use merged::Merged;
pub use page::{now, query, Item, Page, Reader};
pub use paged::{paced_query, reads_documents, PagedStream};
pub use removals::no_removals_since;
pub use split::{sampled_split_points, split_points};
pub use vanished::Vanished;
