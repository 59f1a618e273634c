//! Disguised secrets are found (hex, base64, fullwidth, zero-width and bidi
//! characters, reversed, spaced out, split across lines), reported at the
//! disguise's position and never shown; and the derived views add no
//! finding to the corpus, digests, ids and base64 of random bytes.
//!
//! Fake secrets are assembled from pieces (see `tests.rs`).

use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::tests::examples;
use super::*;

mod inputs {
    #![allow(dead_code)]
    include!("../../benches/common/inputs.rs");
}
pub(super) use inputs::{Rng, base64, hex_encode};

fn github() -> String {
    ["gh", "p_", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"].concat()
}

pub(super) fn base64url(bytes: &[u8]) -> String {
    base64(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

pub(super) fn fullwidth(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            ' ' => '\u{3000}',
            c => c,
        })
        .collect()
}

/// `text` with `mark` between every two characters.
pub(super) fn interleave(text: &str, mark: &str) -> String {
    let chars: Vec<String> = text.chars().map(String::from).collect();
    chars.join(mark)
}

pub(super) fn reversed(text: &str) -> String {
    text.chars().rev().collect()
}

/// Checks that a disguised secret in `text` at `span` is found with `kind`
/// at exactly `span`, redacted whole, and never shown.
fn assert_found(kind: SecretKind, secret: &str, text: &str, span: (usize, usize), how: &str) {
    let findings = scan_all(text);
    let shown: Vec<String> = findings.iter().map(ToString::to_string).collect();
    let finding = findings
        .iter()
        .find(|f| f.offset < span.1 && span.0 < f.end())
        .unwrap_or_else(|| panic!("{how} {kind}: not found in {text:?}: {shown:?}"));
    assert_eq!(finding.kind, kind, "{how}: {text:?}");
    assert_eq!(
        (finding.offset, finding.end()),
        span,
        "{how} {kind}: {text:?} {shown:?}"
    );
    assert!(scan_value(text).is_some());
    let disguised = &text[span.0..span.1];
    for shown in [finding.to_string(), format!("{finding:?}")] {
        assert!(
            !shown.contains(secret) && !shown.contains(disguised),
            "{how}: {shown}"
        );
    }
    let redacted = redact(text);
    assert!(
        !redacted.contains(disguised) && !redacted.contains(secret),
        "{how} {kind}: {redacted}"
    );
    assert!(
        redacted.contains(&format!("[REDACTED:{kind}]")),
        "{how}: {redacted}"
    );
    let violation = scan_json(&serde_json::json!({ "log": text })).unwrap_err();
    for shown in [violation.to_string(), format!("{violation:?}")] {
        assert!(
            !shown.contains(secret) && !shown.contains(disguised),
            "{how}: {shown}"
        );
    }
}

/// Replaces the secret of each example by its disguise and checks that it
/// is found there, for every kind but those in `skip`.
fn check_disguise(how: &str, skip: &[SecretKind], disguise: impl Fn(&str) -> String) {
    for (kind, secret, text) in examples() {
        if skip.contains(&kind) {
            continue;
        }
        let disguised = disguise(&secret);
        let start = text.find(&secret).unwrap();
        let text = text.replacen(&secret, &disguised, 1);
        assert_found(kind, &secret, &text, (start, start + disguised.len()), how);
    }
}

#[test]
fn hex_encoded_secrets_are_found() {
    // Decoded text that holds a secret shape makes the hex run a finding
    // of that kind; high entropy alone in decoded text does not count.
    check_disguise("hex", &[SecretKind::HighEntropy], |s| {
        hex_encode(s.as_bytes())
    });
    check_disguise("HEX", &[SecretKind::HighEntropy], |s| {
        hex_encode(s.as_bytes()).to_uppercase()
    });
    let text = format!("payload 0x{} sent", hex_encode(github().as_bytes()));
    assert_found(
        SecretKind::GithubToken,
        &github(),
        &text,
        (10, text.len() - 5),
        "0x",
    );
}

#[test]
fn base64_encoded_secrets_are_found() {
    check_disguise("base64", &[SecretKind::HighEntropy], |s| {
        base64(s.as_bytes())
    });
    check_disguise("base64url", &[SecretKind::HighEntropy], |s| {
        base64url(s.as_bytes())
    });
    // In a sentence that is itself encoded, and encoded twice.
    let inner = base64(format!("the key is {} ok", github()).as_bytes());
    let text = format!("blob {inner}.");
    assert_found(
        SecretKind::GithubToken,
        &github(),
        &text,
        (5, 5 + inner.len()),
        "sentence",
    );
    let twice = hex_encode(base64(github().as_bytes()).as_bytes());
    assert_found(
        SecretKind::GithubToken,
        &github(),
        &twice,
        (0, twice.len()),
        "hex(base64)",
    );
    let thrice = base64(hex_encode(base64(github().as_bytes()).as_bytes()).as_bytes());
    assert_found(
        SecretKind::GithubToken,
        &github(),
        &thrice,
        (0, thrice.len()),
        "3 deep",
    );
}

#[test]
fn fullwidth_secrets_are_found() {
    check_disguise("fullwidth", &[], fullwidth);
    // Half fullwidth.
    let token = github();
    let mixed: String = token
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                fullwidth(&c.to_string())
            } else {
                c.to_string()
            }
        })
        .collect();
    let text = format!("tok {mixed}!");
    assert_found(
        SecretKind::GithubToken,
        &token,
        &text,
        (4, 4 + mixed.len()),
        "mixed",
    );
}

#[test]
fn secrets_with_invisible_characters_inside_are_found() {
    for mark in [
        "\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}", "\u{00AD}",
    ] {
        check_disguise(&format!("{mark:?}"), &[], |s| interleave(s, mark));
    }
    // Bidi controls: embeddings, overrides, isolates, marks.
    for mark in [
        "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}",
        "\u{2068}", "\u{2069}", "\u{200E}", "\u{200F}", "\u{061C}",
    ] {
        check_disguise(&format!("{mark:?}"), &[], |s| interleave(s, mark));
    }
    // A right-to-left override that displays a reversed secret forwards.
    let token = github();
    let text = format!("id \u{202E}{}\u{202C} end", reversed(&token));
    assert_found(
        SecretKind::GithubToken,
        &token,
        &text,
        (6, 6 + token.len()),
        "RLO",
    );
    // Fullwidth with zero-width spaces.
    let both = interleave(&fullwidth(&token), "\u{200B}");
    let text = format!("x {both} y");
    assert_found(
        SecretKind::GithubToken,
        &token,
        &text,
        (2, 2 + both.len()),
        "fw+zw",
    );
}

#[test]
fn reversed_secrets_are_found() {
    check_disguise("reversed", &[], reversed);
    let token = github();
    let b64 = base64(reversed(&token).as_bytes());
    assert_found(
        SecretKind::GithubToken,
        &token,
        &b64,
        (0, b64.len()),
        "base64(reversed)",
    );
}

#[test]
fn spaced_out_secrets_are_found() {
    // Spacing the whole text out (its own spaces become three) keeps the
    // secret's neighbours; a PEM label has spaces of its own, so a spaced
    // PEM header is not a header any more.
    for (kind, secret, text) in examples() {
        if kind == SecretKind::PrivateKey {
            continue;
        }
        let spaced = interleave(&text, " ");
        let disguised = interleave(&secret, " ");
        let start = spaced.find(&disguised).unwrap();
        assert_found(
            kind,
            &secret,
            &spaced,
            (start, start + disguised.len()),
            "spaced",
        );
    }
    let token = github();
    let spaced = interleave(&token, " ");
    let text = format!("the token:\n{spaced}\nnext line");
    assert_found(
        SecretKind::GithubToken,
        &token,
        &text,
        (11, 11 + spaced.len()),
        "line",
    );
    let in_base64 = base64(format!("k: {spaced}").as_bytes());
    assert_found(
        SecretKind::GithubToken,
        &token,
        &in_base64,
        (0, in_base64.len()),
        "b64",
    );
}

#[test]
fn secrets_split_across_two_lines_are_found() {
    for (kind, secret, text) in examples() {
        if kind == SecretKind::HighEntropy {
            continue; // Not across chunks: two ids on two lines would be one.
        }
        let start = text.find(&secret).unwrap();
        let cut = start + secret.len() / 2;
        let (first, second) = text.split_at(cut);
        let mut scanner = StreamScanner::new();
        let mut found = scanner.feed(&format!("{first}\n"));
        let split: Vec<StreamFinding> = scanner
            .feed(second)
            .into_iter()
            .filter(|f| f.split)
            .collect();
        assert!(
            split.iter().any(|f| f.kind == kind),
            "{kind}: {:?}",
            split.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
        found.extend(split);
        for f in found {
            for shown in [f.to_string(), format!("{f:?}")] {
                assert!(!shown.contains(&secret), "{kind}: {shown}");
            }
        }
    }
}

// No new findings.

fn digest(i: u64) -> [u8; 32] {
    Sha256::digest(i.to_le_bytes()).into()
}

/// What the scanner found before the derived views.
fn assert_no_new_findings(text: &str) {
    assert_eq!(scan_all(text), super::reference::scan_all(text), "{text:?}");
}

#[test]
fn the_corpus_has_no_findings_across_lines() {
    // `tests.rs` checks that `scan_all` finds nothing in each file (so
    // nothing new); here its lines go through a stream scanner, every
    // fourth file (the joined scans are slow in debug builds).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/vlc");
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 100,
        "{} corpus files in {}",
        paths.len(),
        dir.display()
    );
    for path in paths.iter().step_by(4) {
        let text = fs::read_to_string(path).unwrap();
        let mut scanner = StreamScanner::new();
        for line in text.lines() {
            let found = scanner.feed(line);
            assert!(found.is_empty(), "{}: {found:?}", path.display());
        }
    }
}

#[test]
fn digests_ids_and_random_base64_have_no_new_findings() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut scanner = StreamScanner::new();
    for i in 0..10_000 {
        let d = digest(i);
        let hex = hex_encode(&d);
        let uuid = format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        );
        let run_id = format!("hien-phap.20261202T{:06}Z.{}", i % 240_000, &hex[..8]);
        let random = rng.bytes(32 + (i as usize % 33));
        let no_findings = [
            hex.clone(),
            hex.to_uppercase(),
            format!("sha256:{hex}"),
            format!("{hex}{}", hex_encode(&digest(i + 1))), // a signature
            hex_encode(&random),
            uuid.clone(),
            run_id.clone(),
            format!("runs/{run_id}/state.json"),
            format!("{{\"plan_digest\":\"{hex}\",\"run_id\":\"{run_id}\",\"id\":\"{uuid}\"}}"),
        ];
        for text in &no_findings {
            assert_eq!(scan_all(text), [], "{text}");
        }
        if i % 10 == 0 {
            // Consecutive ids on consecutive lines are not a split secret.
            for text in &no_findings {
                assert!(scanner.feed(text).is_empty(), "{text}");
            }
        }
        // The entropy detector flags most long random base64 by design;
        // decoding adds nothing to it.
        for text in [
            base64(&random),
            base64url(&random),
            base64(&d),
            format!("sig={} ok", base64(&random)),
        ] {
            assert_no_new_findings(&text);
            if i % 10 == 0 {
                assert!(scanner.feed(&text).iter().all(|f| !f.split), "{text}");
            }
        }
    }
}

#[test]
fn derived_views_do_not_change_plain_findings() {
    for (_, _, text) in examples() {
        assert_no_new_findings(&text);
    }
}

#[test]
fn findings_are_sorted_disjoint_and_on_character_boundaries() {
    let token = github();
    let fragments = [
        token.clone(),
        reversed(&token),
        fullwidth(&token[..10]),
        interleave(&token[..12], " "),
        base64(token.as_bytes()),
        hex_encode(token.as_bytes()),
        "\u{200B}".to_owned(),
        "\u{202E}".to_owned(),
        "\u{0301}".to_owned(),
        "e\u{0302}".to_owned(),
        "Đ".to_owned(),
        "ｇ".to_owned(),
        "ﬁ".to_owned(),
        "\u{00A0}".to_owned(),
        " ".to_owned(),
        "\n".to_owned(),
        "a".to_owned(),
        "=".to_owned(),
        "Bearer ".to_owned(),
        "://u:p@".to_owned(),
        "-----BEGIN RSA PRIVATE KEY-----".to_owned(),
        "eyJhbGciOiJIUzI1NiJ9.".to_owned(),
        "Jq8vXw2LmZ4pT9rYk3NbC6dHf1sGa7Ue".to_owned(),
    ];
    let mut rng = Rng(11);
    let mut scanner = StreamScanner::new();
    for _ in 0..5_000 {
        let count = 1 + (rng.next_u64() % 12) as usize;
        let text: String = (0..count)
            .map(|_| fragments[(rng.next_u64() % fragments.len() as u64) as usize].as_str())
            .collect();
        let findings = scan_all(&text);
        for pair in findings.windows(2) {
            assert!(pair[0].end() <= pair[1].offset, "{text:?}: {findings:?}");
        }
        for f in &findings {
            assert!(f.len > 0 && f.end() <= text.len(), "{text:?}: {f:?}");
            assert!(text.is_char_boundary(f.offset) && text.is_char_boundary(f.end()));
        }
        let _ = redact(&text);
        for f in scanner.feed(&text) {
            assert!(
                f.chunk_offset + f.chunk_len <= text.len(),
                "{text:?}: {f:?}"
            );
            assert!(text.is_char_boundary(f.chunk_offset));
            assert!(text.is_char_boundary(f.chunk_offset + f.chunk_len));
        }
    }
}
