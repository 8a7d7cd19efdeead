//! The expected number of documents of a stream's full read, when Fauna counts them cheaply:
//! the CLI's ETA and Airbyte's ESTIMATE.

use super::client::COUNT_BUDGET;
use crate::config::CollectionSettings;
use crate::fauna::{Expr, FaunaClient, Value};
use crate::state::{Strategy, StreamState};

/// The documents a full read of `c` from `stream` is expected to hold and those already
/// committed, when there is a count client and Fauna counts them within [`COUNT_BUDGET`] (the
/// client's query timeout: the server stops counting then, so a large collection costs no more
/// than that). `None` outside a full read (an incremental window's size is unknown).
pub async fn expected_total(
    client: Option<&FaunaClient>,
    c: &CollectionSettings,
    stream: Option<&StreamState>,
) -> Option<(u64, u64)> {
    let (client, stream) = (client?, stream?);
    if !stream.position.in_full_read() {
        return None;
    }
    let count = Expr::count(Expr::documents(Expr::collection(&c.name)));
    let q = match stream.strategy {
        Strategy::Snapshot => Expr::at(stream.snapshot_ts, count),
        // An estimate: the collection keeps changing while it is read.
        Strategy::ScanCatchUp => count,
    };
    match tokio::time::timeout(COUNT_BUDGET * 2, client.query(&q)).await {
        Ok(Ok(Value::Int(n))) => Some((u64::try_from(n).ok()?, stream.rows)),
        Ok(Ok(_)) => None,
        Ok(Err(e)) => {
            tracing::debug!(collection = %c.name, %e, "No document count (no estimate).");
            None
        }
        Err(_) => None,
    }
}
