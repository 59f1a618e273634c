//! Evidence of earlier phases ([`EvidenceSet`]), phase config parsing and
//! small helpers for building evidence.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Evidence of earlier phases, by phase name.
#[derive(Debug, Default, Clone)]
pub struct EvidenceSet {
    items: Vec<(String, Value)>,
}

impl EvidenceSet {
    /// Parse `(phase, json)` pairs; an item that is not JSON is an error naming the phase.
    pub fn parse<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, String> {
        let mut parsed = Vec::new();
        for (phase, json) in items {
            let value = serde_json::from_str(json)
                .map_err(|e| format!("evidence of phase `{phase}` is not JSON: {e}"))?;
            parsed.push((phase.to_string(), value));
        }
        Ok(Self { items: parsed })
    }

    /// The evidence of `phase` (the latest, if it ran more than once).
    pub fn get(&self, phase: &str) -> Option<&Value> {
        self.items
            .iter()
            .rev()
            .find(|(p, _)| p == phase)
            .map(|(_, v)| v)
    }

    /// The evidence of `phase`, or an error saying it is missing.
    pub fn require(&self, phase: &str) -> Result<&Value, String> {
        self.get(phase)
            .ok_or_else(|| format!("no evidence of phase `{phase}`"))
    }

    /// A field of `phase`'s evidence, or an error naming what is missing.
    pub fn field(&self, phase: &str, field: &str) -> Result<&Value, String> {
        self.require(phase)?
            .get(field)
            .ok_or_else(|| format!("evidence of `{phase}` has no field `{field}`"))
    }

    /// A string field.
    pub fn str_field(&self, phase: &str, field: &str) -> Result<&str, String> {
        self.field(phase, field)?
            .as_str()
            .ok_or_else(|| format!("`{phase}.{field}` is not a string"))
    }

    /// An unsigned integer field.
    pub fn u64_field(&self, phase: &str, field: &str) -> Result<u64, String> {
        self.field(phase, field)?
            .as_u64()
            .ok_or_else(|| format!("`{phase}.{field}` is not an unsigned integer"))
    }

    /// A boolean field.
    pub fn bool_field(&self, phase: &str, field: &str) -> Result<bool, String> {
        self.field(phase, field)?
            .as_bool()
            .ok_or_else(|| format!("`{phase}.{field}` is not a boolean"))
    }

    /// A nested field of `phase`'s evidence (`path` = object keys), or an
    /// error naming what is missing.
    pub fn path(&self, phase: &str, path: &[&str]) -> Result<&Value, String> {
        let mut v = self.require(phase)?;
        for (i, key) in path.iter().enumerate() {
            v = v.get(*key).ok_or_else(|| {
                format!(
                    "evidence of `{phase}` has no field `{}`",
                    path[..=i].join(".")
                )
            })?;
        }
        Ok(v)
    }

    /// How many evidence items `phase` has (a phase that ran twice counts 2).
    pub fn count(&self, phase: &str) -> usize {
        self.items.iter().filter(|(p, _)| p == phase).count()
    }

    /// The phases present, in order.
    pub fn phases(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|(p, _)| p.as_str())
    }
}

/// Parse a phase's config (a JSON object) into `T`.
pub fn parse_config<T: DeserializeOwned>(json: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|e| format!("bad phase config: {e}"))
}

/// Build an evidence object from key/value pairs.
pub fn evidence(fields: impl IntoIterator<Item = (&'static str, Value)>) -> String {
    let map: Map<String, Value> = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Value::Object(map).to_string()
}

/// Whether `s` is a lowercase sha256 hex digest.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_lookup_names_what_is_missing() {
        let set = EvidenceSet::parse([("a", r#"{"n": 3, "s": "x"}"#)]).unwrap();
        assert_eq!(set.u64_field("a", "n").unwrap(), 3);
        assert!(
            set.u64_field("a", "s")
                .unwrap_err()
                .contains("not an unsigned")
        );
        assert!(
            set.field("b", "n")
                .unwrap_err()
                .contains("no evidence of phase `b`")
        );
        assert!(EvidenceSet::parse([("a", "{")]).is_err());
    }

    #[test]
    fn nested_paths_and_counts() {
        let set =
            EvidenceSet::parse([("a", r#"{"c": {"d": 1}}"#), ("a", "{}"), ("b", "{}")]).unwrap();
        assert_eq!(set.count("a"), 2);
        assert_eq!(set.count("z"), 0);
        assert!(
            set.path("a", &["c"]).is_err(),
            "the latest evidence of `a` wins"
        );
        let set = EvidenceSet::parse([("a", r#"{"c": {"d": 1}}"#)]).unwrap();
        assert_eq!(set.path("a", &["c", "d"]).unwrap(), 1);
        assert!(set.path("a", &["c", "e"]).unwrap_err().contains("c.e"));
    }

    #[test]
    fn sha_shape() {
        assert!(is_sha256_hex(&"ab".repeat(32)));
        assert!(!is_sha256_hex(&"AB".repeat(32)));
        assert!(!is_sha256_hex("ab"));
    }
}
