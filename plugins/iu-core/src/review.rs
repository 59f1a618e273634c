//! Facts for the people who approve a plan: article numbering (ranges, gaps,
//! repeats), hidden control / bidirectional-formatting characters, the
//! largest units, and 1-based line numbers of byte offsets.
//!
//! Everything here is a pure function of the text and the units, in a
//! deterministic order (no hash maps), so a phase that reports it gives the
//! same evidence on every run.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::cut::Unit;
use crate::region::RegionKind;

/// Whether `c` is a character an approver cannot see but that changes what
/// a text says or how it is displayed: the bidirectional embeddings and
/// overrides U+202A–U+202E, the isolates U+2066–U+2069, the marks
/// U+200E/U+200F/U+061C ([`is_bidi_control`]), and the C0 controls except
/// tab, LF and CR (which [`crate::pin`] already refuses in a source).
pub fn is_hidden_control(c: char) -> bool {
    is_bidi_control(c) || (c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
}

/// Whether `c` is an invisible bidirectional formatting character: the
/// embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069, and
/// the marks U+200E, U+200F and U+061C (ARABIC LETTER MARK). They can make
/// a text display in another order than it is stored ("Trojan source").
pub fn is_bidi_control(c: char) -> bool {
    matches!(c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The Unicode name of a character [`is_hidden_control`] accepts, short.
pub fn control_name(c: char) -> &'static str {
    match c {
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{061C}' => "ARABIC LETTER MARK",
        _ => "C0 CONTROL",
    }
}

/// Maps byte offsets of a text to 1-based line numbers.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text` (lines end at '\n').
    pub fn new(text: &str) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 40 + 1);
        starts.push(0);
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { starts }
    }

    /// The 1-based line of byte `offset`.
    pub fn line_of(&self, offset: usize) -> u64 {
        self.starts.partition_point(|&s| s <= offset) as u64
    }

    /// Number of lines (a final line without '\n' counts; an empty one
    /// after a final '\n' does not).
    pub fn lines(&self, text: &str) -> u64 {
        let n = self.starts.len() as u64;
        if text.ends_with('\n') { n - 1 } else { n }
    }
}

/// Hidden control characters found in a text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Controls {
    /// How many, in all.
    pub count: u64,
    /// How many per code point (`"U+202E"` → n).
    pub by_char: BTreeMap<String, u64>,
    /// The first lines (1-based, distinct, ascending) that hold one, at most
    /// [`Controls::LINES_SHOWN`].
    pub first_lines: Vec<u64>,
    /// Number of distinct lines that hold one.
    pub lines: u64,
    /// For each of `first_lines`, the first character found on it
    /// (`"U+202E RIGHT-TO-LEFT OVERRIDE"`).
    pub first_chars: Vec<String>,
}

impl Controls {
    /// How many lines [`Controls::first_lines`] keeps.
    pub const LINES_SHOWN: usize = 10;
}

/// `U+XXXX` of `c`.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// Finds the [`is_hidden_control`] characters of `text` (lines counted at '\n').
pub fn controls(text: &str) -> Controls {
    let mut out = Controls::default();
    let mut line = 1u64;
    let mut last_line = 0u64;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            continue;
        }
        if !is_hidden_control(c) {
            continue;
        }
        out.count += 1;
        *out.by_char.entry(code_point(c)).or_insert(0) += 1;
        if line != last_line {
            last_line = line;
            out.lines += 1;
            if out.first_lines.len() < Controls::LINES_SHOWN {
                out.first_lines.push(line);
                out.first_chars
                    .push(format!("{} {}", code_point(c), control_name(c)));
            }
        }
    }
    out
}

/// A run of article numbers `from..=to` (both inclusive).
pub type Span = (u32, u32);

/// How the articles of a plan are numbered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Numbering {
    /// Number of article units.
    pub articles: u64,
    /// Runs of consecutive article numbers present (letter suffixes such as
    /// "19a" count as their number).
    pub ranges: Vec<Span>,
    /// Runs of numbers missing from 1 to the highest number.
    pub gaps: Vec<Span>,
    /// Labels that number more than one article, with how many.
    pub repeats: Vec<(String, u64)>,
    /// Labels that are not a number (should not happen).
    pub unparsed: Vec<String>,
}

/// (number, suffix) of an article label ("19a" → (19, "a")).
pub fn article_key(label: &str) -> Option<(u32, &str)> {
    let n = label.bytes().take_while(u8::is_ascii_digit).count();
    let value = label[..n].parse().ok()?;
    Some((value, &label[n..]))
}

fn span_text((a, b): Span) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}–{b}")
    }
}

/// Runs, gaps and repeats a [`Numbering::summary`] spells out; the rest
/// are counted ("… 40 more").
pub const SUMMARY_ITEMS: usize = 20;

fn capped_join(items: impl ExactSizeIterator<Item = String>) -> String {
    let total = items.len();
    let mut out: Vec<String> = items.take(SUMMARY_ITEMS).collect();
    if total > SUMMARY_ITEMS {
        out.push(format!("… {} more", total - SUMMARY_ITEMS));
    }
    out.join(", ")
}

/// "1–6, 70–120" (or "none"); at most [`SUMMARY_ITEMS`] runs, then
/// "… N more".
pub fn spans_text(spans: &[Span]) -> String {
    if spans.is_empty() {
        return "none".to_string();
    }
    capped_join(spans.iter().map(|s| span_text(*s)))
}

impl Numbering {
    /// "1–6, 70–120; gap 7–69; repeats: none".
    pub fn summary(&self) -> String {
        if self.articles == 0 {
            return "no articles".to_string();
        }
        let gaps = if self.gaps.is_empty() {
            "no gap".to_string()
        } else {
            format!(
                "gap{} {}",
                if self.gaps.len() > 1 { "s" } else { "" },
                spans_text(&self.gaps)
            )
        };
        let repeats = if self.repeats.is_empty() {
            "none".to_string()
        } else {
            capped_join(self.repeats.iter().map(|(l, n)| format!("{l} (×{n})")))
        };
        format!("{}; {gaps}; repeats: {repeats}", spans_text(&self.ranges))
    }
}

/// The numbering of the article units of `units`.
pub fn numbering(units: &[Unit]) -> Numbering {
    let mut out = Numbering::default();
    let mut numbers: Vec<u32> = Vec::new();
    let mut labels: BTreeMap<(u32, &str), u64> = BTreeMap::new();
    for u in units.iter().filter(|u| u.kind == RegionKind::Article) {
        out.articles += 1;
        match article_key(&u.number) {
            Some(key) => {
                numbers.push(key.0);
                *labels.entry(key).or_insert(0) += 1;
            }
            None => out.unparsed.push(u.number.clone()),
        }
    }
    numbers.sort_unstable();
    numbers.dedup();
    let mut expected = 1u32;
    for &n in &numbers {
        match out.ranges.last_mut() {
            Some(last) if last.1 + 1 == n => last.1 = n,
            _ => {
                if n > expected {
                    out.gaps.push((expected, n - 1));
                }
                out.ranges.push((n, n));
            }
        }
        expected = n.saturating_add(1);
    }
    out.repeats = labels
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|((v, s), n)| (format!("{v}{s}"), n))
        .collect();
    out
}

/// The first unit of each article number that follows a gap, and the gap:
/// (unit index, gap).
pub fn gap_starts(units: &[Unit], numbering: &Numbering) -> Vec<(usize, Span)> {
    numbering
        .gaps
        .iter()
        .filter_map(|&gap| {
            let next = gap.1.checked_add(1)?;
            units
                .iter()
                .position(|u| {
                    u.kind == RegionKind::Article
                        && article_key(&u.number).is_some_and(|(n, _)| n == next)
                })
                .map(|i| (i, gap))
        })
        .collect()
}

/// The `n` largest units by bytes of text, largest first (ties: document
/// order), as unit indices.
pub fn largest(units: &[Unit], n: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..units.len()).collect();
    idx.sort_by(|&a, &b| {
        units[b]
            .text
            .len()
            .cmp(&units[a].text.len())
            .then(a.cmp(&b))
    });
    idx.truncate(n);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn art(number: &str) -> Unit {
        Unit {
            eid: format!("art_{number}"),
            parent_eid: None,
            kind: RegionKind::Article,
            ordinal: 1,
            number: number.to_string(),
            heading: String::new(),
            text: number.to_string(),
            text_sha: String::new(),
            start: 0,
            end: 0,
            duplicate_of: None,
        }
    }

    #[test]
    fn numbering_finds_ranges_gaps_and_repeats() {
        let units: Vec<Unit> = ["1", "2", "3", "6", "6", "7", "19", "19a", "20"]
            .iter()
            .map(|n| art(n))
            .collect();
        let n = numbering(&units);
        assert_eq!(n.articles, 9);
        assert_eq!(n.ranges, [(1, 3), (6, 7), (19, 20)]);
        assert_eq!(n.gaps, [(4, 5), (8, 18)]);
        assert_eq!(n.repeats, [("6".to_string(), 2)]);
        assert_eq!(
            n.summary(),
            "1–3, 6–7, 19–20; gaps 4–5, 8–18; repeats: 6 (×2)"
        );
        assert_eq!(gap_starts(&units, &n), [(3, (4, 5)), (6, (8, 18))]);
    }

    #[test]
    fn numbering_of_a_clean_text_and_one_not_starting_at_1() {
        let clean: Vec<Unit> = (1..=120).map(|i| art(&i.to_string())).collect();
        assert_eq!(numbering(&clean).summary(), "1–120; no gap; repeats: none");
        let late: Vec<Unit> = (5..=6).map(|i| art(&i.to_string())).collect();
        assert_eq!(numbering(&late).summary(), "5–6; gap 1–4; repeats: none");
        assert_eq!(numbering(&[]).summary(), "no articles");
        let odd: Vec<Unit> = (1..=100).step_by(2).map(|i| art(&i.to_string())).collect();
        let summary = numbering(&odd).summary();
        assert!(
            summary.starts_with("1, 3, 5,") && summary.contains("… 30 more; gaps 2, 4,"),
            "{summary}"
        );
        assert!(summary.len() < 400, "{summary}");
    }

    #[test]
    fn controls_are_counted_with_their_lines() {
        let text = "a\u{202E}b\nplain\tline\r\n\u{200F}x\u{0007}\n\u{2066}\n";
        let c = controls(text);
        assert_eq!(c.count, 4);
        assert_eq!(c.first_lines, [1, 3, 4]);
        assert_eq!(c.lines, 3);
        assert_eq!(c.first_chars[0], "U+202E RIGHT-TO-LEFT OVERRIDE");
        assert_eq!(c.by_char["U+0007"], 1);
        assert_eq!(controls("tab\tand\r\nnewline\n"), Controls::default());
        let c = controls("x\u{061C}y\u{200E}");
        assert_eq!((c.count, c.lines), (2, 1));
        assert_eq!(c.first_chars[0], "U+061C ARABIC LETTER MARK");
    }

    #[test]
    fn bidi_controls_are_exactly_the_listed_ones() {
        let listed: Vec<u32> = (0x202A..=0x202E)
            .chain(0x2066..=0x2069)
            .chain([0x200E, 0x200F, 0x061C])
            .collect();
        for cp in 0..0x3000u32 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            assert_eq!(is_bidi_control(c), listed.contains(&cp), "U+{cp:04X}");
        }
        assert!(!is_bidi_control('\u{0007}') && is_hidden_control('\u{0007}'));
    }

    #[test]
    fn line_index_maps_offsets() {
        let text = "ab\ncd\n\nef";
        let li = LineIndex::new(text);
        assert_eq!(li.line_of(0), 1);
        assert_eq!(li.line_of(2), 1);
        assert_eq!(li.line_of(3), 2);
        assert_eq!(li.line_of(6), 3);
        assert_eq!(li.line_of(7), 4);
        assert_eq!(li.lines(text), 4);
        assert_eq!(LineIndex::new("a\n").lines("a\n"), 1);
    }
}
