//! Schema contracts: what a batch may do to a stream's column plan.

use serde::{Deserialize, Serialize};

use super::{first_unplanned, ColumnPlan, SchemaError};
use crate::fauna::Value;

/// What happens when a batch holds a value the plan has no column for (a new path, or a new
/// type at a known path), after the stream's first batch (which always evolves).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contract {
    /// The plan grows (new columns, new variants).
    #[default]
    Evolve,
    /// The run stops with [`SchemaError::Frozen`] naming the document, path and kind.
    Freeze,
    /// Documents with such a value are left out of the batch (counted).
    DiscardRow,
    /// Such values are left out of the typed columns (counted); the document is written, and
    /// its `data` column keeps them.
    DiscardValue,
}

/// What a batch does under a contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractDecision {
    /// Per document: written or not.
    pub keep: Vec<bool>,
    /// Whether the plan grows from the kept documents' schema.
    pub grow: bool,
    /// Whether values without a column are skipped when writing (else they are errors).
    pub skip_unplanned: bool,
    /// Documents left out (`discard_row`).
    pub discarded_rows: u64,
    /// Documents with at least one value left out (`discard_value`).
    pub discarded_values: u64,
}

/// Applies `contract` to a batch of `(id, data)` under `plan` (the plan before the batch).
pub fn decide(
    contract: Contract,
    plan: &ColumnPlan,
    docs: &[(&str, &Value)],
) -> Result<ContractDecision, SchemaError> {
    let mut decision = ContractDecision {
        keep: vec![true; docs.len()],
        grow: contract == Contract::Evolve,
        skip_unplanned: contract == Contract::DiscardValue,
        discarded_rows: 0,
        discarded_values: 0,
    };
    if contract == Contract::Evolve {
        return Ok(decision);
    }
    for (i, (id, data)) in docs.iter().enumerate() {
        let Some((path, kind)) = first_unplanned(plan, data) else {
            continue;
        };
        match contract {
            Contract::Evolve => {}
            Contract::Freeze => {
                return Err(SchemaError::Frozen {
                    id: id.to_string(),
                    path: path.to_json(),
                    kind: kind.tag(),
                })
            }
            Contract::DiscardRow => {
                decision.keep[i] = false;
                decision.discarded_rows += 1;
            }
            Contract::DiscardValue => decision.discarded_values += 1,
        }
    }
    Ok(decision)
}
