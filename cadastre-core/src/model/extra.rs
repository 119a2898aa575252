//! [`ExtraAttributes`]: the attribute values without a dedicated model field.
//!
//! A county has millions of features with one or two such fields each; a `BTreeMap` spends a
//! whole ~500-byte node on each, which was over a gigabyte at a million parcels and buildings.
//! A sorted vector of pairs keeps the same lookup and serialized form in a fraction of that.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Attribute values that have no dedicated field, keyed by the field name as written
/// in the source (upper-cased), values as text; sorted by key, keys unique.
///
/// ```
/// use cadastre_core::model::ExtraAttributes;
/// let mut extra = ExtraAttributes::new();
/// extra.insert("YSDM".to_owned(), "6001000000".to_owned());
/// extra.insert("MJDW".to_owned(), "1".to_owned());
/// assert_eq!(extra.get("YSDM").map(String::as_str), Some("6001000000"));
/// assert_eq!(extra.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["MJDW", "YSDM"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtraAttributes(Vec<(String, String)>);

impl ExtraAttributes {
    /// No attributes.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// The value of field `key`, if present.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok().map(|i| &self.0[i].1)
    }

    /// Set field `key` to `value`; returns the previous value, like `BTreeMap::insert`.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// From pairs in any order, keeping the last value of a repeated key (as repeated
    /// [`insert`](Self::insert)s would); allocates exactly once, which matters for the loader's
    /// one set per feature.
    pub(crate) fn from_pairs(mut pairs: Vec<(String, String)>) -> Self {
        // Stable: equal keys keep their order, so the last one is the one kept.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        // `later` is removed when its key repeats `kept`'s; its value moves over first.
        pairs.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        Self(pairs)
    }

    /// Release spare capacity (the loader builds one per feature).
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

impl FromIterator<(String, String)> for ExtraAttributes {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut out = Self::new();
        for (k, v) in iter {
            out.insert(k, v);
        }
        out
    }
}

impl From<BTreeMap<String, String>> for ExtraAttributes {
    fn from(map: BTreeMap<String, String>) -> Self {
        // Already sorted and unique.
        Self(map.into_iter().collect())
    }
}

// Serialized as a map, exactly as the former `BTreeMap<String, String>`.
impl Serialize for ExtraAttributes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for ExtraAttributes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::<String, String>::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn behaves_like_a_btreemap(pairs in proptest::collection::vec(("[A-D]{1,2}", "[a-z]{0,3}"), 0..20)) {
            let mut ours = ExtraAttributes::new();
            let mut map = BTreeMap::new();
            for (k, v) in &pairs {
                prop_assert_eq!(ours.insert(k.clone(), v.clone()), map.insert(k.clone(), v.clone()));
            }
            prop_assert_eq!(ours.len(), map.len());
            prop_assert!(ours.iter().eq(map.iter()));
            for k in ["A", "B", "AB", "DD", "E"] {
                prop_assert_eq!(ours.get(k), map.get(k));
            }
            let json = serde_json::to_string(&ours).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&json, &serde_json::to_string(&map).map_err(|e| TestCaseError::fail(e.to_string()))?);
            let back: ExtraAttributes = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&back, &ours);
            prop_assert_eq!(ExtraAttributes::from_pairs(pairs.clone()), ours);
        }
    }
}
