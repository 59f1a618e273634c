//! The stream scan refuses everything the whole-text scan refuses, so a
//! caller that feeds every chunk to a [`StreamScanner`] need not also scan
//! it with [`scan_all`] (the host scans each row once, with the stream).
//!
//! The corpus: every example secret of `tests.rs` in its sentence, plain
//! and disguised (hex, base64, base64url, fullwidth, zero-width characters,
//! reversed, spaced out), as it is, as a JSON row, and in the middle of a
//! long Vietnamese paragraph. Each text is fed whole after other rows, and
//! split in two rows at many cuts (among them right at the secret's start
//! and end).

use super::tests::examples;
use super::tests_disguise::{base64, base64url, fullwidth, hex_encode, interleave, reversed};
use super::*;

/// A long Vietnamese paragraph (the common case of the host's rows).
fn vietnamese() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/vlc/hien-phap.txt");
    let text = std::fs::read_to_string(path).expect("the corpus text");
    let line = text
        .lines()
        .max_by_key(|l| l.len())
        .expect("a line")
        .to_owned();
    assert!(line.len() > 1000 && !line.is_ascii());
    line
}

/// Every text of the corpus that [`scan_all`] refuses.
fn refused_texts() -> Vec<String> {
    type Disguise = fn(&str) -> String;
    let disguises: [(&str, Disguise); 8] = [
        ("plain", |s| s.to_owned()),
        ("hex", |s| hex_encode(s.as_bytes())),
        ("base64", |s| base64(s.as_bytes())),
        ("base64url", |s| base64url(s.as_bytes())),
        ("fullwidth", fullwidth),
        ("zero-width", |s| interleave(s, "\u{200B}")),
        ("reversed", reversed),
        ("spaced", |s| interleave(s, " ")),
    ];
    let paragraph = vietnamese();
    let middle = paragraph.len() / 2;
    let middle = (middle..).find(|&i| paragraph.is_char_boundary(i)).unwrap();
    let mut out = Vec::new();
    for (_, secret, text) in examples() {
        for (_, disguise) in disguises {
            let text = text.replacen(&secret, &disguise(&secret), 1);
            let row = serde_json::json!({"unit": 7, "text": text}).to_string();
            let long = format!("{} {text} {}", &paragraph[..middle], &paragraph[middle..]);
            out.extend(
                [text, row, long]
                    .into_iter()
                    .filter(|t| !scan_all(t).is_empty()),
            );
        }
    }
    out
}

/// A scanner that has already seen a few plain rows.
fn warm_scanner() -> StreamScanner {
    let mut scanner = StreamScanner::new();
    for row in [
        "Điều 1. Phạm vi điều chỉnh",
        "{\"unit\":6,\"text\":\"Chương I\"}",
    ] {
        assert!(scanner.feed(row).is_empty());
    }
    scanner
}

#[test]
fn the_stream_scan_of_a_whole_row_finds_what_scan_all_finds() {
    let texts = refused_texts();
    assert!(texts.len() >= 3 * SecretKind::ALL.len(), "{}", texts.len());
    for text in texts {
        let whole: Vec<_> = scan_all(&text)
            .into_iter()
            .map(|f| (f.kind, f.offset, f.len))
            .collect();
        let mut scanner = warm_scanner();
        let fed: Vec<_> = scanner
            .feed(&text)
            .into_iter()
            .filter(|f| !f.split)
            .map(|f| (f.kind, f.chunk_offset, f.chunk_len))
            .collect();
        assert_eq!(fed, whole, "{text:?}");
    }
}

#[test]
fn the_stream_scan_of_a_row_split_in_two_refuses_it() {
    for text in refused_texts() {
        let findings = scan_all(&text);
        // High entropy is not looked for across rows (two ids on
        // consecutive rows would be one random-looking run).
        if findings.iter().all(|f| f.kind == SecretKind::HighEntropy) {
            continue;
        }
        let mut cuts: Vec<usize> = (1..text.len()).step_by(5).collect();
        for f in &findings {
            cuts.extend([f.offset, f.end(), f.offset + 1, f.end() - 1]);
        }
        for cut in cuts {
            if cut == 0 || cut >= text.len() || !text.is_char_boundary(cut) {
                continue;
            }
            let (first, second) = text.split_at(cut);
            let mut scanner = warm_scanner();
            let found = scanner.feed(first).len() + scanner.feed(second).len();
            assert!(found > 0, "cut at {cut}: {text:?}");
        }
    }
}
