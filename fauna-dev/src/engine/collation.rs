//! String order of index values: the real server compares strings with an ICU collator for
//! the JVM's default locale (`Collator.getInstance`, tertiary strength; en/root rules) and
//! breaks ties bytewise (`CBOROrdering.compareStrings`). ICU4X's collator with its compiled
//! root data gives the same order.

use std::cmp::Ordering;
use std::sync::LazyLock;

use icu_collator::options::CollatorOptions;
use icu_collator::CollatorBorrowed;

static COLLATOR: LazyLock<Option<CollatorBorrowed<'static>>> = LazyLock::new(|| {
    CollatorBorrowed::try_new(Default::default(), CollatorOptions::default()).ok()
});

/// Compares two strings as index entries do: collation order, then bytes.
pub fn compare_strings(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    COLLATOR
        .as_ref()
        .map_or(Ordering::Equal, |c| c.compare(a, b))
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::compare_strings;
    use std::cmp::Ordering;

    #[test]
    fn collation_order_with_bytewise_ties() {
        let mut words = vec![
            "b", "B", "a", "A", "é", "e", "E", "ä", "z", "10", "9", "a b", "ab", "",
        ];
        words.sort_by(|a, b| compare_strings(a, b));
        assert_eq!(
            words,
            ["", "10", "9", "a", "A", "ä", "a b", "ab", "b", "B", "e", "E", "é", "z"]
        );
        // Canonically equivalent spellings collate equal; bytes decide.
        assert_eq!(compare_strings("e\u{301}", "\u{e9}"), Ordering::Less);
    }
}
