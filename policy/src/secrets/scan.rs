//! Running every detector over a text and its derived views, and redacting
//! what they find.
//!
//! The detectors run over:
//!
//! 1. the text as it is;
//! 2. its clean form (NFKC, invisible characters removed), when that can
//!    change what the detectors see ([`normalize::clean`]);
//! 3. the clean form with spaced-out runs collapsed, when there are any
//!    ([`normalize::collapse_spaced`]);
//! 4. the clean form reversed, when it has a reversed marker
//!    ([`normalize::reverse`]); only the specific detectors (entropy does
//!    not depend on the direction);
//! 5. the decoded text of each hex or base64 run of the clean form that
//!    decodes to text ([`decode`]), recursively (these same five views, up
//!    to [`MAX_DECODE_DEPTH`] decodings deep). A secret shape other than
//!    high entropy in the decoded text makes the whole run a finding, of
//!    that shape's kind; decoded random binary is never text, so never a
//!    finding.
//!
//! A finding on a derived view is mapped back to the range of the text it
//! comes from. Every view is built in O(n) and scanned once; the decoded
//! text of all runs, at every depth, is capped at [`decode_budget`] bytes,
//! so a scan is O(n) overall.

use super::decode::decoded_runs;
use super::entropy::find_high_entropy;
use super::finding::{SecretFinding, SecretKind};
use super::normalize;
use super::steps;
use super::structured::find_structured;
use super::tokens::find_tokens;

/// How many decodings deep the scanner looks (`base64(hex(token))` is two).
pub(crate) const MAX_DECODE_DEPTH: usize = 3;

/// The most decoded bytes, over every run at every depth, for a text of
/// `len` bytes.
pub(crate) fn decode_budget(len: usize) -> usize {
    2 * len + 1024
}

/// Every secret-shaped value in `text`, ordered by offset, not overlapping.
/// Specific shapes (vendor tokens, PEM, JWT, bearer, URL password) win over
/// the generic high-entropy finding, and findings in the text as it is
/// over those of the derived views (normalized, collapsed, reversed,
/// decoded: see the module docs), in this order: specific as is, specific
/// derived, generic as is, generic derived. Among overlapping findings of
/// one rank the earliest (then longest) wins.
pub fn scan_all(text: &str) -> Vec<SecretFinding> {
    let mut specific = Vec::new();
    find_specific(text, &mut specific);
    let mut derived = Vec::new();
    let mut budget = decode_budget(text.len());
    find_derived(text, 0, &mut budget, &mut derived);
    let mut generic = Vec::new();
    find_high_entropy(text, &mut generic);

    let (derived_generic, derived_specific) = derived
        .into_iter()
        .partition(|f| f.kind == SecretKind::HighEntropy);

    let chosen = merge(Vec::new(), specific);
    let chosen = merge(chosen, derived_specific);
    let chosen = merge(chosen, generic);
    merge(chosen, derived_generic)
}

/// [`scan_all`] over the text as it is only, without the derived views:
/// the scanner as it was before them, for comparisons.
#[cfg(test)]
pub(crate) fn scan_as_is(text: &str) -> Vec<SecretFinding> {
    let mut specific = Vec::new();
    find_specific(text, &mut specific);
    let mut generic = Vec::new();
    find_high_entropy(text, &mut generic);
    merge(merge(Vec::new(), specific), generic)
}

/// The first secret-shaped value in `text`, if any.
pub fn scan_value(text: &str) -> Option<SecretFinding> {
    scan_all(text).into_iter().next()
}

/// `text` with every finding replaced by `[REDACTED:<kind>]`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for finding in scan_all(text) {
        out.push_str(&text[at..finding.offset]);
        out.push_str(&format!("[REDACTED:{}]", finding.kind));
        at = finding.end();
    }
    out.push_str(&text[at..]);
    out
}

fn find_specific(text: &str, out: &mut Vec<SecretFinding>) {
    find_tokens(text, out);
    find_structured(text, out);
}

fn find_every_kind(text: &str, out: &mut Vec<SecretFinding>) {
    find_specific(text, out);
    find_high_entropy(text, out);
}

/// `accepted` (sorted by offset, not overlapping) with every finding of
/// `candidates` that overlaps neither it nor an earlier candidate taken,
/// candidates taken earliest (then longest) first. Linear after the sort.
fn merge(accepted: Vec<SecretFinding>, mut candidates: Vec<SecretFinding>) -> Vec<SecretFinding> {
    candidates.sort_by_key(|f| (f.offset, std::cmp::Reverse(f.len)));
    steps::add(accepted.len() + candidates.len());
    let mut out: Vec<SecretFinding> = Vec::with_capacity(accepted.len() + candidates.len());
    let mut next = accepted.into_iter().peekable();
    for candidate in candidates {
        while let Some(earlier) = next.next_if(|f| f.offset <= candidate.offset) {
            out.push(earlier);
        }
        // `out` is sorted and disjoint, so its last finding ends last.
        let clashes = out.last().is_some_and(|f| f.overlaps(&candidate))
            || next.peek().is_some_and(|f| f.overlaps(&candidate));
        if !clashes {
            out.push(candidate);
        }
    }
    out.extend(next);
    out
}

/// The findings of the derived views of `text`, in `text`'s offsets.
fn find_derived(text: &str, depth: usize, budget: &mut usize, out: &mut Vec<SecretFinding>) {
    let clean = normalize::clean(text);
    let base = clean.as_ref().map_or(text, |view| view.text.as_str());
    // A range of `base` to a range of `text`.
    let to_text = |(start, end): (usize, usize)| match &clean {
        Some(view) => view.source(start, end),
        None => (start, end),
    };
    let push = |out: &mut Vec<SecretFinding>, kind, range| {
        let (offset, end) = to_text(range);
        if end > offset {
            out.push(SecretFinding {
                kind,
                offset,
                len: end - offset,
            });
        }
    };
    let mut found = Vec::new();

    if clean.is_some() {
        find_every_kind(base, &mut found);
        for f in found.drain(..) {
            push(out, f.kind, (f.offset, f.end()));
        }
    }

    if let Some(collapsed) = normalize::collapse_spaced(base) {
        find_every_kind(&collapsed.text, &mut found);
        for f in found.drain(..) {
            push(out, f.kind, collapsed.source(f.offset, f.end()));
        }
    }

    if normalize::has_reversed_marker(base) {
        let reversed = normalize::reverse(base);
        find_specific(&reversed, &mut found);
        let len = base.len();
        for f in found.drain(..) {
            push(out, f.kind, (len - f.end(), len - f.offset));
        }
    }

    if depth < MAX_DECODE_DEPTH {
        for run in decoded_runs(base, budget) {
            if let Some(kind) = secret_in_decoded(&run.text, depth + 1, budget) {
                push(out, kind, (run.start, run.end));
            }
        }
    }
}

/// The kind of the first secret shape, other than high entropy, in a
/// decoded run's text or its derived views.
fn secret_in_decoded(text: &str, depth: usize, budget: &mut usize) -> Option<SecretKind> {
    let first = |found: Vec<SecretFinding>| {
        found
            .into_iter()
            .filter(|f| f.kind != SecretKind::HighEntropy)
            .min_by_key(|f| f.offset)
            .map(|f| f.kind)
    };
    let mut found = Vec::new();
    find_specific(text, &mut found);
    if let Some(kind) = first(found) {
        return Some(kind);
    }
    let mut found = Vec::new();
    find_derived(text, depth, budget, &mut found);
    first(found)
}
