//! Scanner tests: every kind found, nothing found in digests and the corpus,
//! and no report ever contains the secret.
//!
//! Fake secrets are assembled from pieces so this file does not itself
//! look like it leaks credentials.

use std::fs;
use std::path::Path;

use super::*;

/// One example per kind, in a sentence: (kind, secret, text).
pub(super) fn examples() -> Vec<(SecretKind, String, String)> {
    let pem_body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
    let pem = format!(
        "-----BEGIN {k}-----\n{pem_body}\n-----END {k}-----",
        k = ["PRIVATE", " KEY"].concat()
    );
    let aws = ["AK", "IA", "IOSFODNN7Q2WZX4B"].concat();
    let github = ["gh", "p_", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"].concat();
    let github_pat = [
        "github",
        "_pat_",
        "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    ]
    .concat();
    let slack = ["xo", "xb-", "1234567890-0987654321-AbCdEfGhIjKl"].concat();
    let google = ["AI", "za", "SyA1b2C3d4E5f6G7h8I9j0K_L-m2N3o4P5q"].concat();
    let stripe = ["sk", "_live_", "4eC39HqLyjWDarjtT1zdp7dc"].concat();
    let jwt = [
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        ".eyJzdWIiOiIxMjM0NTY3ODkwIn0",
        ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ]
    .concat();
    let bearer = ["mF3kQ9xV2zL7", "wP4rT8yB1nC6"].concat();
    let url_password = "s3cr3t-Pa55".to_owned();
    let blob = ["Jq8vXw2LmZ4p", "T9rYk3NbC6dHf1sGa7Ue"].concat();
    vec![
        (
            SecretKind::PrivateKey,
            pem.clone(),
            format!("key:\n{pem}\n"),
        ),
        (
            SecretKind::AwsAccessKeyId,
            aws.clone(),
            format!("id={aws} ok"),
        ),
        (
            SecretKind::GithubToken,
            github.clone(),
            format!("tok {github}"),
        ),
        (
            SecretKind::GithubToken,
            github_pat.clone(),
            format!("'{github_pat}'"),
        ),
        (
            SecretKind::SlackToken,
            slack.clone(),
            format!("slack: {slack}"),
        ),
        (
            SecretKind::GoogleApiKey,
            google.clone(),
            format!("key={google}&q=1"),
        ),
        (
            SecretKind::StripeKey,
            stripe.clone(),
            format!("stripe {stripe}"),
        ),
        (
            SecretKind::Jwt,
            jwt.clone(),
            format!("cookie={jwt}; path=/"),
        ),
        (
            SecretKind::BearerToken,
            bearer.clone(),
            format!("Authorization: Bearer {bearer}"),
        ),
        (
            SecretKind::UrlPassword,
            url_password.clone(),
            format!("store postgres://cutter:{url_password}@db.example:5432/iu"),
        ),
        (
            SecretKind::HighEntropy,
            blob.clone(),
            format!("blob {blob} end"),
        ),
    ]
}

#[test]
fn every_kind_is_found_at_its_position() {
    let mut kinds_seen = Vec::new();
    for (kind, secret, text) in examples() {
        let finding = scan_value(&text).unwrap_or_else(|| panic!("{kind}: not found"));
        assert_eq!(finding.kind, kind, "{text}");
        assert_eq!(&text[finding.offset..finding.end()], secret, "{kind}");
        kinds_seen.push(kind);
    }
    for kind in SecretKind::ALL {
        assert!(kinds_seen.contains(&kind), "no example for {kind}");
    }
}

#[test]
fn findings_and_violations_never_show_the_secret() {
    for (kind, secret, text) in examples() {
        let finding = scan_value(&text).unwrap();
        for shown in [finding.to_string(), format!("{finding:?}")] {
            assert!(!shown.contains(&secret), "{kind}: {shown}");
            assert!(shown.contains(kind.as_str()) || shown.contains(&format!("{kind:?}")));
        }
        let violation = scan_json(&serde_json::json!({"log": [text]})).unwrap_err();
        for shown in [violation.to_string(), format!("{violation:?}")] {
            assert!(!shown.contains(&secret), "{kind}: {shown}");
        }
        let redacted = redact(&text);
        assert!(!redacted.contains(&secret), "{kind}: {redacted}");
        assert!(
            redacted.contains(&format!("[REDACTED:{kind}]")),
            "{redacted}"
        );
    }
}

#[test]
fn a_truncated_private_key_is_found_to_the_end_of_the_text() {
    let text = ["x -----BEGIN RSA PRIVATE", " KEY-----\nMIIEowIBAAKCAQEA"].concat();
    let finding = scan_value(&text).unwrap();
    assert_eq!(finding.kind, SecretKind::PrivateKey);
    assert_eq!((finding.offset, finding.end()), (2, text.len()));
}

#[test]
fn redact_keeps_the_surrounding_text() {
    let text = format!(
        "a https://u:{}@h/x b {} c",
        "pw123",
        ["gh", "p_", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"].concat()
    );
    assert_eq!(
        redact(&text),
        "a https://u:[REDACTED:url-password]@h/x b [REDACTED:github-token] c"
    );
    assert_eq!(redact("nothing here"), "nothing here");
}

#[test]
fn near_misses_are_not_secrets() {
    let fine = [
        "https://example.org:8443/path?q=1",
        "https://user@example.org/",
        "postgres://user:@host/db",
        "mailto:someone@example.org",
        "AKIA is a prefix", // too short
        &["xAK", "IAIOSFODNN7Q2WZX4B"].concat(),
        &["AK", "IAIOSFODNN7Q2WZX4BC"].concat(), // 17 characters
        "ghp_short",
        "xoxb-12345",                            // too short
        "sk_live_4eC39HqLy",                     // too short
        "://cutter:pw@host",                     // no scheme
        "1x://cutter:pw@host",                   // scheme must start with a letter
        "BearerTokenProvider2024Implementation", // no space after Bearer
        "Bearer:mF3kQ9xV2zL7wP4rT8yB1nC6",       // no space after Bearer
        "0123456789abcdefABCDEF0123456789",      // mixed-case hex
        "the bearer of this document",
        "Bearer authentication-is-described-below",
        "eyJub3QiOiJhIGp3dCJ9.e30.sig", // header without alg
        "eyJhbGciOiJIUzI1NiJ9 alone",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----",
    ];
    for text in fine {
        assert_eq!(scan_value(text), None, "{text}");
    }
}

#[test]
fn digests_ids_and_evidence_are_not_secrets() {
    let digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let texts = [
        digest.to_owned(),
        format!("sha256:{digest}"),
        format!("{digest}{digest}"),
        digest.to_uppercase(),
        "0f1e2d3c4b5a69788796a5b4c3d2e1f0".to_owned(),
        "6f1c2d3a-9b8e-4f7d-a6c5-b4e3d2c1f0a9".to_owned(),
        "01HZX3Q4R5S6T7V8W9XAYBZC0D".to_owned(),
        format!("{}{}", "ab".repeat(64), "cd".repeat(32)), // an Ed25519 signature
        "chp_1__art_5__para_2__point_a".to_owned(),
        "runs/run-2024-05-01/kb/structural_verify.json".to_owned(),
    ];
    for text in &texts {
        assert_eq!(scan_value(text), None, "{text}");
    }
    let evidence = serde_json::json!({
        "plan_digest": digest,
        "region_sha_list_digest": digest,
        "signatures": [format!("{digest}{digest}")],
        "key_id": "0123456789abcdef",
        "approval_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    });
    assert_eq!(scan_json(&evidence), Ok(()));
}

#[test]
fn the_vietnamese_corpus_has_no_secrets() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/vlc");
    let mut files = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let findings = scan_all(&text);
        assert!(
            findings.is_empty(),
            "{}: {:?}",
            path.display(),
            findings.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
        files += 1;
    }
    assert!(files > 0, "no corpus files in {}", dir.display());
}
