//! Where to split a collection's documents into ranges read concurrently: each split point is
//! the id of a document that exists at the snapshot, so a range ends exactly where the next
//! begins, by equality, whatever order the server gives ids.
//!
//! Two queries, whatever the collection's size: the first and last ids (`Paginate` of size 1
//! after the start, and before the largest id), then, for evenly spaced numeric guesses between
//! them, the first document at or after each guess. Ids that are not numbers (or a range too
//! small to split) give no split points: the collection is read as one range. So does a
//! response of another shape (the reads that follow report it).

use super::page::{page_parts, query};
use super::ReadError;
use crate::fauna::{Expr, FaunaClient, Ref, Value};

/// The largest document id Fauna accepts; `before` it is the collection's last document.
const LAST_ID: &str = "9223372036854775807";

/// Up to `parts - 1` ids, increasing, each the first document of a range after the first;
/// the first range starts at `from` (an id, inclusive) or the collection's start. Read `At(at)`,
/// or at read time (`None`: the short-retention scan, whose ranges end by id order).
pub async fn split_points(
    client: &FaunaClient,
    collection: &str,
    at: Option<i64>,
    from: Option<&str>,
    parts: u32,
) -> Result<Vec<String>, ReadError> {
    split_with(client, collection, at, from, parts, guesses).await
}

/// Split points for a scale-out plan: as [`split_points`] from the collection's start, with
/// guesses both evenly spaced and spaced by powers (so custom ids far below the generated ones,
/// `1`, `2`, … beside 18-digit ids, get ranges of their own too). Up to `2 * (parts - 1)`
/// points.
pub async fn sampled_split_points(
    client: &FaunaClient,
    collection: &str,
    at: i64,
    parts: u32,
) -> Result<Vec<String>, ReadError> {
    let both = |lo, hi, parts| {
        let mut g = guesses(lo, hi, parts);
        g.extend(power_guesses(lo, hi, parts));
        g.sort_unstable();
        g.dedup();
        g
    };
    split_with(client, collection, Some(at), None, parts, both).await
}

async fn split_with(
    client: &FaunaClient,
    collection: &str,
    at: Option<i64>,
    from: Option<&str>,
    parts: u32,
    guesses: impl Fn(i64, i64, u32) -> Vec<i64>,
) -> Result<Vec<String>, ReadError> {
    if parts < 2 {
        return Ok(Vec::new());
    }
    let cursor = |id: &str| Value::Array(vec![Value::Ref(Ref::document(collection, id))]);
    let docs = || Expr::documents(Expr::collection(collection));
    let mut first = Expr::paginate(docs()).with("size", 1i64);
    if let Some(id) = from {
        first = first.with("after", cursor(id));
    }
    let last = Expr::paginate(docs())
        .with("size", 1i64)
        .with("before", cursor(LAST_ID));
    let pinned = |q: Expr| match at {
        Some(at) => Expr::at(at, q),
        None => q,
    };
    let ends = query(client, collection, at, &pinned(Expr::array([first, last]))).await?;
    let [lo, hi] = match page_ids(collection, ends).as_deref() {
        Some([Some(lo), Some(hi)]) => [lo.parse::<i64>(), hi.parse::<i64>()],
        _ => return Ok(Vec::new()),
    };
    let (Ok(lo), Ok(hi)) = (lo, hi) else {
        return Ok(Vec::new());
    };
    let guesses = guesses(lo, hi, parts);
    if guesses.is_empty() {
        return Ok(Vec::new());
    }
    let probes = guesses.iter().map(|g| {
        Expr::paginate(docs())
            .with("size", 1i64)
            .with("after", cursor(&g.to_string()))
    });
    let found = query(client, collection, at, &pinned(Expr::array(probes))).await?;
    let mut points: Vec<String> = Vec::new();
    let mut previous = lo;
    for id in page_ids(collection, found)
        .unwrap_or_default()
        .into_iter()
        .flatten()
    {
        // Guesses increase, so the documents found do too; a range with no document of its
        // own finds its successor's first and is dropped.
        if let Ok(n) = id.parse::<i64>() {
            if n > previous {
                previous = n;
                points.push(id);
            }
        }
    }
    Ok(points)
}

/// Evenly spaced ids strictly between `lo` and `hi`, `parts - 1` of them at most.
fn guesses(lo: i64, hi: i64, parts: u32) -> Vec<i64> {
    let span = i128::from(hi) - i128::from(lo);
    let mut out: Vec<i64> = Vec::new();
    for j in 1..i128::from(parts) {
        let g = i128::from(lo) + span * j / i128::from(parts);
        if let Ok(g) = i64::try_from(g) {
            if g > lo && g <= hi && out.last().is_none_or(|&p| g > p) {
                out.push(g);
            }
        }
    }
    out
}

/// Ids strictly between `lo` and `hi` spaced by a constant ratio from `lo`: `lo - 1 +
/// (hi - lo + 1)^(j / parts)`, `parts - 1` of them at most.
fn power_guesses(lo: i64, hi: i64, parts: u32) -> Vec<i64> {
    let span = (i128::from(hi) - i128::from(lo) + 1) as f64;
    let mut out: Vec<i64> = Vec::new();
    for j in 1..parts {
        let step = span.powf(f64::from(j) / f64::from(parts));
        let g = i128::from(lo) - 1 + step as i128;
        if let Ok(g) = i64::try_from(g) {
            if g > lo && g < hi && out.last().is_none_or(|&p| g > p) {
                out.push(g);
            }
        }
    }
    out
}

/// The id of the one document of each size-1 page in an array of pages; `None` when the
/// response has another shape (split points are only a plan: the reads that follow report
/// such a response properly).
fn page_ids(collection: &str, resp: Value) -> Option<Vec<Option<String>>> {
    let Value::Array(pages) = resp else {
        tracing::debug!(
            collection,
            "split-point pages are not an array; reading one range"
        );
        return None;
    };
    pages
        .into_iter()
        .map(|page| {
            let (mut data, _) = page_parts(collection, page).ok()?;
            Some(data.pop().and_then(|v| v.as_ref().map(|r| r.id.clone())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{guesses, power_guesses};

    #[test]
    fn power_guesses_reach_the_low_ids() {
        assert_eq!(power_guesses(1, 1_000_000, 3), [99, 9999]);
        assert_eq!(power_guesses(0, 10, 8), [1, 2, 3, 5, 7]);
        assert_eq!(power_guesses(5, 5, 4), Vec::<i64>::new());
        assert!(power_guesses(1, i64::MAX, 4)
            .windows(2)
            .all(|w| w[0] < w[1]));
    }

    #[test]
    fn guesses_are_evenly_spaced_inside_the_range() {
        assert_eq!(guesses(0, 100, 4), [25, 50, 75]);
        assert_eq!(guesses(10, 13, 8), [11, 12]);
        assert_eq!(guesses(5, 5, 4), Vec::<i64>::new());
        assert_eq!(guesses(0, 1, 2), Vec::<i64>::new());
        assert_eq!(
            guesses(i64::MIN, i64::MAX, 2),
            [-1],
            "the span of all ids does not overflow"
        );
    }
}
