//! Caps that bound the work `mark` may do on one document.

use serde::{Deserialize, Serialize};

/// Limits enforced by [`crate::structure::mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caps {
    /// Most regions (= units) one document may be cut into.
    pub max_units: usize,
    /// Largest own span of one region, in bytes of normalized text.
    pub max_unit_bytes: usize,
    /// Deepest nesting of a region; top-level regions (preamble, part, or a
    /// chapter/article with no container above it, closing) have depth 1.
    /// The deepest chain in the corpus is part > chapter > section >
    /// subsection > article > clause > point = 7.
    pub max_depth: usize,
}

impl Default for Caps {
    /// 200 000 units, 256 KiB per unit, depth 8.
    fn default() -> Self {
        Self {
            max_units: 200_000,
            max_unit_bytes: 256 * 1024,
            max_depth: 8,
        }
    }
}

/// Which cap was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cap {
    /// [`Caps::max_units`].
    MaxUnits,
    /// [`Caps::max_unit_bytes`].
    MaxUnitBytes,
    /// [`Caps::max_depth`].
    MaxDepth,
}

impl Cap {
    /// The cap's name as used in evidence (`max_units`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Cap::MaxUnits => "max_units",
            Cap::MaxUnitBytes => "max_unit_bytes",
            Cap::MaxDepth => "max_depth",
        }
    }
}

/// How much of each cap one `mark` used (evidence for the mark phase).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CapUsage {
    /// Number of regions.
    pub units: u64,
    /// Largest own span, in bytes.
    pub max_unit_bytes: u64,
    /// Deepest nesting.
    pub max_depth: u64,
}
