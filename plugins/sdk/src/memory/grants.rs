//! The grants of one phase, as a plan writes them.

use std::collections::BTreeMap;

/// What a phase is granted, as a plan's `[phases.grants]` says it; a
/// [`MemoryStore`](super::MemoryStore) with grants refuses every other call
/// with `access-denied`, like the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// `source = true`
    pub source: bool,
    /// `log = true`
    pub log: bool,
    /// `store = { table = "letters" }`, letters among `r`, `i`, `u`, `d`.
    pub store: BTreeMap<String, String>,
    /// `artifacts = { name = "letters" }`, letters among `r`, `i`.
    pub artifacts: BTreeMap<String, String>,
}

/// Whether `letters` is a valid grant (only `r`, `i`, `u`, `d`) holding `letter`.
/// An invalid grant allows nothing: fail closed.
fn allows(letters: &str, letter: char) -> bool {
    letters.chars().all(|c| "riud".contains(c)) && letters.contains(letter)
}

impl Grants {
    /// Whether the grants allow `letter` (`r`, `i`, `u`, `d`) on `table`.
    pub fn allows_table(&self, table: &str, letter: char) -> bool {
        self.store.get(table).is_some_and(|l| allows(l, letter))
    }

    /// Whether the grants allow `letter` (`r`, `i`) on the artifact `name`.
    pub fn allows_artifact(&self, name: &str, letter: char) -> bool {
        self.artifacts.get(name).is_some_and(|l| allows(l, letter))
    }
}
