//! What the scanner reports: the kind and position of a secret, never the secret.

use std::fmt;

/// The shape of a secret the scanner recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    /// A PEM block whose label ends in `PRIVATE KEY` (RSA, EC, OPENSSH, PKCS#8, PGP …).
    PrivateKey,
    /// An AWS access key id (`AKIA`/`ASIA` + 16 uppercase letters or digits).
    AwsAccessKeyId,
    /// A GitHub token (`ghp_`, `gho_`, `ghs_`, `ghu_`, `ghr_`, `github_pat_`).
    GithubToken,
    /// A Slack token (`xoxa-`, `xoxb-`, `xoxp-`, `xoxr-`, `xoxs-`).
    SlackToken,
    /// A Google API key (`AIza` + 35 characters).
    GoogleApiKey,
    /// A Stripe live secret or restricted key (`sk_live_`, `rk_live_`).
    StripeKey,
    /// A JSON Web Token (three base64url segments, the first a JSON header with `alg`).
    Jwt,
    /// The token after `Bearer `.
    BearerToken,
    /// The password part of `scheme://user:password@host`.
    UrlPassword,
    /// A long run of base64-alphabet characters with near-random entropy.
    HighEntropy,
}

impl SecretKind {
    /// Every kind.
    pub const ALL: [SecretKind; 10] = [
        Self::PrivateKey,
        Self::AwsAccessKeyId,
        Self::GithubToken,
        Self::SlackToken,
        Self::GoogleApiKey,
        Self::StripeKey,
        Self::Jwt,
        Self::BearerToken,
        Self::UrlPassword,
        Self::HighEntropy,
    ];

    /// Stable kebab-case name, used in `[REDACTED:<name>]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PrivateKey => "private-key",
            Self::AwsAccessKeyId => "aws-access-key-id",
            Self::GithubToken => "github-token",
            Self::SlackToken => "slack-token",
            Self::GoogleApiKey => "google-api-key",
            Self::StripeKey => "stripe-key",
            Self::Jwt => "jwt",
            Self::BearerToken => "bearer-token",
            Self::UrlPassword => "url-password",
            Self::HighEntropy => "high-entropy",
        }
    }
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret-shaped value found in a text: its kind and its byte range
/// (`offset..offset + len`, always on character boundaries). Neither
/// `Display` nor `Debug` shows the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretFinding {
    /// What it looks like.
    pub kind: SecretKind,
    /// Byte offset of the secret in the scanned text.
    pub offset: usize,
    /// Byte length of the secret.
    pub len: usize,
}

impl SecretFinding {
    /// `offset + len`.
    pub fn end(&self) -> usize {
        self.offset + self.len
    }

    pub(crate) fn overlaps(&self, other: &SecretFinding) -> bool {
        self.offset < other.end() && other.offset < self.end()
    }
}

impl fmt::Display for SecretFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at bytes {}..{} ({} bytes, not shown)",
            self.kind,
            self.offset,
            self.end(),
            self.len
        )
    }
}
