//! `check` and `discover` word the run's checks (`crate::run::collection`,
//! `crate::run::configured_index`) as source-fauna did: "Collection 'x' does not exist", an
//! index problem in its words, a refused privilege naming what was being read.

use crate::fauna::FaunaClient;
use crate::run::{collection, configured_index, CollectionProblem, IndexProblem};

use super::error::AirbyteError;

/// Fails unless collection `name` exists and the key can read its documents.
pub async fn check_collection(client: &FaunaClient, name: &str) -> Result<(), AirbyteError> {
    match collection(client, name).await {
        Ok(_) => Ok(()),
        Err(CollectionProblem::Missing(_)) => Err(AirbyteError::Mismatch(format!(
            "Collection '{name}' does not exist"
        ))),
        Err(CollectionProblem::Unreadable(e)) => Err(AirbyteError::fauna(format!(
            "reading the documents of collection '{name}'"
        ))(e)),
        Err(CollectionProblem::Failed { context, source }) => {
            Err(AirbyteError::fauna(context)(source))
        }
    }
}

/// Fails unless index `index` exists, serves `collection` with no terms and values
/// `[ts, ref]`, and the key can read its entries.
pub async fn check_index(
    client: &FaunaClient,
    collection: &str,
    index: &str,
) -> Result<(), AirbyteError> {
    match configured_index(client, collection, index).await {
        Ok(()) => Ok(()),
        Err(IndexProblem::Missing(_)) => Err(AirbyteError::Mismatch(format!(
            "Index '{index}' does not exist"
        ))),
        Err(IndexProblem::Unfit(problem)) => Err(AirbyteError::Mismatch(problem)),
        Err(IndexProblem::Unreadable(e) | IndexProblem::Failed(e)) => {
            Err(AirbyteError::fauna(format!("reading index '{index}'"))(e))
        }
        Err(IndexProblem::EntriesUnreadable(e)) => Err(AirbyteError::fauna(format!(
            "reading the entries of index '{index}'"
        ))(e)),
    }
}
