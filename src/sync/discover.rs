//! What the key can see: the collections to export and how long each keeps history.

use crate::fauna::{Expr, FaunaClient, FaunaError, Value};

/// Fauna keeps reads valid this long beyond `history_days` (its minimum-valid-time offset).
pub const MVT_OFFSET_SECS: i64 = 15 * 60;

/// A collection's retention, from `Get(Collection(name))`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Retention {
    /// `history_days` absent or null: history is kept forever.
    Forever,
    /// History (and snapshot reads) are kept this many days (plus 15 minutes).
    Days(i64),
    /// The key may not read the collection document; assume the shortest (0 days).
    Unknown,
}

impl Retention {
    /// How long a snapshot taken now stays readable, in seconds (`None` = forever).
    pub fn window_secs(&self) -> Option<i64> {
        match self {
            Retention::Forever => None,
            Retention::Days(d) => Some(d.saturating_mul(86_400).saturating_add(MVT_OFFSET_SECS)),
            Retention::Unknown => Some(MVT_OFFSET_SECS),
        }
    }
}

/// Names of every collection the key can list, in Fauna's order.
pub async fn list_collections(client: &FaunaClient) -> Result<Vec<String>, FaunaError> {
    let mut names = Vec::new();
    let mut after: Option<Value> = None;
    loop {
        let mut q = Expr::paginate(Expr::collections()).with("size", 1000);
        if let Some(a) = after.take() {
            q = q.with("after", a);
        }
        let page = client.query(&q).await?;
        let page = page.as_object().cloned().unwrap_or_default();
        for item in page.get("data").and_then(Value::as_array).unwrap_or(&[]) {
            if let Some(r) = item.as_ref() {
                names.push(r.id.clone());
            }
        }
        match page.get("after") {
            Some(a) => after = Some(a.clone()),
            None => return Ok(names),
        }
    }
}

/// Reads `history_days` of a collection.
pub async fn retention(client: &FaunaClient, collection: &str) -> Result<Retention, FaunaError> {
    match client.query(&Expr::get(Expr::collection(collection))).await {
        Ok(doc) => Ok(match doc.as_object().and_then(|o| o.get("history_days")) {
            Some(Value::Int(d)) => Retention::Days(*d),
            _ => Retention::Forever,
        }),
        Err(e) if e.status() == Some(403) => Ok(Retention::Unknown),
        Err(e) => Err(e),
    }
}
