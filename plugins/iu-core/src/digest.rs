//! Hashing helpers: plain SHA-256 in hex, and a canonical, length-prefixed
//! hasher whose output depends only on the sequence of values fed to it.
//!
//! The canonical encoding is: a domain tag, then for every value a one-byte
//! type tag followed by a big-endian `u64` length (strings) or the big-endian
//! value itself (integers). Two different sequences of values can therefore
//! never produce the same byte stream, and the result is identical on every
//! platform (no `usize`, no hash-map iteration order, no native endianness).

use alloc::string::String;
use sha2::{Digest, Sha256};

/// SHA-256 of `bytes`, as 64 lowercase hex characters.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

const TAG_STR: u8 = 0x01;
const TAG_NONE: u8 = 0x02;
const TAG_U64: u8 = 0x03;

/// A SHA-256 over a canonical, length-prefixed encoding of typed values.
#[derive(Clone)]
pub struct CanonicalHasher {
    inner: Sha256,
}

impl CanonicalHasher {
    /// Starts a hasher bound to `domain` (e.g. `"iu-core/cutplan/v1"`), so
    /// digests of different kinds of objects never collide.
    pub fn new(domain: &str) -> Self {
        let mut h = Self {
            inner: Sha256::new(),
        };
        h.str(domain);
        h
    }

    /// Feeds a string (type tag, byte length, bytes).
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.inner.update([TAG_STR]);
        self.inner.update((s.len() as u64).to_be_bytes());
        self.inner.update(s.as_bytes());
        self
    }

    /// Feeds an optional string; `None` is distinct from `Some("")`.
    pub fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.str(s),
            None => {
                self.inner.update([TAG_NONE]);
                self
            }
        }
    }

    /// Feeds an unsigned integer (type tag, 8 bytes big-endian).
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.inner.update([TAG_U64]);
        self.inner.update(v.to_be_bytes());
        self
    }

    /// Finishes and returns the digest as 64 lowercase hex characters.
    pub fn finish(self) -> String {
        hex::encode(self.inner.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_is_the_known_value() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn length_prefix_separates_values() {
        let mut a = CanonicalHasher::new("t");
        a.str("ab").str("c");
        let mut b = CanonicalHasher::new("t");
        b.str("a").str("bc");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn none_differs_from_empty() {
        let mut a = CanonicalHasher::new("t");
        a.opt_str(None);
        let mut b = CanonicalHasher::new("t");
        b.opt_str(Some(""));
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn domain_separates() {
        assert_ne!(
            CanonicalHasher::new("a").finish(),
            CanonicalHasher::new("b").finish()
        );
    }
}
