//! `x-fauna-tags`: `key=value` query tags, validated like the real server and echoed back.

/// Header name.
pub const HEADER: &str = "x-fauna-tags";

const MAX_HEADER: usize = 3000;
const MAX_TAGS: usize = 25;
const MAX_KEY: usize = 40;
const MAX_VALUE: usize = 80;

/// Parses `k1=v1,k2=v2` (keys and values: ASCII letters, digits, `_`). Returns the value to echo
/// in the response (`None` for no tags) or the reason the header is invalid.
///
/// The server folds the pairs from the right, so the echo lists them in reverse order and, of
/// several problems, the rightmost is reported.
pub fn parse(header: &str) -> Result<Option<String>, &'static str> {
    if header.chars().count() > MAX_HEADER {
        return Err("header is too long");
    }
    if header.is_empty() {
        return Ok(None);
    }
    let pairs = header
        .split(',')
        .map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (word(k) && word(v)).then_some((k, v))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or("invalid tags")?;
    if pairs.len() > MAX_TAGS {
        return Err("too many tags");
    }
    let mut kept: Vec<(&str, &str)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs.into_iter().rev() {
        if k.len() > MAX_KEY {
            return Err("invalid key");
        }
        if v.len() > MAX_VALUE {
            return Err("invalid value");
        }
        if kept.iter().any(|(seen, _)| *seen == k) {
            return Err("duplicate key");
        }
        kept.push((k, v));
    }
    let echo: Vec<String> = kept.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Ok(Some(echo.join(",")))
}

fn word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_tags_are_echoed_in_fold_order() {
        assert_eq!(parse("a=1"), Ok(Some("a=1".into())));
        assert_eq!(
            parse("team=sync,job_id=42"),
            Ok(Some("job_id=42,team=sync".into()))
        );
        assert_eq!(parse(""), Ok(None));
    }

    #[test]
    fn invalid_tags() {
        assert_eq!(parse("a"), Err("invalid tags"));
        assert_eq!(parse("a=1,"), Err("invalid tags"));
        assert_eq!(parse("a-b=1"), Err("invalid tags"));
        assert_eq!(parse("a=1, b=2"), Err("invalid tags"));
        assert_eq!(parse("a=1,a=2"), Err("duplicate key"));
        assert_eq!(parse(&format!("{}=1", "k".repeat(41))), Err("invalid key"));
        assert_eq!(
            parse(&format!("k={}", "v".repeat(81))),
            Err("invalid value")
        );
        let many: Vec<String> = (0..26).map(|i| format!("k{i}=v")).collect();
        assert_eq!(parse(&many.join(",")), Err("too many tags"));
        assert_eq!(parse(&"a".repeat(3001)), Err("header is too long"));
    }
}
