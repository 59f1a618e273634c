//! Vendor tokens recognised by a fixed prefix and a character set.

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

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<SecretKind> {
        let mut out = Vec::new();
        find_tokens(text, &mut out);
        out.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn exact_lengths_and_word_starts_are_enforced() {
        let aws = ["AK", "IA", "IOSFODNN7Q2WZX4B"].concat();
        assert_eq!(kinds(&aws), [SecretKind::AwsAccessKeyId]);
        assert_eq!(kinds(&format!("{aws}C")), []); // 17 characters
        assert_eq!(kinds(&format!("{aws}c")), []); // glued to a word
        assert_eq!(kinds(&format!("x{aws}")), []);
        assert_eq!(kinds(&format!("_{aws}")), []);
        let google = ["AI", "za", "SyA1b2C3d4E5f6G7h8I9j0K_L-m2N3o4P5q"].concat();
        assert_eq!(kinds(&google), [SecretKind::GoogleApiKey]);
        assert_eq!(kinds(&google[..google.len() - 1]), []);
        assert_eq!(kinds(&format!("{google}r")), []);
    }

    #[test]
    fn minimum_lengths_are_enforced() {
        let gh = ["gh", "s_"].concat();
        assert_eq!(
            kinds(&format!("{gh}{}", "a1".repeat(15))),
            [SecretKind::GithubToken]
        );
        assert_eq!(kinds(&format!("{gh}{}", "a".repeat(29))), []);
        let slack = ["xo", "xp-"].concat();
        assert_eq!(
            kinds(&format!("{slack}1234567890")),
            [SecretKind::SlackToken]
        );
        assert_eq!(kinds(&format!("{slack}123456789")), []);
        let stripe = ["rk", "_live_"].concat();
        assert_eq!(
            kinds(&format!("{stripe}{}", "Ab1".repeat(6))),
            [SecretKind::StripeKey]
        );
        assert_eq!(kinds(&format!("{stripe}{}", "Ab1".repeat(5))), []);
        let pat = ["github", "_pat_"].concat();
        assert_eq!(
            kinds(&format!("{pat}{}", "A_1".repeat(8))),
            [SecretKind::GithubToken]
        );
        assert_eq!(kinds(&format!("{pat}{}", "A_1".repeat(7))), []);
    }
}
