//! The structural vocabulary: region kinds and regions.

use alloc::string::String;
use core::fmt;
use serde::{Deserialize, Serialize};

/// The kind of a structural region (and of the unit cut from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionKind {
    /// Text before the first structural marker (title, bases, preamble).
    Preamble,
    /// "Phần thứ nhất", "PHẦN THỨ HAI", "Phần I".
    Part,
    /// "Chương I", "CHƯƠNG II", "Chương 1:", "Chương I." (title on next line).
    Chapter,
    /// "Mục 1.", "MỤC 2", "Mục II", "Mục.2".
    Section,
    /// "Tiểu mục 1." (sub-section, found in the Civil Code).
    Subsection,
    /// "Điều 5.", "Điều 5:", "Điều 5" (alone on its line), "Điều 5 Tên".
    Article,
    /// Khoản: a line "1.", "2." … inside an article.
    Clause,
    /// Điểm: a line "a)", "b)", "đ)" … inside a clause or an article.
    Point,
    /// Enactment sentence, signature block and anything after it (annexes).
    Closing,
}

impl RegionKind {
    /// All kinds, in hierarchy order.
    pub const ALL: [RegionKind; 9] = [
        RegionKind::Preamble,
        RegionKind::Part,
        RegionKind::Chapter,
        RegionKind::Section,
        RegionKind::Subsection,
        RegionKind::Article,
        RegionKind::Clause,
        RegionKind::Point,
        RegionKind::Closing,
    ];

    /// The stable name used in evidence, counts and stored rows.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionKind::Preamble => "preamble",
            RegionKind::Part => "part",
            RegionKind::Chapter => "chapter",
            RegionKind::Section => "section",
            RegionKind::Subsection => "subsection",
            RegionKind::Article => "article",
            RegionKind::Clause => "clause",
            RegionKind::Point => "point",
            RegionKind::Closing => "closing",
        }
    }

    /// Parses a name produced by [`RegionKind::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether this kind is a container of articles (part, chapter, section,
    /// subsection).
    pub fn is_container(self) -> bool {
        matches!(
            self,
            RegionKind::Part | RegionKind::Chapter | RegionKind::Section | RegionKind::Subsection
        )
    }
}

impl fmt::Display for RegionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One structural region of the normalized text.
///
/// `start..end` is the region's OWN span: from the start of its marker line
/// to the start of the next region (its first child, next sibling, or the
/// next region of an ancestor). The spans of all regions of a document are
/// disjoint, in document order, and cover the whole text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Region kind.
    pub kind: RegionKind,
    /// Akoma-Ntoso-style identifier, unique in the document.
    pub eid: String,
    /// eId of the enclosing region, if any.
    pub parent_eid: Option<String>,
    /// 1-based position among siblings of the same kind under the same parent.
    pub ordinal: u32,
    /// The label as written ("I", "5", "19a", "a", "đ", "nhất"); empty for
    /// preamble and closing.
    pub number: String,
    /// Heading: the rest of the marker line, or for a container whose marker
    /// line has no title, the next non-empty line. Empty for clauses/points.
    pub heading: String,
    /// Byte offset (in the normalized text) where the own span starts.
    pub start: usize,
    /// Byte offset where the own span ends (exclusive).
    pub end: usize,
    /// SHA-256 (hex) of the own span.
    pub region_sha: String,
    /// If the natural eId was already taken (a text numbering twice), the
    /// natural eId; `eid` then carries a `_dupN` suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}
