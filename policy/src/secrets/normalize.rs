//! Derived views of a text, in which disguised secrets take their usual
//! shape again, each mapped back to the text it came from.
//!
//! - [`clean`]: the NFKC form with invisible characters removed (zero-width
//!   spaces and joiners, word joiner, BOM, soft hyphen, bidi controls,
//!   variation selectors, tags: Unicode's default-ignorable characters).
//!   Fullwidth `ｇｈｐ＿…`, circled or mathematical letters become ASCII,
//!   and `gh\u{200B}p_…` becomes `ghp_…`.
//! - [`collapse_spaced`]: runs of at least [`MIN_SPACED_RUN`] single
//!   characters separated by single spaces (`g h p _ a b c …`) with those
//!   spaces removed.
//! - [`reverse`]: the characters in reverse order, built only when the text
//!   has a reversed marker that a detector starts from ([`has_reversed_marker`]).
//!
//! Each view is built in O(n). A [`View`] maps a byte range of itself back
//! to the range of the text it was built from ([`View::source`]): exact
//! where bytes were copied, the whole source segment where characters were
//! normalized.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use super::steps;

/// Most characters normalized together (a starter and 31 marks).
const MAX_SEGMENT: usize = 32;

/// Fewest single characters in a spaced-out run that is collapsed. A
/// collapsed run stays a word of its own (the text around it keeps its
/// spaces), so short runs (`B e a r e r`) can be collapsed at no risk: no
/// secret shape is that short.
pub(crate) const MIN_SPACED_RUN: usize = 3;

/// A stretch of a view and the part of the source it comes from.
#[derive(Debug, Clone, Copy)]
struct Piece {
    /// Start in the view.
    to: usize,
    /// `from..from_end` in the source.
    from: usize,
    from_end: usize,
    /// Byte-for-byte copy (the view's stretch is `from_end - from` long).
    exact: bool,
}

/// A derived text and the way back to its source.
#[derive(Debug)]
pub(crate) struct View {
    pub text: String,
    /// Sorted by `to`; together they cover the whole view.
    pieces: Vec<Piece>,
}

impl View {
    fn new(capacity: usize) -> Self {
        Self {
            text: String::with_capacity(capacity),
            pieces: Vec::new(),
        }
    }

    /// Appends `s`, a copy of `source[from..from + s.len()]`.
    fn push_copy(&mut self, s: &str, from: usize) {
        if s.is_empty() {
            return;
        }
        let to = self.text.len();
        self.text.push_str(s);
        if let Some(last) = self.pieces.last_mut()
            && last.exact
            && last.from_end == from
            && last.to + (last.from_end - last.from) == to
        {
            last.from_end = from + s.len();
            return;
        }
        self.pieces.push(Piece {
            to,
            from,
            from_end: from + s.len(),
            exact: true,
        });
    }

    /// Appends `s`, derived from `source[from..from_end]` as a whole.
    fn push_derived(&mut self, s: &str, from: usize, from_end: usize) {
        if s.is_empty() {
            return;
        }
        self.pieces.push(Piece {
            to: self.text.len(),
            from,
            from_end,
            exact: false,
        });
        self.text.push_str(s);
    }

    /// The piece that holds view byte `at`.
    fn piece(&self, at: usize) -> &Piece {
        let i = self.pieces.partition_point(|p| p.to <= at);
        &self.pieces[i.saturating_sub(1)]
    }

    /// The byte range of the source that the view's `start..end` (a
    /// non-empty range on character boundaries) comes from; on character
    /// boundaries of the source.
    pub fn source(&self, start: usize, end: usize) -> (usize, usize) {
        steps::add(2 * (usize::BITS - self.pieces.len().leading_zeros()) as usize);
        let first = self.piece(start);
        let from = if first.exact {
            first.from + (start - first.to)
        } else {
            first.from
        };
        let last = self.piece(end - 1);
        let to = if last.exact {
            last.from + (end - last.to)
        } else {
            last.from_end
        };
        (from, to.max(from + 1))
    }
}

/// Invisible characters that are dropped before matching: Unicode's
/// default-ignorable code points (zero-width space, non-joiner and joiner,
/// word joiner and invisible operators, BOM, soft hyphen, combining
/// grapheme joiner, bidi marks, embeddings, overrides and isolates,
/// Hangul fillers, variation selectors, tags).
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Whether `c` is its own NFKC form and nothing before it can reorder or
/// compose with it.
fn is_stable(c: char) -> bool {
    c.is_ascii()
        || (canonical_combining_class(c) == 0
            && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes)
}

/// Whether `c` starts a normalization segment: nothing before it can
/// reorder or compose with it or with its decomposition (a stable
/// character, or one whose compatibility decomposition starts with one,
/// like the fullwidth `ｇ`).
fn starts_segment(c: char) -> bool {
    if is_stable(c) {
        return true;
    }
    canonical_combining_class(c) == 0
        && is_nfkc_quick(std::iter::once(c)) == IsNormalized::No
        && std::iter::once(c).nfkd().next().is_some_and(is_stable)
}

/// The NFKC form of `text` without invisible characters, or `None` when
/// that is `text` itself.
///
/// Normalized segment by segment (a segment is a character that starts one,
/// see [`starts_segment`], and the characters up to the next), which is the
/// NFKC form of the whole text: normalization never reorders or composes
/// across such a boundary.
pub(crate) fn clean(text: &str) -> Option<View> {
    steps::add(text.len());
    if text.is_ascii() {
        return None;
    }
    steps::add(2 * text.len());
    if !text.chars().any(is_invisible) && is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        return None;
    }
    // The loop, then the comparison at the end.
    steps::add(2 * text.len());
    let mut view = View::new(text.len());
    let mut segment = String::new();
    let mut normalized = String::new();
    // The current segment: `seg_from..seg_end` of `text`, its visible
    // characters in `segment`.
    let (mut seg_from, mut seg_end) = (0, 0);
    let mut flush = |view: &mut View, segment: &mut String, from: usize, end: usize| {
        if segment.is_empty() {
            return;
        }
        if segment.len() == end - from && segment.chars().all(is_stable) {
            view.push_copy(segment, from);
        } else {
            normalized.clear();
            normalized.extend(segment.nfkc());
            steps::add(segment.len() + normalized.len());
            view.push_derived(&normalized, from, end);
        }
        segment.clear();
    };
    let mut seg_chars = 0;
    for (at, c) in text.char_indices() {
        if is_invisible(c) {
            continue;
        }
        // A segment is cut after `MAX_SEGMENT` characters (Unicode's
        // stream-safe format), so reordering a long run of combining marks
        // costs O(run), not O(run log run).
        if starts_segment(c) || seg_chars >= MAX_SEGMENT {
            seg_chars = 0;
            flush(&mut view, &mut segment, seg_from, seg_end);
            seg_from = at;
        }
        segment.push(c);
        seg_chars += 1;
        seg_end = at + c.len_utf8();
    }
    flush(&mut view, &mut segment, seg_from, seg_end);
    (view.text != text).then_some(view)
}

/// `text` with the single spaces removed inside every run of at least
/// [`MIN_SPACED_RUN`] single characters separated by single spaces, or
/// `None` when there is no such run.
pub(crate) fn collapse_spaced(text: &str) -> Option<View> {
    steps::add(2 * text.len());
    let bytes = text.as_bytes();
    // The spaces to remove, in order.
    let mut removed = Vec::new();
    // The current run: its single characters, and the spaces between them.
    let mut run_len = 0;
    let mut run_spaces: Vec<usize> = Vec::new();
    let mut end_run = |run_spaces: &mut Vec<usize>, run_len: usize| {
        if run_len >= MIN_SPACED_RUN {
            removed.extend_from_slice(run_spaces);
        }
        run_spaces.clear();
    };
    // The end of the previous single character.
    let mut last_end = usize::MAX;
    let mut after_blank = true;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let blank = c.is_whitespace();
        let single = !blank && after_blank && chars.peek().is_none_or(|&(_, n)| n.is_whitespace());
        after_blank = blank;
        if !single {
            continue;
        }
        if run_len > 0 && at == last_end.wrapping_add(1) && bytes[last_end] == b' ' {
            run_spaces.push(last_end);
            run_len += 1;
        } else {
            end_run(&mut run_spaces, run_len);
            run_len = 1;
        }
        last_end = at + c.len_utf8();
    }
    end_run(&mut run_spaces, run_len);
    if removed.is_empty() {
        return None;
    }
    let mut view = View::new(text.len());
    let mut from = 0;
    for space in removed {
        view.push_copy(&text[from..space], from);
        from = space + 1;
    }
    view.push_copy(&text[from..], from);
    Some(view)
}

/// What a detector starts from, reversed: the token prefixes, the PEM
/// header, `eyJ`, `bearer` and `://`.
const REVERSED_MARKERS: &[&str] = &[
    "AIKA",
    "AISA",
    "_phg",
    "_ohg",
    "_shg",
    "_uhg",
    "_rhg",
    "_tap_buhtig",
    "-axox",
    "-bxox",
    "-pxox",
    "-rxox",
    "-sxox",
    "azIA",
    "_evil_ks",
    "_evil_kr",
    " NIGEB-----",
    "Jye",
    "reraeb",
    "//:",
];

static REVERSED: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(REVERSED_MARKERS)
        .expect("the reversed markers are a valid automaton")
});

/// Whether `text` has one of the reversed markers (ASCII case-insensitive):
/// without one, no detector can find anything in the reversed text.
pub(crate) fn has_reversed_marker(text: &str) -> bool {
    steps::add(text.len());
    REVERSED.is_match(text)
}

/// `text` with its characters in reverse order. A character at
/// `s..e` of `text` is at `len - e..len - s` of the result.
pub(crate) fn reverse(text: &str) -> String {
    steps::add(text.len());
    text.chars().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source_text<'a>(text: &'a str, view: &View, start: usize, end: usize) -> &'a str {
        let (from, to) = view.source(start, end);
        &text[from..to]
    }

    #[test]
    fn ascii_and_normalized_text_have_no_clean_view() {
        assert!(clean("plain ascii").is_none());
        assert!(clean("Điều 5. Nước Cộng hòa").is_none());
    }

    #[test]
    fn clean_removes_invisibles_and_folds_compatibility_forms() {
        let text = "a\u{200B}b\u{202E}c ｇｈｐ＿x\u{FEFF}y";
        let view = clean(text).unwrap();
        assert_eq!(view.text, "abc ghp_xy");
        assert_eq!(source_text(text, &view, 0, 3), "a\u{200B}b\u{202E}c");
        assert_eq!(source_text(text, &view, 4, 8), "ｇｈｐ＿");
        assert_eq!(source_text(text, &view, 8, 10), "x\u{FEFF}y");
    }

    #[test]
    fn clean_composes_decomposed_letters() {
        let text = "Đie\u{0302}\u{0300}u 5";
        let view = clean(text).unwrap();
        assert_eq!(view.text, "Điều 5");
        assert_eq!(source_text(text, &view, 3, 6), "e\u{0302}\u{0300}");
        assert_eq!(source_text(text, &view, 7, 9), " 5");
    }

    #[test]
    fn spaced_out_runs_are_collapsed() {
        let text = "key: g h p _ a b c d e f\nok a b, x y";
        let view = collapse_spaced(text).unwrap();
        assert_eq!(view.text, "key: ghp_abcdef\nok a b, x y");
        assert_eq!(source_text(text, &view, 5, 15), "g h p _ a b c d e f");
        assert_eq!(source_text(text, &view, 16, 18), "ok");
        assert!(collapse_spaced("a b, c").is_none()); // 2 characters
        assert!(collapse_spaced("a b  c d").is_none()); // a double space
        assert_eq!(collapse_spaced("a b c d").unwrap().text, "abcd");
        assert_eq!(
            collapse_spaced("A u t h :   B e a r e r   x").unwrap().text,
            "Auth:   Bearer   x"
        );
    }

    #[test]
    fn reversed_markers() {
        assert!(has_reversed_marker("x 5Gf3_phg y"));
        assert!(has_reversed_marker("RERAEB"));
        assert!(!has_reversed_marker("ghp_ Bearer eyJ ://"));
        assert_eq!(reverse("aĐb"), "bĐa");
    }
}
