//! Checks made on every collection before any is read: it exists, how long it keeps
//! history, and whether the key can read its documents.

use super::error::ExportError;
use crate::config::CollectionSettings;
use crate::fauna::{Expr, FaunaClient, Value};
use crate::read::Retention;

/// Checks `c` and returns its retention. A missing collection and a key that sees documents
/// through `Count` but cannot read them are errors; a key that cannot read the collection
/// document itself gets the shortest retention assumed.
pub async fn check_collection(
    client: &FaunaClient,
    c: &CollectionSettings,
) -> Result<Retention, ExportError> {
    let retention = match client.query(&Expr::get(Expr::collection(&c.name))).await {
        Ok(doc) => match doc.as_object().and_then(|o| o.get("history_days")) {
            Some(Value::Int(d)) => Retention::Days(*d),
            _ => Retention::Forever,
        },
        Err(e) if e.status() == Some(403) => Retention::Unknown,
        Err(e) if e.status() == Some(400) || e.status() == Some(404) => {
            return Err(ExportError::Collection(format!(
                "collection '{}' does not exist (Fauna: {e}); check the name (names are case-sensitive) or remove it from the configuration",
                c.name
            )))
        }
        Err(e) => {
            return Err(ExportError::Fauna {
                context: format!("reading collection '{}'", c.name),
                source: e,
            })
        }
    };
    // Fauna leaves documents the key may not read out of pages without an error, so an
    // export without read permission would silently be empty: compare a one-document page
    // with a count of the same set.
    let probe = Expr::array([
        Expr::count(Expr::documents(Expr::collection(&c.name))),
        Expr::paginate(Expr::documents(Expr::collection(&c.name))).with("size", 1),
    ]);
    let denied = |detail: String| {
        ExportError::Permission(format!(
            "the key cannot read the documents of collection '{}' ({detail}); give its role read on Collection(\"{}\") (the connect-readonly role of spec/errors.md: read on Collections(), Indexes(), the collection and its index), or use another key",
            c.name, c.name
        ))
    };
    match client.query(&probe).await {
        Ok(Value::Array(parts)) => {
            let count = parts.first().and_then(Value::as_i64).unwrap_or(0);
            let page_empty = parts
                .get(1)
                .and_then(Value::as_object)
                .and_then(|p| p.get("data"))
                .and_then(Value::as_array)
                .is_none_or(|d| d.is_empty());
            if count > 0 && page_empty {
                return Err(denied(format!(
                    "Count(Documents) finds {count} but a page of them is empty"
                )));
            }
            Ok(retention)
        }
        Ok(_) => Ok(retention),
        Err(e) if e.status() == Some(403) => Err(denied(e.to_string())),
        Err(e) => Err(ExportError::Fauna {
            context: format!("reading the documents of collection '{}'", c.name),
            source: e,
        }),
    }
}
