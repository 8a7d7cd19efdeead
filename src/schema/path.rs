//! Field paths inside a document's `data`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One step of a path: an object key, or "every element" of an array.
///
/// Serialized as the key string, and `null` for [`Seg::Items`], so `["tags", null]` is the
/// elements of `tags`; keys stay exact (a key `[]`, `@ts` or `a.b` is just a key).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Seg {
    /// An object key, exactly as in the document (after `@obj` unescaping).
    Key(String),
    /// The elements of an array.
    Items,
}

/// A path from the `data` object: keys and array-element steps.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Path(pub Vec<Seg>);

impl Path {
    /// This path extended by `seg`.
    pub fn child(&self, seg: Seg) -> Path {
        let mut segs = Vec::with_capacity(self.0.len() + 1);
        segs.extend_from_slice(&self.0);
        segs.push(seg);
        Path(segs)
    }

    /// A path of keys.
    pub fn keys<S: AsRef<str>>(keys: &[S]) -> Path {
        Path(
            keys.iter()
                .map(|k| Seg::Key(k.as_ref().to_string()))
                .collect(),
        )
    }

    /// The keys, if every step is a key (a path a column can have).
    pub fn as_keys(&self) -> Option<Vec<&str>> {
        self.0
            .iter()
            .map(|s| match s {
                Seg::Key(k) => Some(k.as_str()),
                Seg::Items => None,
            })
            .collect()
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether this is the root (`data` itself).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The path as compact JSON (`["a",null]`), the form recorded in Parquet field metadata.
    pub fn to_json(&self) -> String {
        // A Vec of strings and nulls always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl fmt::Display for Path {
    /// The JSON form, unambiguous whatever the keys hold.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl std::borrow::Borrow<[Seg]> for Path {
    fn borrow(&self) -> &[Seg] {
        &self.0
    }
}
