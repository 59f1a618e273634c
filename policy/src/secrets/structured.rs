//! Secrets recognised by their structure: PEM private keys, JWTs, bearer
//! tokens and passwords in URLs.
//!
//! Each detector is O(n): a PEM footer is looked up among the footers
//! collected in one pass (not searched for to the end of the text for every
//! header); the runs measured after a JWT's `eyJ`, after `Bearer ` and
//! around `://` are maximal runs that start (or end) at a character outside
//! the run, so two matches never measure the same run twice (see each
//! function).

use std::collections::{HashMap, VecDeque};

use super::b64::decode_base64url;
use super::finding::{SecretFinding, SecretKind};
use super::steps;

/// Fewest characters of a `Bearer` token.
const MIN_BEARER_LEN: usize = 20;
/// Shortest JWT header (base64url characters) that can have an `alg`.
const MIN_JWT_HEADER_LEN: usize = 12;
/// Longest JWT header (base64url characters) that is decoded.
const MAX_JWT_HEADER_LEN: usize = 4096;

/// Appends every structured secret in `text` to `out`.
pub(crate) fn find_structured(text: &str, out: &mut Vec<SecretFinding>) {
    find_pem_private_keys(text, out);
    find_jwts(text, out);
    find_bearer_tokens(text, out);
    find_url_passwords(text, out);
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Longest PEM label (`RSA PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, …).
const MAX_PEM_LABEL: usize = 64;
const PEM_BEGIN: &str = "-----BEGIN ";
const PEM_END: &str = "-----END ";
const DASHES: &[u8] = b"-----";

/// The length of the label at `at`: the bytes before the first `-----`,
/// when that is at most [`MAX_PEM_LABEL`] bytes away.
fn pem_label_len(bytes: &[u8], at: usize) -> Option<usize> {
    let window = &bytes[at..bytes.len().min(at + MAX_PEM_LABEL + DASHES.len())];
    steps::add(window.len());
    window.windows(DASHES.len()).position(|w| w == DASHES)
}

/// The start of every `-----END <label>-----`, by label, in text order.
///
/// A label never contains `-----` and never ends in `-` (it stops at the
/// first `-----`), so `-----END <label>-----` occurs at `p` exactly when
/// the label read at `p` is that label: these lists hold every occurrence
/// of every footer.
fn pem_footers(text: &str) -> HashMap<&[u8], VecDeque<usize>> {
    let bytes = text.as_bytes();
    steps::add(bytes.len());
    let mut footers: HashMap<&[u8], VecDeque<usize>> = HashMap::new();
    for (at, _) in text.match_indices(PEM_END) {
        let label_start = at + PEM_END.len();
        if let Some(len) = pem_label_len(bytes, label_start) {
            steps::add(len);
            footers
                .entry(&bytes[label_start..label_start + len])
                .or_default()
                .push_back(at);
        }
    }
    footers
}

/// `-----BEGIN <label>PRIVATE KEY<…>-----` up to its matching END line, or
/// to the end of the text when the block is cut short. The footer is the
/// first one with the same label after the header; headers come in text
/// order, so each footer list is consumed front to back once.
pub(crate) fn find_pem_private_keys(text: &str, out: &mut Vec<SecretFinding>) {
    let bytes = text.as_bytes();
    steps::add(bytes.len());
    let mut footers = None;
    for (start, _) in text.match_indices(PEM_BEGIN) {
        let after = start + PEM_BEGIN.len();
        let Some(label_len) = pem_label_len(bytes, after) else {
            continue;
        };
        let label = &bytes[after..after + label_len];
        steps::add(label_len);
        if label.contains(&b'\n') || !label.windows(11).any(|w| w == b"PRIVATE KEY") {
            continue;
        }
        let header_end = after + label_len + DASHES.len();
        let footers = footers.get_or_insert_with(|| pem_footers(text));
        let end = footers
            .get_mut(label)
            .and_then(|list| {
                while list.front().is_some_and(|&at| at < header_end) {
                    steps::add(1);
                    list.pop_front();
                }
                list.front().copied()
            })
            .map_or(text.len(), |at| {
                at + PEM_END.len() + label_len + DASHES.len()
            });
        out.push(SecretFinding {
            kind: SecretKind::PrivateKey,
            offset: start,
            len: end - start,
        });
    }
}

/// `eyJ…` `.` `…` `.` `…` whose first segment decodes to a JSON object
/// with an `alg` member.
///
/// Linear: a header starts after a non-base64url byte and the payload and
/// signature after a `.`, so every run measured is a maximal base64url
/// run, and each maximal run is measured at most three times (as a header,
/// a payload and a signature); a header is decoded at most once.
fn find_jwts(text: &str, out: &mut Vec<SecretFinding>) {
    let bytes = text.as_bytes();
    steps::add(bytes.len());
    let run = |from: usize| {
        let len = bytes[from..].iter().take_while(|&&b| is_b64url(b)).count();
        steps::add(len + 1);
        len
    };
    for (start, _) in text.match_indices("eyJ") {
        if start > 0 && is_b64url(bytes[start - 1]) {
            continue;
        }
        let header_len = run(start);
        let dot1 = start + header_len;
        if header_len > MAX_JWT_HEADER_LEN || bytes.get(dot1) != Some(&b'.') {
            continue;
        }
        let payload_len = run(dot1 + 1);
        let dot2 = dot1 + 1 + payload_len;
        if payload_len == 0 || bytes.get(dot2) != Some(&b'.') {
            continue;
        }
        // The signature is empty for `alg: none`, which is still a token.
        let end = dot2 + 1 + run(dot2 + 1);
        steps::add(header_len);
        // The shortest header with `alg`, `{"alg":0}`, is 12 characters.
        let header_has_alg = header_len >= MIN_JWT_HEADER_LEN
            && decode_base64url(&text[start..dot1])
                .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
                .is_some_and(|v| v.get("alg").is_some());
        if header_has_alg {
            out.push(SecretFinding {
                kind: SecretKind::Jwt,
                offset: start,
                len: end - start,
            });
        }
    }
}

/// The token after `Bearer ` (any case): at least 20 token characters,
/// not only lowercase letters, `-` and `_` (that is prose, not a token).
///
/// Linear: the blanks measured follow a whole word `bearer` and the token
/// follows blanks, so both are maximal runs, each measured once.
fn find_bearer_tokens(text: &str, out: &mut Vec<SecretFinding>) {
    const WORD: &[u8] = b"bearer";
    let bytes = text.as_bytes();
    steps::add(bytes.len());
    let token_char = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
    };
    let mut at = 0;
    while let Some(i) = bytes[at..].iter().position(|&b| b == b'b' || b == b'B') {
        let start = at + i;
        at = start + 1;
        let is_word = bytes.len() >= start + WORD.len()
            && bytes[start..start + WORD.len()].eq_ignore_ascii_case(WORD)
            && (start == 0 || !bytes[start - 1].is_ascii_alphanumeric());
        steps::add(WORD.len());
        if !is_word {
            continue;
        }
        let mut token_start = start + WORD.len();
        let spaces = bytes[token_start..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        steps::add(spaces + 1);
        if spaces == 0 {
            continue;
        }
        token_start += spaces;
        let token_len = bytes[token_start..]
            .iter()
            .take_while(|&&b| token_char(b))
            .count();
        steps::add(2 * token_len + 1);
        let token = &bytes[token_start..token_start + token_len];
        let looks_like_prose = token
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b == b'-' || b == b'_');
        if token_len >= MIN_BEARER_LEN && !looks_like_prose {
            out.push(SecretFinding {
                kind: SecretKind::BearerToken,
                offset: token_start,
                len: token_len,
            });
        }
    }
}

/// The non-empty password in `scheme://user:password@host`.
///
/// Linear: `:` and `/` are neither scheme nor authority characters, so the
/// scheme measured backwards from one `://` stops after the previous one,
/// and the authority measured forwards stops at the next one's `/`.
fn find_url_passwords(text: &str, out: &mut Vec<SecretFinding>) {
    let bytes = text.as_bytes();
    steps::add(bytes.len());
    for (sep, _) in text.match_indices("://") {
        let scheme_len = bytes[..sep]
            .iter()
            .rev()
            .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
            .count();
        steps::add(scheme_len + 1);
        let scheme = &bytes[sep - scheme_len..sep];
        if !scheme.first().is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let authority_start = sep + 3;
        let authority_len = bytes[authority_start..]
            .iter()
            .take_while(|&&b| {
                !b.is_ascii_whitespace()
                    && !matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'`')
            })
            .count();
        // Measuring it, then looking for `@` and `:` in it.
        steps::add(3 * authority_len + 1);
        let authority = &bytes[authority_start..authority_start + authority_len];
        let Some(at) = authority.iter().rposition(|&b| b == b'@') else {
            continue;
        };
        let Some(colon) = authority[..at].iter().position(|&b| b == b':') else {
            continue;
        };
        if at > colon + 1 {
            out.push(SecretFinding {
                kind: SecretKind::UrlPassword,
                offset: authority_start + colon + 1,
                len: at - colon - 1,
            });
        }
    }
}
