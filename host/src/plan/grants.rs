//! A phase's grants: which host interfaces it may import, and inside them
//! which tables and artifact names with which access bits.

use super::access::{Access, Op};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The WIT package every capability interface belongs to.
pub const PACKAGE: &str = "phasehost:plugin";
/// The WIT package version this host implements.
pub const PACKAGE_VERSION: &str = "0.1.0";

/// A host capability interface a phase may import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// `source`: read the pinned source.
    Source,
    /// `store-read`: select/count rows.
    StoreRead,
    /// `store-write`: insert/update/delete rows.
    StoreWrite,
    /// `artifacts`: named blobs in the run folder.
    Artifacts,
    /// `log`: log lines.
    Log,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 5] = [
        Capability::Source,
        Capability::StoreRead,
        Capability::StoreWrite,
        Capability::Artifacts,
        Capability::Log,
    ];

    /// The WIT interface name (without package).
    pub fn interface(self) -> &'static str {
        match self {
            Capability::Source => "source",
            Capability::StoreRead => "store-read",
            Capability::StoreWrite => "store-write",
            Capability::Artifacts => "artifacts",
            Capability::Log => "log",
        }
    }

    /// The fully qualified import name, e.g. `phasehost:plugin/source@0.1.0`.
    pub fn import_name(self) -> String {
        format!("{PACKAGE}/{}@{PACKAGE_VERSION}", self.interface())
    }

    /// The plan line that would grant this capability.
    pub fn plan_line(self) -> &'static str {
        match self {
            Capability::Source => "source = true",
            Capability::StoreRead => "store = { <table> = \"r\" }",
            Capability::StoreWrite => "store = { <table> = \"i\" }   (or \"u\", \"d\")",
            Capability::Artifacts => "artifacts = { \"<name>\" = \"ri\" }",
            Capability::Log => "log = true",
        }
    }
}

/// The `[phases.grants]` table of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// May read the pinned source.
    #[serde(default)]
    pub source: bool,
    /// May write log lines.
    #[serde(default)]
    pub log: bool,
    /// Store tables and their access bits.
    #[serde(default)]
    pub store: BTreeMap<String, Access>,
    /// Artifact names and their access bits (`r` get, `i` put).
    #[serde(default)]
    pub artifacts: BTreeMap<String, Access>,
}

impl Grants {
    /// Whether the grants allow importing `cap` at all.
    pub fn allows_capability(&self, cap: Capability) -> bool {
        match cap {
            Capability::Source => self.source,
            Capability::Log => self.log,
            Capability::StoreRead => self.store.values().any(|a| a.read),
            Capability::StoreWrite => self.store.values().any(|a| a.writes()),
            Capability::Artifacts => self.artifacts.values().any(|a| !a.is_empty()),
        }
    }

    /// The capabilities these grants allow.
    pub fn capabilities(&self) -> Vec<Capability> {
        Capability::ALL
            .into_iter()
            .filter(|c| self.allows_capability(*c))
            .collect()
    }

    /// Whether `op` on store table `table` is granted.
    pub fn allows_table(&self, table: &str, op: Op) -> bool {
        self.store.get(table).is_some_and(|a| a.allows(op))
    }

    /// Whether `op` on artifact `name` is granted.
    pub fn allows_artifact(&self, name: &str, op: Op) -> bool {
        self.artifacts.get(name).is_some_and(|a| a.allows(op))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_bits_decide_read_and_write_capabilities() {
        let mut g = Grants::default();
        assert!(g.capabilities().is_empty());
        g.store.insert("units".into(), Access::parse("r").unwrap());
        assert_eq!(g.capabilities(), vec![Capability::StoreRead]);
        g.store
            .insert("envelopes".into(), Access::parse("i").unwrap());
        assert_eq!(
            g.capabilities(),
            vec![Capability::StoreRead, Capability::StoreWrite]
        );
        assert!(g.allows_table("envelopes", Op::Insert));
        assert!(!g.allows_table("envelopes", Op::Delete));
        assert!(!g.allows_table("documents", Op::Read));
    }

    #[test]
    fn import_names_are_fully_qualified() {
        assert_eq!(
            Capability::StoreWrite.import_name(),
            "phasehost:plugin/store-write@0.1.0"
        );
    }
}
