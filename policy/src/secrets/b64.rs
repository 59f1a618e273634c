//! Base64 decoding: strict unpadded base64url for JWT headers, and a
//! lenient decoder (either alphabet, optional padding) for runs that may
//! hide an encoded secret. The `base64` crate decodes; this module picks
//! the dialect and counts the work.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use super::steps;

/// Unpadded base64url. Bits past the last whole byte are dropped, not
/// refused: a scanner looks for what a text could decode to, it does not
/// check that the text is canonical.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes unpadded base64url; `None` on any other character or an
/// impossible length.
pub(crate) fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    steps::add(text.len());
    BASE64URL.decode(text).ok()
}

/// Decodes base64 in the standard or the URL-safe alphabet (or a mix),
/// with or without `=` padding; `None` on any other character or an
/// impossible length.
pub(crate) fn decode_base64_lenient(text: &[u8]) -> Option<Vec<u8>> {
    let unpadded = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"="));
    let unpadded = unpadded.unwrap_or(text);
    steps::add(unpadded.len());
    // The standard alphabet's `+` and `/` are base64url's `-` and `_`.
    let url: Vec<u8> = unpadded
        .iter()
        .map(|&byte| match byte {
            b'+' => b'-',
            b'/' => b'_',
            byte => byte,
        })
        .collect();
    BASE64URL.decode(url).ok()
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
        assert_eq!(decode_base64_lenient(b"-/+_").unwrap(), [0xfb, 0xff, 0xbf]);
    }

    #[test]
    fn trailing_bits_are_dropped_not_refused() {
        // `Zh` is not canonical (`Zg` is); it still decodes to `f`.
        assert_eq!(decode_base64url("Zh").unwrap(), b"f");
        assert_eq!(decode_base64_lenient(b"Zh==").unwrap(), b"f");
    }
}
