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

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use unicode_normalization::char::{canonical_combining_class, decompose_compatible};
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
    /// When not empty, the view is the source without the bytes at these
    /// positions (sorted), and `pieces` is empty.
    removed: Vec<usize>,
}

impl View {
    fn new(capacity: usize) -> Self {
        Self {
            text: String::with_capacity(capacity),
            pieces: Vec::new(),
            removed: Vec::new(),
        }
    }

    /// The source position of view byte `at` when bytes were removed: `at`
    /// plus the number of removed bytes before it. The `i`-th removed
    /// byte (from 0) would have been at `removed[i] - i` in the view, so
    /// those before `at` are the ones with `removed[i] - i <= at`.
    fn unremoved(&self, at: usize) -> usize {
        // `removed[i] - i` never decreases: a binary search.
        let (mut low, mut high) = (0, self.removed.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if self.removed[mid] - mid <= at {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        at + low
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
        let entries = self.pieces.len().max(self.removed.len());
        steps::add(2 * (usize::BITS - entries.leading_zeros()) as usize);
        if !self.removed.is_empty() {
            return (self.unremoved(start), self.unremoved(end - 1) + 1);
        }
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
        // Pieces are in source order, so a non-empty range maps to one.
        debug_assert!(from < to, "{start}..{end} maps to {from}..{to}");
        (from, to)
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

/// How a character stands in NFKC normalization.
#[derive(Clone, Copy)]
struct Class {
    /// It is its own NFKC form and nothing before it can reorder or compose
    /// with it.
    stable: bool,
    /// It starts a normalization segment: nothing before it can reorder or
    /// compose with it or its decomposition (a stable character, or one
    /// whose compatibility decomposition starts with one, like the
    /// fullwidth `ｇ`).
    starts: bool,
}

fn is_stable(c: char) -> bool {
    c.is_ascii()
        || (canonical_combining_class(c) == 0
            && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes)
}

fn class(c: char) -> Class {
    if c.is_ascii() {
        return Class {
            stable: true,
            starts: true,
        };
    }
    if canonical_combining_class(c) != 0 {
        return Class {
            stable: false,
            starts: false,
        };
    }
    match is_nfkc_quick(std::iter::once(c)) {
        IsNormalized::Yes => Class {
            stable: true,
            starts: true,
        },
        IsNormalized::Maybe => Class {
            stable: false,
            starts: false,
        },
        IsNormalized::No => {
            let mut first = None;
            decompose_compatible(c, |d| {
                first.get_or_insert(d);
            });
            Class {
                stable: false,
                starts: first.is_some_and(is_stable),
            }
        }
    }
}

/// Slots of the table of character facts (a power of two).
const CLASS_SLOTS: usize = 1024;

/// Most segments whose NFKC form is remembered during one [`clean`].
const CACHE_SEGMENTS: usize = 1024;

/// NFKC of segments, remembered: natural text repeats few distinct ones
/// (a letter and its accents).
struct Normalizer {
    cache: HashMap<String, String>,
    decomposed: Vec<char>,
}

impl Normalizer {
    fn new() -> Self {
        Self {
            cache: HashMap::new(),
            decomposed: Vec::new(),
        }
    }

    /// Appends the NFKC form of `segment` (`source[from..end]`) to `view`.
    fn push(&mut self, view: &mut View, segment: &str, from: usize, end: usize) {
        steps::add(2 * segment.len());
        let mut chars = segment.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            // One character whose decomposition is stable characters only:
            // nothing composes, its NFKC form is its decomposition.
            self.decomposed.clear();
            decompose_compatible(c, |d| self.decomposed.push(d));
            if self.decomposed.iter().all(|&d| is_stable(d)) {
                let to = view.text.len();
                view.text.extend(self.decomposed.iter());
                view.pieces.push(Piece {
                    to,
                    from,
                    from_end: end,
                    exact: false,
                });
                return;
            }
        }
        if let Some(normalized) = self.cache.get(segment) {
            view.push_derived(normalized, from, end);
            return;
        }
        let normalized: String = segment.nfkc().collect();
        steps::add(normalized.len());
        view.push_derived(&normalized, from, end);
        if self.cache.len() < CACHE_SEGMENTS {
            self.cache.insert(segment.to_owned(), normalized);
        }
    }
}

/// Whether cleaning `text` can change what the detectors see, which is
/// ASCII only: when it has an invisible character (removing one can join
/// ASCII characters) or a character whose NFKC form has ASCII in it
/// (fullwidth and circled letters, ligatures, no-break and other spaces,
/// the Kelvin sign …). Composition never makes ASCII, so text in NFD (a
/// letter, then its accents) needs no clean view.
fn may_change_ascii(text: &str) -> bool {
    let bytes = text.as_bytes();
    let low = &*LOW_CHANGES_ASCII;
    let mut at = 0;
    while let Some(skip) = bytes[at..].iter().position(|b| !b.is_ascii()) {
        at += skip;
        let c = text[at..].chars().next().unwrap_or_default();
        at += c.len_utf8();
        let changes = match low_changes_ascii(low, c) {
            Some(changes) => changes,
            None => FACTS.with_borrow_mut(|table| facts(table, c).changes_ascii),
        };
        if changes {
            return true;
        }
    }
    false
}

/// Characters below this have their `changes_ascii` fact in a bitmap
/// ([`LOW_CHANGES_ASCII`]): Latin letters with their accents (Vietnamese
/// among them), combining marks, Greek, Cyrillic and general punctuation.
const LOW_LIMIT: u32 = 0x2100;

/// `changes_ascii` of every character below [`LOW_LIMIT`], one bit each,
/// computed once by [`facts`] itself: a lookup instead of the per-thread
/// table and its hash for the common characters.
static LOW_CHANGES_ASCII: LazyLock<Vec<u64>> = LazyLock::new(|| {
    let mut table = vec![None; CLASS_SLOTS];
    let mut bits = vec![0u64; (LOW_LIMIT as usize).div_ceil(64)];
    for c in (0..LOW_LIMIT).filter_map(char::from_u32) {
        if !c.is_ascii() && facts(&mut table, c).changes_ascii {
            bits[c as usize / 64] |= 1 << (c as usize % 64);
        }
    }
    bits
});

/// `changes_ascii` of `c` from the bitmap, when `c` is below [`LOW_LIMIT`].
fn low_changes_ascii(bits: &[u64], c: char) -> Option<bool> {
    let c = c as usize;
    bits.get(c / 64).map(|word| word & (1 << (c % 64)) != 0)
}

/// What [`clean`] needs to know of a non-ASCII character.
#[derive(Clone, Copy)]
struct Facts {
    invisible: bool,
    /// Removing it or normalizing it can change the ASCII characters.
    changes_ascii: bool,
    class: Class,
}

thread_local! {
    /// The facts of recently seen characters, in a direct-mapped table of
    /// [`CLASS_SLOTS`]: natural text has few distinct non-ASCII characters,
    /// and the facts of a character never change.
    static FACTS: RefCell<Vec<Option<(char, Facts)>>> = RefCell::new(vec![None; CLASS_SLOTS]);
}

fn facts(table: &mut [Option<(char, Facts)>], c: char) -> Facts {
    let slot = &mut table[slot_of(c)];
    match *slot {
        Some((known, facts)) if known == c => facts,
        _ => {
            let invisible = is_invisible(c);
            let facts = Facts {
                invisible,
                changes_ascii: invisible || yields_ascii(c),
                class: class(c),
            };
            *slot = Some((c, facts));
            facts
        }
    }
}

/// The slot of `c` in a table of [`CLASS_SLOTS`] (a multiplicative hash:
/// the accented letters of one script are spread out).
fn slot_of(c: char) -> usize {
    ((c as u32).wrapping_mul(0x9E37_79B1) >> (32 - CLASS_SLOTS.trailing_zeros())) as usize
}

/// Whether the NFKC decomposition of `c` has an ASCII character in it.
fn yields_ascii(c: char) -> bool {
    if is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
        return false;
    }
    let mut ascii = false;
    decompose_compatible(c, |d| ascii |= d.is_ascii());
    ascii
}

/// The NFKC form of `text` without invisible characters, or `None` when
/// that is `text` itself or cannot change what the detectors see (see
/// [`may_change_ascii`]).
///
/// Normalized segment by segment (a segment is a character that starts one,
/// see [`Class::starts`], and the characters up to the next), which is the
/// NFKC form of the whole text: normalization never reorders or composes
/// across such a boundary. A segment is also cut after [`MAX_SEGMENT`]
/// characters (Unicode's stream-safe format), so that reordering a long
/// run of combining marks costs O(run), not O(run log run).
pub(crate) fn clean(text: &str) -> Option<View> {
    steps::add(text.len());
    if text.is_ascii() {
        return None;
    }
    steps::add(text.len());
    if !may_change_ascii(text) {
        return None;
    }
    // The loop, then the comparison at the end.
    steps::add(2 * text.len());
    let bytes = text.as_bytes();
    let mut view = View::new(text.len());
    let mut normalizer = Normalizer::new();
    // The current segment: its visible characters, the source range
    // `seg_from..seg_end`, whether it is one stable character, its length.
    let mut segment = String::new();
    let (mut seg_from, mut seg_end, mut seg_stable, mut seg_chars) = (0, 0, true, 0);
    let mut flush =
        |view: &mut View, segment: &mut String, from: usize, end: usize, stable: bool| {
            if segment.is_empty() {
                return;
            }
            if stable && segment.len() == end - from {
                view.push_copy(segment, from);
            } else {
                normalizer.push(view, segment, from, end);
            }
            segment.clear();
        };
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at].is_ascii() {
            // ASCII characters are stable: all but the last of a run are
            // whole segments, the last starts one (marks may follow).
            let run = bytes[at..].iter().take_while(|b| b.is_ascii()).count();
            flush(&mut view, &mut segment, seg_from, seg_end, seg_stable);
            let last = at + run - 1;
            view.push_copy(&text[at..last], at);
            segment.push(char::from(bytes[last]));
            (seg_from, seg_end, seg_stable, seg_chars) = (last, last + 1, true, 1);
            at += run;
            continue;
        }
        let c = text[at..].chars().next().unwrap_or_default();
        let len = c.len_utf8();
        let facts = FACTS.with_borrow_mut(|table| facts(table, c));
        if !facts.invisible {
            let class = facts.class;
            if class.starts || seg_chars >= MAX_SEGMENT {
                flush(&mut view, &mut segment, seg_from, seg_end, seg_stable);
                (seg_from, seg_stable, seg_chars) = (at, true, 0);
            }
            segment.push(c);
            seg_stable &= class.stable && seg_chars == 0;
            seg_chars += 1;
            seg_end = at + len;
        }
        at += len;
    }
    flush(&mut view, &mut segment, seg_from, seg_end, seg_stable);
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
    let mut last_end = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // A word starts at `start`: is it one character?
        let start = i;
        i += utf8_len(bytes[i]);
        if i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            continue;
        }
        if run_len > 0 && start == last_end + 1 && bytes[last_end] == b' ' {
            run_spaces.push(last_end);
            run_len += 1;
        } else {
            end_run(&mut run_spaces, run_len);
            run_len = 1;
        }
        last_end = i;
    }
    end_run(&mut run_spaces, run_len);
    if removed.is_empty() {
        return None;
    }
    let mut view = View::new(text.len());
    let mut from = 0;
    for &space in &removed {
        view.text.push_str(&text[from..space]);
        from = space + 1;
    }
    view.text.push_str(&text[from..]);
    view.removed = removed;
    Some(view)
}

/// The length of the UTF-8 sequence that starts with `lead`.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0..0x80 => 1,
        0x80..0xE0 => 2,
        0xE0..0xF0 => 3,
        _ => 4,
    }
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

    #[test]
    fn the_low_bitmap_agrees_with_the_facts_of_every_character() {
        let mut table = vec![None; CLASS_SLOTS];
        let mut changing = 0;
        for c in (0x80..LOW_LIMIT + 64).filter_map(char::from_u32) {
            let known = low_changes_ascii(&LOW_CHANGES_ASCII, c);
            if (c as u32) < LOW_LIMIT {
                let fact = facts(&mut table, c).changes_ascii;
                assert_eq!(known, Some(fact), "{:04X}", c as u32);
                changing += usize::from(fact);
            } else {
                assert_eq!(known, None, "{:04X}", c as u32);
            }
        }
        // No-break space, soft hyphen, ligatures, superscripts, the long s,
        // bidi marks and zero-width characters, at least.
        for c in [
            '\u{A0}', '\u{AD}', '\u{B2}', '\u{132}', '\u{17F}', '\u{200B}', '\u{202E}',
        ] {
            assert_eq!(
                low_changes_ascii(&LOW_CHANGES_ASCII, c),
                Some(true),
                "{c:?}"
            );
        }
        assert!(changing > 100, "{changing}");
        // Vietnamese letters cannot change what the detectors see.
        assert!(!may_change_ascii(
            "Điều 5. Nước Cộng hòa xã hội chủ nghĩa Việt Nam"
        ));
        assert!(may_change_ascii("Điều 5. Nước\u{200B}"));
        assert!(may_change_ascii("Điều 5. ｇｈｐ"));
    }

    fn source_text<'a>(text: &'a str, view: &View, start: usize, end: usize) -> &'a str {
        let (from, to) = view.source(start, end);
        &text[from..to]
    }

    #[test]
    fn ascii_and_normalized_text_have_no_clean_view() {
        assert!(clean("plain ascii").is_none());
        assert!(clean("Điều 5. Nước Cộng hòa").is_none());
        // Decomposed (NFD): composing it makes no ASCII.
        assert!(clean("Đie\u{0302}\u{0300}u 5").is_none());
        // But a no-break space or a Kelvin sign is ASCII in NFKC.
        assert_eq!(clean("Bearer\u{00A0}x").unwrap().text, "Bearer x");
        assert_eq!(clean("\u{212A}ey").unwrap().text, "Key");
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
        let text = "Đie\u{0302}\u{0300}u 5\u{200B}";
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
