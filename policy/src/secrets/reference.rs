//! The scanner as it was before it was made linear and saw through
//! disguises (quadratic on adversarial input), kept verbatim as the oracle
//! of the differential tests: on the text as it is, the new detectors must
//! find exactly what these did.

use super::b64::decode_base64url;
use super::entropy::{HIGH_ENTROPY_MIN_LEN, entropy_threshold, shannon_entropy};
use super::finding::{SecretFinding, SecretKind};

/// One prefix-based token shape.
struct PrefixRule {
    prefix: &'static str,
    kind: SecretKind,
    /// Characters allowed after the prefix.
    body: fn(u8) -> bool,
    /// Fewest body characters.
    min: usize,
    /// When set, the body must be exactly `min` characters followed by a
    /// non-alphanumeric character (or the end).
    exact: bool,
}

fn upper_alnum(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn alnum_underscore(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn alnum_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn alnum_dash_underscore(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

const fn rule(
    prefix: &'static str,
    kind: SecretKind,
    body: fn(u8) -> bool,
    min: usize,
    exact: bool,
) -> PrefixRule {
    PrefixRule {
        prefix,
        kind,
        body,
        min,
        exact,
    }
}

const RULES: &[PrefixRule] = &[
    rule("AKIA", SecretKind::AwsAccessKeyId, upper_alnum, 16, true),
    rule("ASIA", SecretKind::AwsAccessKeyId, upper_alnum, 16, true),
    rule("ghp_", SecretKind::GithubToken, alnum, 30, false),
    rule("gho_", SecretKind::GithubToken, alnum, 30, false),
    rule("ghs_", SecretKind::GithubToken, alnum, 30, false),
    rule("ghu_", SecretKind::GithubToken, alnum, 30, false),
    rule("ghr_", SecretKind::GithubToken, alnum, 30, false),
    rule(
        "github_pat_",
        SecretKind::GithubToken,
        alnum_underscore,
        22,
        false,
    ),
    rule("xoxa-", SecretKind::SlackToken, alnum_dash, 10, false),
    rule("xoxb-", SecretKind::SlackToken, alnum_dash, 10, false),
    rule("xoxp-", SecretKind::SlackToken, alnum_dash, 10, false),
    rule("xoxr-", SecretKind::SlackToken, alnum_dash, 10, false),
    rule("xoxs-", SecretKind::SlackToken, alnum_dash, 10, false),
    rule(
        "AIza",
        SecretKind::GoogleApiKey,
        alnum_dash_underscore,
        35,
        true,
    ),
    rule("sk_live_", SecretKind::StripeKey, alnum, 16, false),
    rule("rk_live_", SecretKind::StripeKey, alnum, 16, false),
];

/// Appends every vendor token in `text` to `out`.
pub(crate) fn find_tokens(text: &str, out: &mut Vec<SecretFinding>) {
    let bytes = text.as_bytes();
    for rule in RULES {
        for (start, _) in text.match_indices(rule.prefix) {
            // The prefix must start a word: `xAKIA…` is not a key id.
            if start > 0 && alnum_underscore(bytes[start - 1]) {
                continue;
            }
            let body_start = start + rule.prefix.len();
            let body_len = bytes[body_start..]
                .iter()
                .take_while(|&&b| (rule.body)(b))
                .count();
            let end = body_start + body_len;
            let fits = if rule.exact {
                body_len == rule.min && bytes.get(end).is_none_or(|&b| !alnum_underscore(b))
            } else {
                body_len >= rule.min
            };
            if fits {
                out.push(SecretFinding {
                    kind: rule.kind,
                    offset: start,
                    len: end - start,
                });
            }
        }
    }
}

/// Fewest characters of a `Bearer` token.
const MIN_BEARER_LEN: usize = 20;
/// Longest JWT header (base64url characters) that is decoded.
const MAX_JWT_HEADER_LEN: usize = 4096;

/// Appends every structured secret in `text` to `out`.
fn find_structured(text: &str, out: &mut Vec<SecretFinding>) {
    find_pem_private_keys(text, out);
    find_jwts(text, out);
    find_bearer_tokens(text, out);
    find_url_passwords(text, out);
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// `-----BEGIN <label>PRIVATE KEY<…>-----` up to its matching END line, or
/// to the end of the text when the block is cut short.
pub(crate) fn find_pem_private_keys(text: &str, out: &mut Vec<SecretFinding>) {
    const BEGIN: &str = "-----BEGIN ";
    for (start, _) in text.match_indices(BEGIN) {
        let after = start + BEGIN.len();
        let Some(label_len) = text[after..].find("-----") else {
            continue;
        };
        let label = &text[after..after + label_len];
        if label.len() > 64 || label.contains('\n') || !label.contains("PRIVATE KEY") {
            continue;
        }
        let header_end = after + label_len + 5;
        let footer = format!("-----END {label}-----");
        let end = text[header_end..]
            .find(&footer)
            .map_or(text.len(), |i| header_end + i + footer.len());
        out.push(SecretFinding {
            kind: SecretKind::PrivateKey,
            offset: start,
            len: end - start,
        });
    }
}

/// `eyJ…` `.` `…` `.` `…` whose first segment decodes to a JSON object
/// with an `alg` member.
fn find_jwts(text: &str, out: &mut Vec<SecretFinding>) {
    let bytes = text.as_bytes();
    let run = |from: usize| bytes[from..].iter().take_while(|&&b| is_b64url(b)).count();
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
        let header_has_alg = decode_base64url(&text[start..dot1])
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
fn find_bearer_tokens(text: &str, out: &mut Vec<SecretFinding>) {
    const WORD: &[u8] = b"bearer";
    let bytes = text.as_bytes();
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
        if !is_word {
            continue;
        }
        let mut token_start = start + WORD.len();
        let spaces = bytes[token_start..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if spaces == 0 {
            continue;
        }
        token_start += spaces;
        let token_len = bytes[token_start..]
            .iter()
            .take_while(|&&b| token_char(b))
            .count();
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
fn find_url_passwords(text: &str, out: &mut Vec<SecretFinding>) {
    let bytes = text.as_bytes();
    for (sep, _) in text.match_indices("://") {
        let scheme_len = bytes[..sep]
            .iter()
            .rev()
            .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
            .count();
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
fn is_run_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// Appends every high-entropy run in `text` to `out`.
fn find_high_entropy(text: &str, out: &mut Vec<SecretFinding>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !is_run_char(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_run_char(bytes[i]) {
            i += 1;
        }
        let mut end = i;
        while end < bytes.len() && end - i < 2 && bytes[end] == b'=' {
            end += 1;
        }
        i = end;
        judge_run(bytes, start, end, out);
    }
}

/// Whether a run is a path rather than base64 (see the module docs).
fn is_path(run: &[u8]) -> bool {
    let slashes = run.iter().filter(|&&b| b == b'/').count();
    if slashes == 0 {
        return false;
    }
    let plain = |segment: &[u8]| {
        segment
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b == b'-' || b == b'_')
    };
    let mut segments = run.split(|&b| b == b'/');
    let first = segments.next().unwrap_or_default();
    let last = segments.next_back().unwrap_or_default();
    slashes * 16 > run.len() || (plain(first) && plain(last))
}

fn judge_run(bytes: &[u8], start: usize, end: usize, out: &mut Vec<SecretFinding>) {
    let len = end - start;
    if len < HIGH_ENTROPY_MIN_LEN {
        return;
    }
    let run = &bytes[start..end];
    if is_path(run) {
        let mut seg_start = start;
        for (k, &b) in run.iter().enumerate() {
            if b == b'/' {
                judge_run(bytes, seg_start, start + k, out);
                seg_start = start + k + 1;
            }
        }
        judge_run(bytes, seg_start, end, out);
        return;
    }
    if run.iter().all(u8::is_ascii_hexdigit) {
        return;
    }
    if shannon_entropy(run) >= entropy_threshold(len) {
        out.push(SecretFinding {
            kind: SecretKind::HighEntropy,
            offset: start,
            len,
        });
    }
}

/// Every secret-shaped value in `text`, ordered by offset, not overlapping.
/// Specific shapes (vendor tokens, PEM, JWT, bearer, URL password) win over
/// the generic high-entropy finding; among overlapping specific findings
/// the earliest (then longest) wins.
pub(crate) fn scan_all(text: &str) -> Vec<SecretFinding> {
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
