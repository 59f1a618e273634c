//! Base64 decoding: strict unpadded base64url for JWT headers, and a
//! lenient decoder (either alphabet, optional padding) for runs that may
//! hide an encoded secret.

use super::steps;

/// Decodes unpadded base64url; `None` on any other character or an
/// impossible length.
pub(crate) fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    decode(text.as_bytes(), false)
}

/// Decodes base64 in the standard or the URL-safe alphabet (or a mix),
/// with or without `=` padding; `None` on any other character or an
/// impossible length.
pub(crate) fn decode_base64_lenient(text: &[u8]) -> Option<Vec<u8>> {
    let unpadded = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"="));
    decode(unpadded.unwrap_or(text), true)
}

fn decode(text: &[u8], standard_too: bool) -> Option<Vec<u8>> {
    steps::add(text.len());
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &byte in text {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            b'+' if standard_too => 62,
            b'/' if standard_too => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_known_values() {
        assert_eq!(decode_base64url("").unwrap(), b"");
        assert_eq!(decode_base64url("Zg").unwrap(), b"f");
        assert_eq!(decode_base64url("Zm8").unwrap(), b"fo");
        assert_eq!(decode_base64url("Zm9v").unwrap(), b"foo");
        assert_eq!(
            decode_base64url("eyJhbGciOiJIUzI1NiJ9").unwrap(),
            br#"{"alg":"HS256"}"#
        );
        assert_eq!(decode_base64url("-_8").unwrap(), [0xfb, 0xff]);
        assert!(decode_base64url("Zm9v=").is_none());
        assert!(decode_base64url("Z").is_none());
        assert!(decode_base64url("Zm+v").is_none());
    }

    #[test]
    fn lenient_decoding_takes_both_alphabets_and_padding() {
        assert_eq!(decode_base64_lenient(b"Zm9vYg==").unwrap(), b"foob");
        assert_eq!(decode_base64_lenient(b"Zm9vYmE=").unwrap(), b"fooba");
        assert_eq!(decode_base64_lenient(b"Zm9vYmE").unwrap(), b"fooba");
        assert_eq!(decode_base64_lenient(b"+/8").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64_lenient(b"-_8").unwrap(), [0xfb, 0xff]);
        assert!(decode_base64_lenient(b"Zm9v.").is_none());
        assert!(decode_base64_lenient(b"Zm9vY").is_none());
    }
}
