//! What the database holds, as far as the key can see: the collections to export, how long each
//! keeps history, and the `[ts, ref]` indexes that serve them.

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
    ref_ids(client, Expr::collections()).await
}

/// The ids of the refs in `set` (e.g. `Collections()`, `Databases()`), every page, in
/// Fauna's order; items that are not refs are skipped.
pub async fn ref_ids(client: &FaunaClient, set: Expr) -> Result<Vec<String>, FaunaError> {
    let mut ids = Vec::new();
    let mut after: Option<Value> = None;
    loop {
        let mut q = Expr::paginate(set.clone()).with("size", 1000);
        if let Some(a) = after.take() {
            q = q.with("after", a);
        }
        let page = client.query(&q).await?;
        let page = page.as_object().cloned().unwrap_or_default();
        for item in page.get("data").and_then(Value::as_array).unwrap_or(&[]) {
            if let Some(r) = item.as_ref() {
                ids.push(r.id.clone());
            }
        }
        match page.get("after") {
            Some(a) => after = Some(a.clone()),
            None => return Ok(ids),
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
/// terms and values starting with `[ts, ref]`, and is active.
pub fn is_ts_ref_index(index: &Value, collection: &str) -> bool {
    super::index_check::ts_ref_index_problem("", index, collection).is_none()
}

/// The FQL that creates the index incremental reads of `collection` need, named
/// `<collection>_by_ts` — or, when an index in `taken` has that name, `<collection>_by_ts_2`,
/// `_3`, …: the first name not taken.
pub fn create_ts_ref_index_fql(collection: &str, taken: &[String]) -> String {
    let base = format!("{collection}_by_ts");
    let name = std::iter::once(base.clone())
        .chain((2u32..).map(|n| format!("{base}_{n}")))
        .find(|n| !taken.contains(n))
        .unwrap_or(base);
    format!(
        "CreateIndex({{name: \"{name}\", source: Collection(\"{collection}\"), terms: [], values: [{{field: [\"ts\"]}}, {{field: [\"ref\"]}}]}})"
    )
}

/// The names of index documents.
pub fn index_names(indexes: &[Value]) -> Vec<String> {
    indexes
        .iter()
        .filter_map(|i| Some(i.as_object()?.get("name")?.as_str()?.to_string()))
        .collect()
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
/// exactly `[ts, ref]`, else of the first whose values go on after `[ts, ref]`.
pub fn fitting_index(indexes: &[Value], collection: &str) -> Option<String> {
    let fitting = |exact: bool| {
        indexes.iter().find_map(|index| {
            let o = index.as_object()?;
            let name = o.get("name")?.as_str()?;
            let values = o
                .get("values")
                .and_then(Value::as_array)
                .map_or(0, <[Value]>::len);
            (is_ts_ref_index(index, collection) && (values == 2) == exact).then(|| name.to_string())
        })
    };
    fitting(true).or_else(|| fitting(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fauna::decode;

    fn index(name: &str, values: &str) -> Value {
        decode(
            format!(
                r#"{{"name":"{name}","source":{{"@ref":{{"id":"c","collection":{{"@ref":{{"id":"collections"}}}}}}}},"values":{values}}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn the_suggested_index_name_is_one_not_taken() {
        let fql = |taken: &[&str]| {
            create_ts_ref_index_fql(
                "c",
                &taken.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
            )
        };
        assert!(fql(&[]).starts_with(r#"CreateIndex({name: "c_by_ts", source: Collection("c")"#));
        assert!(fql(&["c_by_ts", "other"]).starts_with(r#"CreateIndex({name: "c_by_ts_2","#));
        assert!(fql(&["c_by_ts_2", "c_by_ts"]).starts_with(r#"CreateIndex({name: "c_by_ts_3","#));
    }

    #[test]
    fn an_exact_ts_ref_index_is_preferred_to_a_longer_one() {
        let ts_ref = r#"[{"field":"ts"},{"field":"ref"}]"#;
        let longer = r#"[{"field":"ts"},{"field":"ref"},{"field":["data","x"]}]"#;
        let all = [index("long", longer), index("exact", ts_ref)];
        assert_eq!(fitting_index(&all, "c").as_deref(), Some("exact"));
        assert_eq!(fitting_index(&all[..1], "c").as_deref(), Some("long"));
        assert_eq!(fitting_index(&all, "d"), None);
        assert_eq!(index_names(&all), ["long", "exact"]);
    }
}
