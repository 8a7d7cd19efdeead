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

/// Whether an index document (as `Get(Index(x))` returns it) serves `collection` with no
/// terms and values exactly `[ts, ref]`, and is active.
pub fn is_ts_ref_index(index: &Value, collection: &str) -> bool {
    super::index_check::ts_ref_index_problem("", index, collection).is_none()
}

/// The FQL that creates the index incremental reads of `collection` need.
pub fn create_ts_ref_index_fql(collection: &str) -> String {
    format!(
        "CreateIndex({{name: \"{collection}_by_ts\", source: Collection(\"{collection}\"), terms: [], values: [{{field: [\"ts\"]}}, {{field: [\"ref\"]}}]}})"
    )
}

/// The `[ts, ref]` index to read `collection`'s changes through: `configured` when given (an
/// error explains why it does not fit), otherwise the first fitting index the key can read.
pub async fn ts_ref_index(
    client: &FaunaClient,
    collection: &str,
    configured: Option<&str>,
) -> Result<Option<String>, FaunaError> {
    if let Some(name) = configured {
        let doc = client.query(&Expr::get(Expr::index(name))).await?;
        return Ok(is_ts_ref_index(&doc, collection).then(|| name.to_string()));
    }
    Ok(fitting_index(&readable_indexes(client).await?, collection))
}

/// Every index document the key can read (empty when it may not list indexes).
pub async fn readable_indexes(client: &FaunaClient) -> Result<Vec<Value>, FaunaError> {
    let mut all = Vec::new();
    let mut after: Option<Value> = None;
    loop {
        let mut page = Expr::paginate(Expr::indexes()).with("size", 1000);
        if let Some(a) = after.take() {
            page = page.with("after", a);
        }
        let q = Expr::map(Expr::lambda("i", Expr::get(Expr::var("i"))), page);
        let page = match client.query(&q).await {
            Ok(p) => p,
            Err(e) if e.status() == Some(403) => return Ok(all),
            Err(e) => return Err(e),
        };
        let Some(page) = page.as_object() else {
            return Ok(all);
        };
        if let Some(data) = page.get("data").and_then(Value::as_array) {
            all.extend(data.iter().cloned());
        }
        match page.get("after") {
            Some(a) => after = Some(a.clone()),
            None => return Ok(all),
        }
    }
}

/// The name of the first of `indexes` that serves `collection` with no terms and values
/// `[ts, ref]`.
pub fn fitting_index(indexes: &[Value], collection: &str) -> Option<String> {
    indexes.iter().find_map(|index| {
        let name = index.as_object()?.get("name")?.as_str()?;
        is_ts_ref_index(index, collection).then(|| name.to_string())
    })
}
