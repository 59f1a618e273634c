//! Encoded runs: hex and base64 whose decoded bytes are text.
//!
//! A secret hex- or base64-encoded is not secret-shaped any more; these
//! runs are decoded and the scanner looks for secrets in the decoded text.
//!
//! - A hex run is a maximal run of hex digits, of even length and at least
//!   [`MIN_HEX_RUN`] characters.
//! - A base64 run is a maximal run of `A-Z a-z 0-9 + / - _` (either
//!   alphabet) with up to two trailing `=`, at least [`MIN_BASE64_RUN`]
//!   characters, and not made of hex digits only (those are hex runs, or
//!   ids: never decoded as base64).
//!
//! Only runs that decode to text are kept: valid UTF-8 (invalid bytes count
//! against it) of which at least 90% are printable characters. A SHA-256
//! digest, a signature or base64 of random bytes decodes to random binary
//! (a random byte is printable ASCII with probability 95/256), which is
//! never kept, so it can never become a finding through decoding.
//!
//! Decoding is linear: runs are disjoint, each is decoded once, and the
//! caller's budget caps the decoded bytes (see `scan.rs`).

use super::b64::decode_base64_lenient;
use super::entropy::RUN_CHARS;
use super::steps;

/// Shortest hex run that is decoded (20 bytes of text).
pub(crate) const MIN_HEX_RUN: usize = 40;
/// Shortest base64 run that is decoded (18 bytes of text).
pub(crate) const MIN_BASE64_RUN: usize = 24;
/// Share of printable characters (percent) a decoded run needs to be text.
const MIN_PRINTABLE_PERCENT: usize = 90;

/// A run of the text whose decoded bytes are text.
pub(crate) struct Decoded {
    /// Byte range of the run in the text it was found in.
    pub start: usize,
    pub end: usize,
    /// The decoded text.
    pub text: String,
}

fn is_base64_char(b: u8) -> bool {
    RUN_CHARS[usize::from(b)]
}

/// Every hex or base64 run of `text` that decodes to text, hex runs first,
/// each kind in text order, while `budget` (decoded bytes) lasts; each run
/// decoded takes its decoded length from `budget`.
pub(crate) fn decoded_runs(text: &str, budget: &mut usize) -> Vec<Decoded> {
    let bytes = text.as_bytes();
    let mut hex_runs = Vec::new();
    let mut base64_runs = Vec::new();
    // Every hex run of MIN_HEX_RUN or more lies in a base64 run at least as
    // long (hex digits are base64 characters): one pass finds the base64
    // runs, the hex runs are looked for inside the long ones.
    steps::add(bytes.len());
    for (start, end) in runs(bytes, is_base64_char, 2, MIN_BASE64_RUN) {
        let run = &bytes[start..end];
        steps::add(run.len());
        if run.len() >= MIN_HEX_RUN {
            hex_runs.extend(
                runs(run, |b| b.is_ascii_hexdigit(), 0, MIN_HEX_RUN)
                    .into_iter()
                    .map(|(s, e)| (start + s, start + e)),
            );
        }
        if !run.iter().all(u8::is_ascii_hexdigit) {
            base64_runs.push((start, end));
        }
    }

    let mut out = Vec::new();
    for (start, end) in hex_runs {
        let run = &bytes[start..end];
        let len = run.len();
        if len % 2 == 1 || len / 2 > *budget {
            continue;
        }
        // Random binary is told from text by its first bytes.
        let head = &run[..len.min(2 * PEEK_BYTES)];
        steps::add(head.len());
        if !hex::decode(head).is_ok_and(|decoded| starts_as_text(&decoded)) {
            continue;
        }
        *budget -= len / 2;
        steps::add(len);
        if let Ok(decoded) = hex::decode(run)
            && let Some(text) = as_text(decoded)
        {
            out.push(Decoded { start, end, text });
        }
    }
    for (start, end) in base64_runs {
        let run = &bytes[start..end];
        let len = run.len();
        if len * 3 / 4 > *budget {
            continue;
        }
        // A run glued to one stray character: decode without it.
        let unpadded = run.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
        let run = if unpadded % 4 == 1 {
            &run[..unpadded - 1]
        } else {
            run
        };
        // Random binary is told from text by its first bytes.
        let head = &run[..run.len().min(PEEK_BYTES / 3 * 4)];
        if !decode_base64_lenient(head).is_some_and(|decoded| starts_as_text(&decoded)) {
            continue;
        }
        *budget -= len * 3 / 4;
        if let Some(decoded) = decode_base64_lenient(run)
            && let Some(text) = as_text(decoded)
        {
            out.push(Decoded { start, end, text });
        }
    }
    out
}

/// How many decoded bytes are looked at before a run is decoded whole.
const PEEK_BYTES: usize = 48;

/// Whether the first decoded bytes of a run can be the start of text: the
/// test of [`as_text`], a character cut at the end forgiven.
fn starts_as_text(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(text) => mostly_printable(text),
        Err(err) if err.error_len().is_none() => {
            mostly_printable(std::str::from_utf8(&head[..err.valid_up_to()]).unwrap_or_default())
        }
        Err(_) => mostly_printable(&String::from_utf8_lossy(head)),
    }
}

/// The maximal runs of `member` bytes in `bytes`, each extended by up to
/// `padding` trailing `=`, of at least `min` bytes before the padding.
fn runs(
    bytes: &[u8],
    member: impl Fn(u8) -> bool,
    padding: usize,
    min: usize,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !member(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && member(bytes[i]) {
            i += 1;
        }
        let mut end = i;
        while end < bytes.len() && end - i < padding && bytes[end] == b'=' {
            end += 1;
        }
        if i - start >= min {
            out.push((start, end));
        }
        i = end;
    }
    out
}

/// `bytes` as a string when they are text: UTF-8 whose characters are at
/// least [`MIN_PRINTABLE_PERCENT`] % printable (tabs and line breaks
/// count as printable; invalid bytes, control and format characters do
/// not).
fn as_text(bytes: Vec<u8>) -> Option<String> {
    steps::add(bytes.len());
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    };
    mostly_printable(&text).then_some(text)
}

fn mostly_printable(text: &str) -> bool {
    let (mut total, mut printable) = (0usize, 0usize);
    for c in text.chars() {
        total += 1;
        if matches!(c, '\t' | '\n' | '\r') || !(c.is_control() || c == char::REPLACEMENT_CHARACTER)
        {
            printable += 1;
        }
    }
    total > 0 && printable * 100 >= total * MIN_PRINTABLE_PERCENT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &str) -> Vec<(usize, usize, String)> {
        let mut budget = usize::MAX;
        decoded_runs(text, &mut budget)
            .into_iter()
            .map(|d| (d.start, d.end, d.text))
            .collect()
    }

    #[test]
    fn hex_and_base64_of_text_are_decoded() {
        let plain = "the quick brown fox jumps over";
        let hex = hex::encode(plain);
        assert_eq!(
            decoded(&format!("x {hex} y")),
            [(2, 2 + hex.len(), plain.to_owned())]
        );
        assert_eq!(
            decoded(&format!("0x{hex}")),
            [(2, 2 + hex.len(), plain.to_owned())]
        );
        // "the quick brown fox jumps over" in base64, then base64url.
        let b64 = "dGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVy";
        assert_eq!(decoded(b64), [(0, b64.len(), plain.to_owned())]);
        let padded = "dGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdg==";
        assert_eq!(decoded(padded)[0].1, padded.len());
        // A run right after another's padding.
        let two = format!("{padded}{b64}");
        assert_eq!(
            decoded(&two)[1],
            (padded.len(), two.len(), plain.to_owned())
        );
    }

    #[test]
    fn digests_and_random_binary_are_not_text() {
        let digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(decoded(digest).is_empty());
        assert!(decoded(&digest.to_uppercase()).is_empty());
        assert!(decoded("q2Wv9+Lx/7HkZp3Rn8Tj1Bc6Ym4Ds0Fa5Ge2Ih9Kl==").is_empty());
        assert!(decoded("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").is_empty()); // zero bytes
    }

    #[test]
    fn the_budget_caps_the_decoded_bytes() {
        let b64 = "dGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVy";
        let text = format!("{b64} {b64} {b64}");
        let mut budget = 2 * b64.len() * 3 / 4;
        assert_eq!(decoded_runs(&text, &mut budget).len(), 2);
        assert_eq!(budget, 0);
    }
}
