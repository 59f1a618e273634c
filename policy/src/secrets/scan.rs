//! Running every detector over a text, and redacting what they find.

use super::entropy::find_high_entropy;
use super::finding::SecretFinding;
use super::structured::find_structured;
use super::tokens::find_tokens;

/// Every secret-shaped value in `text`, ordered by offset, not overlapping.
/// Specific shapes (vendor tokens, PEM, JWT, bearer, URL password) win over
/// the generic high-entropy finding; among overlapping specific findings
/// the earliest (then longest) wins.
pub fn scan_all(text: &str) -> Vec<SecretFinding> {
    let mut specific = Vec::new();
    find_tokens(text, &mut specific);
    find_structured(text, &mut specific);
    specific.sort_by_key(|f| (f.offset, std::cmp::Reverse(f.len)));

    let mut chosen: Vec<SecretFinding> = Vec::with_capacity(specific.len());
    for finding in specific {
        if chosen.last().is_none_or(|last| !last.overlaps(&finding)) {
            chosen.push(finding);
        }
    }

    let mut generic = Vec::new();
    find_high_entropy(text, &mut generic);
    for finding in generic {
        if !chosen.iter().any(|c| c.overlaps(&finding)) {
            chosen.push(finding);
        }
    }
    chosen.sort_by_key(|f| f.offset);
    chosen
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
