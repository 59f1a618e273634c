//! Evidence derived from a region list: counts per kind, depths, cap usage,
//! duplicates, and the digest of the region_sha list.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::caps::CapUsage;
use crate::digest::CanonicalHasher;
use crate::region::Region;

/// Number of regions per kind name (only kinds that occur).
pub fn counts(regions: &[Region]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for r in regions {
        *out.entry(r.kind.as_str().to_string()).or_insert(0) += 1;
    }
    out
}

/// Depth of every region (1 = no parent), in the order of `regions`.
/// A parent eId that does not occur earlier in the list counts as absent.
pub fn depths(regions: &[Region]) -> Vec<usize> {
    let mut by_eid: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(regions.len());
    for r in regions {
        let d = r
            .parent_eid
            .as_deref()
            .and_then(|p| by_eid.get(p))
            .map_or(1, |d| d + 1);
        by_eid.insert(&r.eid, d);
        out.push(d);
    }
    out
}

/// How much of each cap the region list uses.
pub fn cap_usage(regions: &[Region]) -> CapUsage {
    CapUsage {
        units: regions.len() as u64,
        max_unit_bytes: regions
            .iter()
            .map(|r| (r.end - r.start) as u64)
            .max()
            .unwrap_or(0),
        max_depth: depths(regions).into_iter().max().unwrap_or(0) as u64,
    }
}

/// The regions whose natural eId was already taken (reported, not dropped).
pub fn duplicates(regions: &[Region]) -> Vec<&Region> {
    regions
        .iter()
        .filter(|r| r.duplicate_of.is_some())
        .collect()
}

/// Digest of the ordered (eid, region_sha) list: the mark phase's evidence.
pub fn region_list_digest(regions: &[Region]) -> String {
    let mut h = CanonicalHasher::new("iu-core/regions/v1");
    h.u64(regions.len() as u64);
    for r in regions {
        h.str(&r.eid).str(&r.region_sha);
    }
    h.finish()
}
