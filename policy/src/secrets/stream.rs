//! Scanning a stream of chunks, for secrets split across two of them.

use std::fmt;

use super::finding::SecretKind;
use super::scan::scan_all;

/// A secret found by [`StreamScanner::feed`]. Like a
/// [`SecretFinding`](super::SecretFinding), it never contains the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamFinding {
    /// What it looks like.
    pub kind: SecretKind,
    /// Byte offset of the secret in the stream: every chunk fed since
    /// [`StreamScanner::new`] (or [`StreamScanner::reset`]), concatenated.
    pub stream_offset: usize,
    /// Byte length of the secret (across chunks when it is split).
    pub len: usize,
    /// The part of the secret inside the chunk just fed:
    /// `chunk_offset..chunk_offset + chunk_len` of that chunk.
    pub chunk_offset: usize,
    /// See `chunk_offset`.
    pub chunk_len: usize,
    /// Whether the secret, or what makes it one (the `Bearer ` before a
    /// token), began in an earlier chunk: it is not found in the chunk
    /// alone.
    pub split: bool,
}

impl fmt::Display for StreamFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at stream bytes {}..{} ({} bytes, not shown){}",
            self.kind,
            self.stream_offset,
            self.stream_offset + self.len,
            self.len,
            if self.split {
                ", split across chunks"
            } else {
                ""
            }
        )
    }
}

/// Scans consecutive chunks of one stream (the log lines of a plugin, the
/// rows of one call) so that a secret split across two chunks is found.
///
/// It keeps the last [`window`](Self::window) bytes of what it was fed
/// (the tail). [`feed`](Self::feed) scans the chunk with
/// [`scan_all`](super::scan_all), then scans the tail joined to the chunk
/// (line breaks at the end of the tail dropped, so feeding lines with or
/// without their `\n` is the same) and adds each finding that ends in the
/// chunk and starts in the tail (or starts in the chunk but was not found
/// in it alone: `Bearer ` then the token), of a specific kind (high entropy across a
/// boundary would flag two ids on consecutive lines). A secret is found
/// when it is at most the window long up to the boundary; the default
/// window, [`DEFAULT_WINDOW`](Self::DEFAULT_WINDOW) bytes, is longer than
/// every token shape (JWTs and PEM blocks can be longer: use
/// [`with_window`](Self::with_window)).
///
/// Cost: each feed scans the chunk and at most `window + chunk` bytes, so a
/// stream of `n` bytes in `c` chunks costs O(n + c · window).
///
/// ```
/// use phasehost_policy::secrets::{SecretKind, StreamScanner};
///
/// let token = ["gh", "p_", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"].concat();
/// let (first, second) = token.split_at(15);
/// let mut scanner = StreamScanner::new();
/// assert!(scanner.feed(&format!("log: {first}\n")).is_empty());
/// let found = scanner.feed(second);
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].kind, SecretKind::GithubToken);
/// assert!(found[0].split);
/// // In the stream the secret spans the line break too.
/// assert_eq!((found[0].stream_offset, found[0].len), (5, token.len() + 1));
/// assert_eq!((found[0].chunk_offset, found[0].chunk_len), (0, second.len()));
/// ```
#[derive(Debug, Clone)]
pub struct StreamScanner {
    window: usize,
    /// The last (at most) `window` bytes fed, cut at a character boundary.
    tail: String,
    /// Bytes fed since `new` or `reset`.
    fed: usize,
    /// The stream ranges of the findings reported that end in the tail.
    reported: Vec<(usize, usize)>,
}

impl Default for StreamScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamScanner {
    /// The default window, in bytes.
    pub const DEFAULT_WINDOW: usize = 256;

    /// A scanner with the default window.
    pub fn new() -> Self {
        Self::with_window(Self::DEFAULT_WINDOW)
    }

    /// A scanner that keeps the last `window` bytes of the stream.
    pub fn with_window(window: usize) -> Self {
        Self {
            window,
            tail: String::new(),
            fed: 0,
            reported: Vec::new(),
        }
    }

    /// The number of bytes kept from one chunk to the next.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Bytes fed since [`new`](Self::new) or [`reset`](Self::reset).
    pub fn fed(&self) -> usize {
        self.fed
    }

    /// Forgets the stream: the next chunk starts a new one.
    pub fn reset(&mut self) {
        self.tail.clear();
        self.fed = 0;
        self.reported.clear();
    }

    /// Scans the next chunk: every secret [`scan_all`](super::scan_all)
    /// finds in it, and every secret that began in the previous chunks and
    /// ends in it, or that is one only with the chunks around it (`split`;
    /// `user:password` at the end of the tail and `@host` in the chunk is
    /// reported with an empty range of the chunk, `chunk_len` 0), ordered
    /// by their offset in the chunk. The two
    /// may overlap (a split token whose second half alone looks random):
    /// redact the union.
    pub fn feed(&mut self, chunk: &str) -> Vec<StreamFinding> {
        let mut out = self.chunk_findings(chunk);
        self.add_split_findings(chunk, &mut out);
        out.sort_by_key(|f| (f.chunk_offset, f.stream_offset));
        self.advance(chunk, &out);
        out
    }

    /// What the chunk alone holds.
    fn chunk_findings(&self, chunk: &str) -> Vec<StreamFinding> {
        let chunk_start = self.fed;
        scan_all(chunk)
            .into_iter()
            .map(|f| StreamFinding {
                kind: f.kind,
                stream_offset: chunk_start + f.offset,
                len: f.len,
                chunk_offset: f.offset,
                chunk_len: f.len,
                split: false,
            })
            .collect()
    }

    /// Secrets that are one only across the tail and `chunk` (begun in
    /// the tail, or needing it), added to the chunk's own `out` unless
    /// reported already.
    fn add_split_findings(&self, chunk: &str, out: &mut Vec<StreamFinding>) {
        let chunk_start = self.fed;
        let tail = self.tail.trim_end_matches(['\n', '\r']);
        if !tail.is_empty() && !chunk.is_empty() {
            let tail_start = chunk_start - self.tail.len();
            let boundary = tail.len();
            let joined = [tail, chunk].concat();
            let whole = out.len();
            for f in scan_all(&joined) {
                if f.kind == SecretKind::HighEntropy {
                    continue;
                }
                if f.end() <= boundary {
                    // In the tail, but only a secret with the chunk after
                    // it (`user:password` then `@host`): unless reported
                    // already.
                    let (start, end) = (tail_start + f.offset, tail_start + f.end());
                    if !self.reported.iter().any(|&(s, e)| s < end && start < e) {
                        out.push(StreamFinding {
                            kind: f.kind,
                            stream_offset: start,
                            len: f.len,
                            chunk_offset: 0,
                            chunk_len: 0,
                            split: true,
                        });
                    }
                    continue;
                }
                if f.offset < boundary {
                    out.push(StreamFinding {
                        kind: f.kind,
                        stream_offset: tail_start + f.offset,
                        len: (self.tail.len() - boundary) + f.len,
                        chunk_offset: 0,
                        chunk_len: f.end() - boundary,
                        split: true,
                    });
                    continue;
                }
                // Inside the chunk, but only a secret with the tail before
                // it (`Bearer` at the end of one chunk, the token in the
                // next): unless the chunk's own scan found it already.
                let (offset, end) = (f.offset - boundary, f.end() - boundary);
                let known = out[..whole]
                    .iter()
                    .any(|g| g.chunk_offset < end && offset < g.chunk_offset + g.chunk_len);
                if !known {
                    out.push(StreamFinding {
                        kind: f.kind,
                        stream_offset: chunk_start + offset,
                        len: f.len,
                        chunk_offset: offset,
                        chunk_len: f.len,
                        split: true,
                    });
                }
            }
        }
    }

    /// Past `chunk`: keep its tail, and remember the findings that reach
    /// into it (so a split one is not reported twice).
    fn advance(&mut self, chunk: &str, out: &[StreamFinding]) {
        self.fed += chunk.len();
        self.keep_tail(chunk);
        let tail_start = self.fed - self.tail.len();
        self.reported.retain(|&(_, end)| end > tail_start);
        self.reported.extend(
            out.iter()
                .map(|f| (f.stream_offset, f.stream_offset + f.len))
                .filter(|&(_, end)| end > tail_start),
        );
    }

    /// Keeps the last `window` bytes of the tail and `chunk`.
    fn keep_tail(&mut self, chunk: &str) {
        self.tail = if chunk.len() >= self.window {
            last_bytes(chunk, self.window).to_owned()
        } else {
            let joined = [self.tail.as_str(), chunk].concat();
            last_bytes(&joined, self.window).to_owned()
        };
    }
}

/// The last (at most) `n` bytes of `text`, from a character boundary.
fn last_bytes(text: &str, n: usize) -> &str {
    let mut cut = text.len().saturating_sub(n);
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    &text[cut..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github() -> String {
        ["gh", "p_", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"].concat()
    }

    #[test]
    fn a_token_split_across_two_lines_is_found() {
        let token = github();
        for cut in [1, 4, 10, 20, 28] {
            let (first, second) = token.split_at(cut);
            for newline in ["", "\n", "\r\n"] {
                let mut scanner = StreamScanner::new();
                let line = format!("line one says {first}{newline}");
                assert!(scanner.feed("a first line\n").is_empty());
                assert!(scanner.feed(&line).is_empty(), "{cut}");
                let found = scanner.feed(&format!("{second} and more"));
                let split: Vec<_> = found.iter().filter(|f| f.split).collect();
                assert_eq!(split.len(), 1, "{cut} {newline:?}");
                let f = split[0];
                assert_eq!(f.kind, SecretKind::GithubToken);
                assert_eq!(f.stream_offset, 13 + 14);
                assert_eq!(f.len, token.len() + newline.len());
                assert_eq!((f.chunk_offset, f.chunk_len), (0, second.len()));
                assert!(!f.to_string().contains(second) || second.len() < 3);
                assert!(!format!("{f:?}").contains(&token));
            }
        }
    }

    #[test]
    fn a_secret_inside_one_chunk_is_found_once_and_not_again() {
        let token = github();
        let mut scanner = StreamScanner::new();
        let found = scanner.feed(&format!("x {token}"));
        assert_eq!(found.len(), 1);
        assert!(!found[0].split);
        assert_eq!((found[0].stream_offset, found[0].chunk_offset), (2, 2));
        assert!(scanner.feed(" and the next line").is_empty());
        assert_eq!(scanner.fed(), 2 + token.len() + 18);
    }

    #[test]
    fn consecutive_ids_are_not_a_split_secret() {
        let mut scanner = StreamScanner::new();
        let lines = [
            "run hien-phap.20261202T000000Z.0123abcd",
            "01HZX3Q4R5S6T7V8W9XAYBZC0D",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6f1c2d3a-9b8e-4f7d-a6c5-b4e3d2c1f0a9",
            "Điều 5. Nước Cộng hòa xã hội chủ nghĩa Việt Nam",
        ];
        for line in lines.iter().cycle().take(50) {
            assert!(scanner.feed(line).is_empty(), "{line}");
        }
    }

    #[test]
    fn the_tail_is_bounded_and_cut_at_a_character_boundary() {
        let mut scanner = StreamScanner::with_window(5);
        scanner.feed("ĐĐĐĐ");
        assert!(scanner.tail.len() <= 5 && scanner.tail.chars().all(|c| c == 'Đ'));
        scanner.feed(&"x".repeat(10_000));
        assert_eq!(scanner.tail.len(), 5);
        scanner.reset();
        assert_eq!((scanner.fed(), scanner.tail.as_str()), (0, ""));
    }

    #[test]
    fn a_bearer_word_in_one_chunk_and_its_token_in_the_next_is_found() {
        let token = ["mF3kQ9xV2zL7", "wP4rT8yB1nC6"].concat();
        for (first, second) in [
            ("Authorization: B", format!("earer {token}")),
            ("Authorization: Bearer", format!(" {token}")),
            ("Authorization: Bearer ", token.clone()),
        ] {
            let mut scanner = StreamScanner::new();
            assert!(scanner.feed(first).is_empty());
            let found = scanner.feed(&second);
            assert_eq!(found.len(), 1, "{first:?}");
            let f = found[0];
            assert_eq!(f.kind, SecretKind::BearerToken);
            assert!(f.split);
            assert_eq!(&second[f.chunk_offset..f.chunk_offset + f.chunk_len], token);
            assert_eq!(f.stream_offset, first.len() + f.chunk_offset);
        }
        // Found in the chunk alone: reported once, not split.
        let mut scanner = StreamScanner::new();
        scanner.feed("Authorization:");
        let found = scanner.feed(&format!("Bearer {token}"));
        assert_eq!(found.len(), 1);
        assert!(!found[0].split);
    }

    #[test]
    fn a_url_password_whose_at_sign_comes_in_the_next_chunk_is_found_once() {
        let mut scanner = StreamScanner::new();
        let first = "store postgres://cutter:s3cr3t-Pa55";
        assert!(scanner.feed(first).is_empty());
        let found = scanner.feed("@db.example:5432/iu");
        assert_eq!(found.len(), 1);
        let f = found[0];
        assert_eq!((f.kind, f.split), (SecretKind::UrlPassword, true));
        assert_eq!(
            &first[f.stream_offset..f.stream_offset + f.len],
            "s3cr3t-Pa55"
        );
        assert_eq!(f.chunk_len, 0);
        // Not again with the next chunk.
        assert!(scanner.feed(" and more").is_empty());
    }
}
