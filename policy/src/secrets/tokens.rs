//! Vendor tokens recognised by a fixed prefix and a character set.
//!
//! One Aho-Corasick pass finds every prefix; the body after a prefix is the
//! run of the rule's body characters. Bodies are measured once per body
//! class: a prefix whose body starts inside a run already measured for its
//! class reuses that run's end, so no byte is examined twice by the same
//! class and the whole pass is O(n).
//!
//! The automaton reports non-overlapping (leftmost-first) matches; that
//! loses nothing, because a prefix starting inside another prefix is
//! preceded by one of that prefix's word characters (every prefix character
//! but the final `-` of `xox?-` is one), and such a prefix never starts a
//! word.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};

use super::finding::{SecretFinding, SecretKind};
use super::steps;

/// The character classes a token body may be made of.
#[derive(Clone, Copy)]
enum Body {
    UpperAlnum,
    Alnum,
    AlnumUnderscore,
    AlnumDash,
    AlnumDashUnderscore,
}

impl Body {
    const COUNT: usize = 5;

    fn index(self) -> usize {
        self as usize
    }

    fn allows(self, b: u8) -> bool {
        match self {
            Self::UpperAlnum => b.is_ascii_uppercase() || b.is_ascii_digit(),
            Self::Alnum => b.is_ascii_alphanumeric(),
            Self::AlnumUnderscore => alnum_underscore(b),
            Self::AlnumDash => b.is_ascii_alphanumeric() || b == b'-',
            Self::AlnumDashUnderscore => b.is_ascii_alphanumeric() || b == b'-' || b == b'_',
        }
    }
}

/// One prefix-based token shape.
struct PrefixRule {
    prefix: &'static str,
    kind: SecretKind,
    /// Characters allowed after the prefix.
    body: Body,
    /// Fewest body characters.
    min: usize,
    /// When set, the body must be exactly `min` characters followed by a
    /// non-alphanumeric character (or the end).
    exact: bool,
}

fn alnum_underscore(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

const fn rule(
    prefix: &'static str,
    kind: SecretKind,
    body: Body,
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
    rule(
        "AKIA",
        SecretKind::AwsAccessKeyId,
        Body::UpperAlnum,
        16,
        true,
    ),
    rule(
        "ASIA",
        SecretKind::AwsAccessKeyId,
        Body::UpperAlnum,
        16,
        true,
    ),
    rule("ghp_", SecretKind::GithubToken, Body::Alnum, 30, false),
    rule("gho_", SecretKind::GithubToken, Body::Alnum, 30, false),
    rule("ghs_", SecretKind::GithubToken, Body::Alnum, 30, false),
    rule("ghu_", SecretKind::GithubToken, Body::Alnum, 30, false),
    rule("ghr_", SecretKind::GithubToken, Body::Alnum, 30, false),
    rule(
        "github_pat_",
        SecretKind::GithubToken,
        Body::AlnumUnderscore,
        22,
        false,
    ),
    rule("xoxa-", SecretKind::SlackToken, Body::AlnumDash, 10, false),
    rule("xoxb-", SecretKind::SlackToken, Body::AlnumDash, 10, false),
    rule("xoxp-", SecretKind::SlackToken, Body::AlnumDash, 10, false),
    rule("xoxr-", SecretKind::SlackToken, Body::AlnumDash, 10, false),
    rule("xoxs-", SecretKind::SlackToken, Body::AlnumDash, 10, false),
    rule(
        "AIza",
        SecretKind::GoogleApiKey,
        Body::AlnumDashUnderscore,
        35,
        true,
    ),
    rule("sk_live_", SecretKind::StripeKey, Body::Alnum, 16, false),
    rule("rk_live_", SecretKind::StripeKey, Body::Alnum, 16, false),
];

/// Every prefix of [`RULES`], the pattern index being the rule index.
const PREFIXES: [&str; RULES.len()] = {
    let mut out = [""; RULES.len()];
    let mut i = 0;
    while i < RULES.len() {
        out[i] = RULES[i].prefix;
        i += 1;
    }
    out
};

static AUTOMATON: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostFirst)
        .build(PREFIXES)
        .expect("the token prefixes are a valid automaton")
});

/// Appends every vendor token in `text` to `out`.
pub(crate) fn find_tokens(text: &str, out: &mut Vec<SecretFinding>) {
    let bytes = text.as_bytes();
    steps::add(bytes.len());
    // Per body class, a run already measured: every byte in
    // `from..end` is a body character and `bytes[end]` is not (or is the end).
    let mut measured = [(usize::MAX, 0usize); Body::COUNT];
    for found in AUTOMATON.find_iter(bytes) {
        let rule = &RULES[found.pattern().as_usize()];
        let start = found.start();
        // The prefix must start a word: `xAKIA…` is not a key id.
        if start > 0 && alnum_underscore(bytes[start - 1]) {
            continue;
        }
        let body_start = found.end();
        let (from, end) = &mut measured[rule.body.index()];
        if !(*from <= body_start && body_start <= *end) {
            let len = bytes[body_start..]
                .iter()
                .take_while(|&&b| rule.body.allows(b))
                .count();
            steps::add(len + 1);
            (*from, *end) = (body_start, body_start + len);
        }
        let end = *end;
        let body_len = end - body_start;
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
