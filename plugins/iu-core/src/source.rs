//! `source_pin`: turn raw bytes into the pinned, normalized text.
//!
//! Rules (the raw SHA-256 is always over the raw bytes, untouched):
//! 1. Empty input is refused ([`SourceError::Empty`]); bytes that are not
//!    UTF-8 are refused with the offset of the first bad byte; a C0 control
//!    character other than tab, LF and CR (U+0000–U+001F), or DEL (U+007F),
//!    is refused with its byte offset and line ([`SourceError::ControlChar`]):
//!    a NUL is how a UTF-16 or binary file shows itself, and no later phase
//!    can do anything sensible with one.
//! 2. A leading UTF-8 byte-order mark (U+FEFF) is dropped: it is an encoding
//!    signature, not content, and would otherwise glue itself to the preamble.
//! 3. Line endings are normalized to LF: CRLF and a lone CR both become LF,
//!    so the same document saved on Windows or Unix pins to one normalized
//!    text, and the line scanner of `mark` sees one kind of line.
//! 4. The text is put in Unicode NFC (a quick check first: most texts already
//!    are NFC and are then not copied again).
//! 5. A text that is only whitespace after that is refused.
//!
//! Every later phase works on [`Pinned::normalized`]; units reassemble to it
//! byte for byte.

use alloc::string::String;
use core::fmt;
use serde::{Deserialize, Serialize};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use crate::digest::sha256_hex;

/// The pinned source: digests and counts of the raw and normalized text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pinned {
    /// SHA-256 (hex) of the raw bytes as given.
    pub raw_sha256: String,
    /// SHA-256 (hex) of [`Pinned::normalized`] as UTF-8.
    pub normalized_sha256: String,
    /// Length of the raw input in bytes.
    pub raw_bytes: u64,
    /// Length of the normalized text in bytes.
    pub normalized_bytes: u64,
    /// Number of Unicode scalar values in the normalized text.
    pub chars: u64,
    /// Whether the decoded text (after BOM and line-ending handling) was
    /// already in NFC.
    pub was_nfc: bool,
    /// Whether a leading byte-order mark was dropped.
    pub bom_stripped: bool,
    /// Whether any CR or CRLF was turned into LF.
    pub line_endings_normalized: bool,
    /// The normalized text (not serialized: evidence carries digests only).
    #[serde(skip)]
    pub normalized: String,
}

/// Why a source cannot be pinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum SourceError {
    /// The input has zero bytes.
    Empty,
    /// The input is not UTF-8; `valid_up_to` bytes decoded fine.
    NotUtf8 {
        /// Offset of the first byte that is not valid UTF-8.
        valid_up_to: usize,
    },
    /// The input holds a control character other than tab, LF and CR
    /// (U+0000–U+001F) or DEL (U+007F).
    ControlChar {
        /// Offset in the raw input of the first such byte.
        offset: usize,
        /// Its 1-based line (LF, CRLF and a lone CR each end a line).
        line: usize,
        /// The byte (= the code point).
        byte: u8,
    },
    /// The input decodes to whitespace only.
    OnlyWhitespace,
}

/// Whether `b` is a byte [`pin`] refuses: a C0 control other than tab, LF
/// and CR, or DEL. In UTF-8 these bytes only ever stand for themselves (every
/// byte of a multi-byte sequence is ≥ 0x80), so a byte scan finds exactly
/// the characters.
pub const fn is_refused_control(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7F
}

/// The short name of a refused control byte ("NUL", "ESCAPE", …).
pub const fn control_byte_name(b: u8) -> &'static str {
    match b {
        0x00 => "NUL",
        0x07 => "BELL",
        0x08 => "BACKSPACE",
        0x0B => "LINE TABULATION",
        0x0C => "FORM FEED",
        0x1A => "SUBSTITUTE",
        0x1B => "ESCAPE",
        0x7F => "DELETE",
        _ => "C0 CONTROL",
    }
}

/// The first refused control byte of `raw`: (offset, byte). One pass over
/// the bytes, no allocation.
pub fn first_control(raw: &[u8]) -> Option<(usize, u8)> {
    raw.iter()
        .position(|&b| is_refused_control(b))
        .map(|i| (i, raw[i]))
}

/// The 1-based line of byte `offset` of `raw`, counting LF, CRLF and a lone
/// CR as one line end each (as the normalized text will).
fn line_of(raw: &[u8], offset: usize) -> usize {
    let before = &raw[..offset];
    let lf = before.iter().filter(|&&b| b == b'\n').count();
    let lone_cr = before
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\r' && raw.get(i + 1) != Some(&b'\n'))
        .count();
    1 + lf + lone_cr
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceError::Empty => f.write_str("source is empty (0 bytes)"),
            SourceError::NotUtf8 { valid_up_to } => {
                write!(f, "source is not UTF-8 (first bad byte at {valid_up_to})")
            }
            SourceError::ControlChar { offset, line, byte } => write!(
                f,
                "source holds the control character U+{byte:04X} {} at byte offset {offset} (line {line}); only tab, LF and CR are allowed{}",
                control_byte_name(*byte),
                if *byte == 0 {
                    " (a NUL usually means a UTF-16 or binary file: convert it to UTF-8 text)"
                } else {
                    ""
                }
            ),
            SourceError::OnlyWhitespace => f.write_str("source contains only whitespace"),
        }
    }
}

/// Pins `raw`: validates, normalizes and hashes it (see the module rules).
pub fn pin(raw: &[u8]) -> Result<Pinned, SourceError> {
    if raw.is_empty() {
        return Err(SourceError::Empty);
    }
    let text = core::str::from_utf8(raw).map_err(|e| SourceError::NotUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    if let Some((offset, byte)) = first_control(raw) {
        return Err(SourceError::ControlChar {
            offset,
            line: line_of(raw, offset),
            byte,
        });
    }
    let (text, bom_stripped) = match text.strip_prefix('\u{FEFF}') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let line_endings_normalized = text.contains('\r');
    let lf_text;
    let text: &str = if line_endings_normalized {
        lf_text = normalize_line_endings(text);
        &lf_text
    } else {
        text
    };
    let (normalized, was_nfc) = match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => (String::from(text), true),
        IsNormalized::No | IsNormalized::Maybe => {
            let n: String = text.nfc().collect();
            let same = n == text;
            (n, same)
        }
    };
    if normalized.trim().is_empty() {
        return Err(SourceError::OnlyWhitespace);
    }
    let raw_sha256 = sha256_hex(raw);
    // Most sources are NFC with LF endings already: the normalized text is
    // then the raw bytes, whose digest was just computed.
    let normalized_sha256 = if normalized.as_bytes() == raw {
        raw_sha256.clone()
    } else {
        sha256_hex(normalized.as_bytes())
    };
    Ok(Pinned {
        raw_sha256,
        normalized_sha256,
        raw_bytes: raw.len() as u64,
        normalized_bytes: normalized.len() as u64,
        chars: normalized.chars().count() as u64,
        was_nfc,
        bom_stripped,
        line_endings_normalized,
        normalized,
    })
}

/// CRLF → LF, lone CR → LF.
fn normalize_line_endings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn empty_is_refused() {
        assert_eq!(pin(b""), Err(SourceError::Empty));
    }

    #[test]
    fn invalid_utf8_reports_offset() {
        assert_eq!(
            pin(b"ab\xffcd"),
            Err(SourceError::NotUtf8 { valid_up_to: 2 })
        );
    }

    fn control(raw: &[u8]) -> (usize, usize, u8) {
        match pin(raw) {
            Err(SourceError::ControlChar { offset, line, byte }) => (offset, line, byte),
            other => panic!("expected a control-character refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_nul_is_refused_with_its_byte_offset_and_line() {
        // At the start, in the middle (after a multi-byte character, so
        // the offset is in bytes, not characters), at the end.
        assert_eq!(control(b"\0Di\xE1\xBB\x81u 1."), (0, 1, 0));
        let middle = "Điều 1.\nĐiều\u{0}2.\n".as_bytes();
        assert_eq!(control(middle), (18, 2, 0));
        assert_eq!(middle[18], 0);
        assert_eq!(control(b"Dieu 1.\r\nabc\rdef\0"), (16, 3, 0));
        // The first one wins; DEL and the other C0 controls too.
        assert_eq!(control(b"a\x1b[31m\0"), (1, 1, 0x1B));
        assert_eq!(control(b"ab\ncd\x7f"), (5, 2, 0x7F));
        assert_eq!(control(b"\x0c"), (0, 1, 0x0C));
        // After the BOM: the offset is in the raw bytes, BOM included.
        assert_eq!(control(b"\xEF\xBB\xBFx\0"), (4, 1, 0));
        let message = pin(b"abc\n\0").unwrap_err().to_string();
        assert!(
            message.contains("U+0000 NUL at byte offset 4 (line 2)"),
            "{message}"
        );
        assert!(message.contains("UTF-16"), "{message}");
    }

    #[test]
    fn tab_cr_and_lf_are_accepted() {
        let p = pin(b"a\tb\r\nc\rd\n").unwrap();
        assert_eq!(p.normalized, "a\tb\nc\nd\n");
        assert_eq!(first_control(b"\t\r\n text \xC2\x85"), None);
        for b in 0u8..=0x7F {
            let refused = b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') || b == 0x7F;
            assert_eq!(is_refused_control(b), refused, "{b:#04x}");
        }
    }

    #[test]
    fn invalid_utf8_is_reported_before_a_control() {
        // UTF-16 with a BOM is not UTF-8 at all: that is the first complaint.
        assert_eq!(
            pin(b"\xff\xfeD\0"),
            Err(SourceError::NotUtf8 { valid_up_to: 0 })
        );
    }

    #[test]
    fn whitespace_only_is_refused() {
        assert_eq!(pin(b" \n\t\r\n"), Err(SourceError::OnlyWhitespace));
        assert_eq!(pin(b"\xEF\xBB\xBF\n"), Err(SourceError::OnlyWhitespace));
    }

    #[test]
    fn bom_and_crlf_are_normalized_raw_sha_is_not() {
        let p = pin(b"\xEF\xBB\xBFa\r\nb\rc\n").unwrap();
        assert_eq!(p.normalized, "a\nb\nc\n");
        assert!(p.bom_stripped && p.line_endings_normalized && p.was_nfc);
        assert_eq!(p.raw_sha256, sha256_hex(b"\xEF\xBB\xBFa\r\nb\rc\n"));
        assert_eq!(p.normalized_sha256, sha256_hex(b"a\nb\nc\n"));
        assert_eq!(p.raw_bytes, 10);
        assert_eq!(p.normalized_bytes, 6);
    }

    #[test]
    fn a_source_normalization_leaves_as_it_is_has_one_digest() {
        let raw = "Điều 1. Phạm vi\nNội dung.\n".as_bytes();
        let p = pin(raw).unwrap();
        assert_eq!(p.normalized.as_bytes(), raw);
        assert_eq!(p.raw_sha256, sha256_hex(raw));
        assert_eq!(p.normalized_sha256, sha256_hex(p.normalized.as_bytes()));
        assert_eq!(p.raw_sha256, p.normalized_sha256);
    }

    #[test]
    fn nfd_is_composed() {
        // "Điều" with a decomposed "ề": e + U+0302 + U+0300.
        let nfd = "Đie\u{302}\u{300}u 1.";
        let p = pin(nfd.as_bytes()).unwrap();
        assert!(!p.was_nfc);
        assert_eq!(p.normalized, "Điều 1.");
        assert_eq!(p.chars, 7);
    }
}
