//! Secrets recognised by their structure: PEM private keys, JWTs, bearer
//! tokens and passwords in URLs.

use super::b64::decode_base64url;
use super::finding::{SecretFinding, SecretKind};

/// Fewest characters of a `Bearer` token.
const MIN_BEARER_LEN: usize = 20;
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

/// `-----BEGIN <label>PRIVATE KEY<…>-----` up to its matching END line, or
/// to the end of the text when the block is cut short.
fn find_pem_private_keys(text: &str, out: &mut Vec<SecretFinding>) {
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
