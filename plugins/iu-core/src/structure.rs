//! `mark`: find the structural regions of a normalized legal text.
//!
//! The text is scanned line by line. A line can start a region only if it is
//! not inside a quotation (amending laws quote whole articles: “Điều 54. …”
//! with their own clauses and points) and its trimmed start is a marker that
//! fits the context:
//! - containers ("Phần thứ …", "Chương …", "Mục …", "Tiểu mục …") are
//!   always accepted; they close the open article;
//! - an article "Điều N." / "Điều N:" / bare "Điều N" is accepted if N is
//!   not below the last article number (equal = a duplicate, kept and given
//!   a `_dupN` eId); "Điều N Tên" (space, no dot) only if N follows the last
//!   article and the title starts with a capital; the typo "Điền N." only if
//!   N follows the last article;
//! - a clause "N." only inside an article, if N is 1 to 3 above the previous
//!   clause number (0 before the first: lines lost or fused in the source
//!   must not swallow the rest of the article), or equal to it (a text that
//!   numbers twice: kept, with a `_dupN` eId);
//! - a point "a)" only inside an article, likewise 1 to 3 letters after the
//!   previous point in the Vietnamese alphabet (a, b, c, d, đ, e, g, …), or
//!   the same letter; points restart at every clause.
//!
//! Closing: the last enactment sentence after the first article ("Luật này /
//! Bộ luật này / Hiến pháp này / Pháp lệnh này … Quốc hội … thông qua …")
//! starts the closing region, which runs to the end of the text (signature,
//! annexes). Without one, the last short signature title line ("CHỦ TỊCH
//! QUỐC HỘI", "TM. QUỐC HỘI", "CHỦ TỊCH NƯỚC", no final punctuation)
//! starts it; without that, the signatory's name line before the last
//! "(Đã ký)". Without any of them the last article keeps the trailing text.
//! Markers inside the closing (annexes) are not read.
//!
//! Text before the first marker is the preamble (merged into the first
//! region when it is whitespace only).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

use crate::caps::{Cap, Caps};
use crate::digest::sha256_hex;
use crate::region::{Region, RegionKind};
use crate::scan::{self, ArticleKey, Candidate, Strength};

/// Why a text cannot be marked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum MarkError {
    /// The text has no article at all.
    NoStructure,
    /// A cap was exceeded.
    CapExceeded {
        /// Which cap.
        cap: Cap,
        /// Its limit.
        limit: u64,
        /// The value found.
        actual: u64,
        /// The first region that exceeded it (for per-region caps).
        eid: Option<String>,
    },
}

impl fmt::Display for MarkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MarkError::NoStructure => f.write_str("no article (\"Điều N\") found in the text"),
            MarkError::CapExceeded {
                cap,
                limit,
                actual,
                eid,
            } => {
                write!(f, "cap {} exceeded: {actual} > {limit}", cap.name())?;
                if let Some(eid) = eid {
                    write!(f, " (at {eid})")?;
                }
                Ok(())
            }
        }
    }
}

/// An accepted marker line.
struct Marker<'a> {
    line: usize,
    start: usize,
    kind: RegionKind,
    label: &'a str,
    /// Container value, article number, clause number or point index.
    value: u32,
    suffix: Option<char>,
    rest: &'a str,
}

/// Quotation state carried from line to line.
#[derive(Default)]
struct Quotes {
    curly: usize,
    straight_open: bool,
}

impl Quotes {
    fn inside(&self) -> bool {
        self.curly > 0 || self.straight_open
    }

    fn feed(&mut self, line: &str) {
        for c in line.chars() {
            match c {
                '“' => self.curly += 1,
                '”' => self.curly = self.curly.saturating_sub(1),
                '"' => self.straight_open = !self.straight_open,
                _ => {}
            }
        }
    }
}

/// Largest step between consecutive clause numbers / point letters that is
/// still read as the next one (the corpus has lost or fused lines: "1., 3."
/// or "b) …; c) …" followed by "đ)").
const MAX_STEP: u32 = 3;

/// Context of acceptance.
#[derive(Default)]
struct Context {
    last_article: Option<ArticleKey>,
    in_article: bool,
    clause_prev: u32,
    point_prev: Option<usize>,
}

impl Context {
    /// Why `accept` would refuse `c` (meaningful only when it does).
    fn why_not(&self, c: &Candidate<'_>) -> Why {
        match *c {
            Candidate::Article {
                key,
                strength: Strength::Strong,
                typo: false,
                ..
            } if self.last_article.is_some_and(|last| key < last) => Why::ArticleBelowLast,
            Candidate::Article {
                strength: Strength::Weak,
                rest,
                ..
            } if !rest.starts_with(|c: char| c.is_uppercase()) => Why::ArticleReference,
            Candidate::Article { .. } | Candidate::Container { .. } => Why::ArticleNotNext,
            Candidate::Clause { .. } | Candidate::Point { .. } if !self.in_article => {
                Why::OutsideArticle
            }
            Candidate::Clause { .. } | Candidate::Point { .. } => Why::OutOfSequence,
        }
    }

    fn accept(&mut self, c: &Candidate<'_>) -> bool {
        match *c {
            Candidate::Container { .. } => {
                self.in_article = false;
                self.clause_prev = 0;
                self.point_prev = None;
                true
            }
            Candidate::Article {
                key,
                strength,
                typo,
                rest,
                ..
            } => {
                let follows = match self.last_article {
                    None => key == (1, None),
                    Some(last) => key == (last.0 + 1, None),
                };
                let ok = match (strength, typo) {
                    (Strength::Strong, false) => self.last_article.is_none_or(|last| key >= last),
                    (Strength::Strong, true) => follows,
                    (Strength::Weak, false) => {
                        follows && rest.starts_with(|c: char| c.is_uppercase())
                    }
                    (Strength::Weak, true) => false,
                };
                if ok {
                    self.last_article = Some(key);
                    self.in_article = true;
                    self.clause_prev = 0;
                    self.point_prev = None;
                }
                ok
            }
            Candidate::Clause { value, .. } => {
                let prev = self.clause_prev;
                let ok = self.in_article
                    && ((value > prev && value <= prev + MAX_STEP) || (value == prev && prev > 0));
                if ok {
                    self.clause_prev = value;
                    self.point_prev = None;
                }
                ok
            }
            Candidate::Point { index, .. } => {
                let ok = self.in_article
                    && match self.point_prev {
                        None => index < MAX_STEP as usize,
                        Some(p) => index >= p && index <= p + MAX_STEP as usize,
                    };
                if ok {
                    self.point_prev = Some(index);
                }
                ok
            }
        }
    }
}

/// Candidate lines for the start of the closing region.
#[derive(Default)]
struct ClosingCandidates {
    last_enactment: Option<usize>,
    last_signature: Option<usize>,
    last_signed: Option<usize>,
}

impl ClosingCandidates {
    fn feed(&mut self, idx: usize, t: &str) {
        const ENACTED_BY: [&str; 4] = ["luật này", "bộ luật này", "hiến pháp này", "pháp lệnh này"];
        if ENACTED_BY.iter().any(|p| scan::starts_with_folded(t, p))
            && scan::contains_folded(t, "quốc hội")
            && scan::contains_folded(t, "thông qua")
        {
            self.last_enactment = Some(idx);
        }
        const SIGNATURE: [&str; 4] = [
            "chủ tịch quốc hội",
            "tm. quốc hội",
            "t/m quốc hội",
            "chủ tịch nước",
        ];
        if t.chars().count() <= 60
            && SIGNATURE.iter().any(|p| scan::starts_with_folded(t, p))
            && !t.ends_with(['.', ';', ':', ','])
        {
            self.last_signature = Some(idx);
        }
        if scan::starts_with_folded(t, "(đã ký") {
            self.last_signed = Some(idx);
        }
    }
}

/// Splits into (line start offset, line without '\n').
fn lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split('\n') {
        out.push((start, line));
        start += line.len() + 1;
    }
    if text.ends_with('\n') {
        out.pop();
    }
    out
}

/// Finds the structural regions of `normalized` (see the module rules).
pub fn mark(normalized: &str, caps: &Caps) -> Result<Vec<Region>, MarkError> {
    mark_report(normalized, caps).map(|(regions, _)| regions)
}

/// The regions [`mark`] found in a text, tied to that text: each region's
/// `region_sha` was computed here from its span of it, so cutting them
/// ([`Marked::cut`]) does not hash the spans again. The fields are private:
/// nothing but [`mark_text`] makes one.
#[derive(Debug)]
pub struct Marked<'t> {
    normalized: &'t str,
    regions: Vec<Region>,
    report: MarkReport,
}

/// [`mark_report`], the regions kept with the text they were found in.
pub fn mark_text<'t>(normalized: &'t str, caps: &Caps) -> Result<Marked<'t>, MarkError> {
    let (regions, report) = mark_report(normalized, caps)?;
    Ok(Marked {
        normalized,
        regions,
        report,
    })
}

impl Marked<'_> {
    /// The regions, in document order.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The marker-looking lines that did not become regions.
    pub fn report(&self) -> &MarkReport {
        &self.report
    }

    /// [`crate::cut_plan`] of these regions, each unit's `text_sha` its
    /// region's `region_sha` (the same bytes' digest).
    pub fn cut(&self, doc_id: &str, version: &str) -> Result<crate::CutPlan, crate::CutError> {
        crate::cut::cut_regions(
            doc_id,
            version,
            self.normalized,
            &self.regions,
            crate::cut::Digests::Known,
        )
    }

    /// The regions and the report.
    pub fn into_parts(self) -> (Vec<Region>, MarkReport) {
        (self.regions, self.report)
    }
}

/// Like [`mark`], and also reports the lines outside quotations that look
/// like markers but did not start a region ([`MarkReport`]).
pub fn mark_report(normalized: &str, caps: &Caps) -> Result<(Vec<Region>, MarkReport), MarkError> {
    let lines = lines(normalized);
    let mut scan = MarkerScan::of(&lines);
    let closing_line = scan.closing_line(&lines);
    let closing_start = closing_line.map(|l| lines[l].0);
    if let Some(cs) = closing_start {
        scan.move_into_closing(cs);
    }
    let MarkerScan {
        markers,
        rejected,
        quoted_lines,
        ..
    } = scan;
    if !markers.iter().any(|m| m.kind == RegionKind::Article) {
        return Err(MarkError::NoStructure);
    }
    let has_preamble = !normalized[..markers[0].start].trim().is_empty();
    let units = markers.len() + usize::from(has_preamble) + usize::from(closing_start.is_some());
    if units > caps.max_units {
        return Err(MarkError::CapExceeded {
            cap: Cap::MaxUnits,
            limit: caps.max_units as u64,
            actual: units as u64,
            eid: None,
        });
    }
    let body = Body {
        end: closing_start.unwrap_or(normalized.len()),
        end_line: closing_line.unwrap_or(lines.len()),
        has_preamble,
    };
    let mut regions = build(&lines, &markers, &body);
    if let Some(cs) = closing_start {
        regions.push(closing_region(cs, normalized.len()));
    }
    for r in &mut regions {
        r.region_sha = sha256_hex(&normalized.as_bytes()[r.start..r.end]);
    }
    check_caps(&regions, caps)?;
    let report = MarkReport {
        lines: lines.len() as u64,
        quoted_lines,
        closing_line: closing_line.map(|l| l as u64 + 1),
        unmarked: rejected
            .iter()
            .map(|(m, why)| unmarked(&lines, &regions, m, *why))
            .collect(),
    };
    Ok((regions, report))
}

/// One pass over the lines outside quotations: the markers accepted, the
/// marker-looking lines refused (and why), the closing's candidate lines.
struct MarkerScan<'a> {
    markers: Vec<Marker<'a>>,
    rejected: Vec<(Marker<'a>, Why)>,
    closing: ClosingCandidates,
    quoted_lines: u64,
}

impl<'a> MarkerScan<'a> {
    fn of(lines: &[(usize, &'a str)]) -> Self {
        let mut found = MarkerScan {
            markers: Vec::new(),
            rejected: Vec::new(),
            closing: ClosingCandidates::default(),
            quoted_lines: 0,
        };
        let mut ctx = Context::default();
        let mut quotes = Quotes::default();
        for (idx, &(start, line)) in lines.iter().enumerate() {
            let inside = quotes.inside();
            quotes.feed(line);
            if inside {
                found.quoted_lines += 1;
                continue;
            }
            let t = line.trim();
            if t.is_empty() {
                continue;
            }
            if let Some(c) = scan::candidate(t) {
                let why = ctx.why_not(&c);
                if ctx.accept(&c) {
                    found.markers.push(to_marker(idx, start, &c));
                } else {
                    found.rejected.push((to_marker(idx, start, &c), why));
                }
                continue;
            }
            if ctx.last_article.is_some() {
                found.closing.feed(idx, t);
            }
        }
        found
    }

    /// The 0-based line the closing starts at: the enactment formula, else
    /// the signature, else the signer's name above the last `signed` line
    /// (when it is below the last marker).
    fn closing_line(&self, lines: &[(usize, &str)]) -> Option<usize> {
        let closing = &self.closing;
        closing
            .last_enactment
            .or(closing.last_signature)
            .or_else(|| {
                let signed = closing.last_signed?;
                let last_marker = self
                    .markers
                    .iter()
                    .rev()
                    .find(|m| m.line < signed)
                    .map(|m| m.line);
                let name = (0..signed)
                    .rev()
                    .find(|&i| !lines[i].1.trim().is_empty())
                    .filter(|&i| Some(i) > last_marker);
                Some(name.unwrap_or(signed))
            })
    }

    /// Markers at or after byte `closing_start` are not units: refused as
    /// in the closing, with the refused lines kept in line order.
    fn move_into_closing(&mut self, closing_start: usize) {
        let markers = core::mem::take(&mut self.markers);
        let (body, in_closing): (Vec<_>, Vec<_>) =
            markers.into_iter().partition(|m| m.start < closing_start);
        self.markers = body;
        self.rejected
            .extend(in_closing.into_iter().map(|m| (m, Why::InClosing)));
        for (m, why) in &mut self.rejected {
            if m.start >= closing_start {
                *why = Why::InClosing;
            }
        }
        self.rejected.sort_by_key(|(m, _)| m.line);
    }
}

/// The closing region, from `start` to the end of the text.
fn closing_region(start: usize, end: usize) -> Region {
    Region {
        kind: RegionKind::Closing,
        eid: "conclusions".to_string(),
        parent_eid: None,
        ordinal: 1,
        number: String::new(),
        heading: String::new(),
        start,
        end,
        region_sha: String::new(),
        duplicate_of: None,
    }
}

/// The eId of the region whose span holds byte `at`.
fn region_at(regions: &[Region], at: usize) -> &str {
    let i = regions.partition_point(|r| r.start <= at);
    regions[i.saturating_sub(1)].eid.as_str()
}

fn unmarked(lines: &[(usize, &str)], regions: &[Region], m: &Marker<'_>, why: Why) -> Unmarked {
    let label = match (m.kind, m.suffix) {
        (RegionKind::Point, _) => m.label.to_string(),
        (_, Some(s)) => format!("{}{s}", m.value),
        (_, None) => m.label.to_string(),
    };
    Unmarked {
        line: m.line as u64 + 1,
        kind: m.kind,
        label,
        reason: why,
        into: region_at(regions, m.start).to_string(),
        excerpt: excerpt(lines[m.line].1.trim(), EXCERPT_CHARS),
    }
}

/// Characters of a line kept in an [`Unmarked::excerpt`].
pub const EXCERPT_CHARS: usize = 80;

/// The first `max` characters of `line`, with "…" if cut; control and
/// bidirectional-formatting characters are shown as U+FFFD, so an excerpt
/// printed to a terminal cannot reorder or hide text.
pub fn excerpt(line: &str, max: usize) -> String {
    let mut out: String = line
        .chars()
        .take(max)
        .map(|c| {
            if crate::review::is_hidden_control(c) || c.is_control() {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    if line.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Why a marker-looking line did not start a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// An article number below the last article's ("Điều 8." after
    /// "Điều 70.").
    ArticleBelowLast,
    /// A heading-shaped "Điều N Tên" (capital title) or a typo "Điền N."
    /// whose N does not follow the last article.
    ArticleNotNext,
    /// "Điều N của Luật này …": a sentence that starts by citing an article
    /// (no dot after the number, lowercase continuation), not a heading.
    ArticleReference,
    /// A clause or point outside any article (preamble, between a container
    /// heading and the next article).
    OutsideArticle,
    /// A clause number or point letter that does not follow the previous one.
    OutOfSequence,
    /// After the start of the closing (signature, annexes): not read.
    InClosing,
}

impl Why {
    /// The stable name used in evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Why::ArticleBelowLast => "article_below_last",
            Why::ArticleNotNext => "article_not_next",
            Why::ArticleReference => "article_reference",
            Why::OutsideArticle => "outside_article",
            Why::OutOfSequence => "out_of_sequence",
            Why::InClosing => "in_closing",
        }
    }
}

/// A line outside quotations that looks like a marker but did not start a
/// region: its text belongs to the region [`Unmarked::into`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmarked {
    /// 1-based line number in the normalized text.
    pub line: u64,
    /// What the line looks like.
    pub kind: RegionKind,
    /// The number as written ("8", "19a", "b").
    pub label: String,
    /// Why it was not taken.
    pub reason: Why,
    /// eId of the region that holds the line.
    pub into: String,
    /// The trimmed line, cut to [`EXCERPT_CHARS`] characters (see [`excerpt`]).
    pub excerpt: String,
}

impl Unmarked {
    /// Whether this line is an *absorbed marker*: a line in the body (before
    /// the closing), outside quotations, shaped like an article heading or a
    /// clause, that did not become a unit — so its text was silently
    /// swallowed by the unit [`Unmarked::into`]:
    /// - an article heading whose number is below the last article's, or
    ///   that does not follow it ([`Why::ArticleBelowLast`],
    ///   [`Why::ArticleNotNext`]): a mistyped "Điều 70." for "Điều 7."
    ///   absorbs articles 8–69 into `art_70`;
    /// - a clause "N." out of sequence or outside any article
    ///   ([`Why::OutOfSequence`], [`Why::OutsideArticle`]): a mistyped
    ///   article keyword puts the article's clauses after the previous
    ///   article's.
    ///
    /// Not absorbed: a sentence citing an article ("Điều 11 của Luật
    /// này."), points (lists of points legitimately restart inside a
    /// point), and anything in the closing (annexes are not read).
    pub fn is_absorbed(&self) -> bool {
        match self.kind {
            RegionKind::Article => {
                matches!(self.reason, Why::ArticleBelowLast | Why::ArticleNotNext)
            }
            RegionKind::Clause => {
                matches!(self.reason, Why::OutOfSequence | Why::OutsideArticle)
            }
            _ => false,
        }
    }
}

/// What `mark` saw besides the regions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkReport {
    /// Lines of the normalized text.
    pub lines: u64,
    /// Lines inside quotations (never read as markers).
    pub quoted_lines: u64,
    /// 1-based line where the closing starts, if any.
    pub closing_line: Option<u64>,
    /// Marker-looking lines outside quotations that did not start a region,
    /// in line order.
    pub unmarked: Vec<Unmarked>,
}

impl MarkReport {
    /// The absorbed markers ([`Unmarked::is_absorbed`]), in line order.
    pub fn absorbed(&self) -> impl Iterator<Item = &Unmarked> {
        self.unmarked.iter().filter(|u| u.is_absorbed())
    }
}

fn to_marker<'a>(line: usize, start: usize, c: &Candidate<'a>) -> Marker<'a> {
    let (kind, label, value, suffix, rest) = match *c {
        Candidate::Container {
            kind,
            label,
            value,
            rest,
        } => (kind, label, value, None, rest),
        Candidate::Article {
            key, label, rest, ..
        } => (RegionKind::Article, label, key.0, key.1, rest),
        Candidate::Clause { value, label } => (RegionKind::Clause, label, value, None, ""),
        Candidate::Point { index, label } => (RegionKind::Point, label, index as u32, None, ""),
    };
    Marker {
        line,
        start,
        kind,
        label,
        value,
        suffix,
        rest,
    }
}

/// Open ancestors while building, as indices into the region list.
#[derive(Default, Clone, Copy)]
struct Open {
    part: Option<usize>,
    chapter: Option<usize>,
    section: Option<usize>,
    subsection: Option<usize>,
    article: Option<usize>,
    clause: Option<usize>,
}

/// Where the body (everything before the closing) ends.
struct Body {
    end: usize,
    end_line: usize,
    has_preamble: bool,
}

impl Open {
    /// A marker of `kind` starts: close what it ends and return the index
    /// of its parent region, if any.
    fn enter(&mut self, kind: RegionKind) -> Option<usize> {
        match kind {
            RegionKind::Part => {
                *self = Open::default();
                None
            }
            RegionKind::Chapter => {
                *self = Open {
                    part: self.part,
                    ..Open::default()
                };
                self.part
            }
            RegionKind::Section => {
                self.section = None;
                self.subsection = None;
                self.article = None;
                self.clause = None;
                self.chapter.or(self.part)
            }
            RegionKind::Subsection => {
                self.subsection = None;
                self.article = None;
                self.clause = None;
                self.section.or(self.chapter).or(self.part)
            }
            RegionKind::Article => {
                self.article = None;
                self.clause = None;
                self.subsection
                    .or(self.section)
                    .or(self.chapter)
                    .or(self.part)
            }
            RegionKind::Clause => {
                self.clause = None;
                self.article
            }
            RegionKind::Point => self.clause.or(self.article),
            RegionKind::Preamble | RegionKind::Closing => None,
        }
    }

    /// The region at `idx`, of `kind`, is now the open one of its level.
    fn opened(&mut self, kind: RegionKind, idx: usize) {
        match kind {
            RegionKind::Part => self.part = Some(idx),
            RegionKind::Chapter => self.chapter = Some(idx),
            RegionKind::Section => self.section = Some(idx),
            RegionKind::Subsection => self.subsection = Some(idx),
            RegionKind::Article => self.article = Some(idx),
            RegionKind::Clause => self.clause = Some(idx),
            _ => {}
        }
    }
}

/// `natural` if no region has it yet, else the first free `{natural}_dupN`
/// (N from 2) with `natural` as what it duplicates.
fn unique_eid(used: &BTreeSet<String>, natural: String) -> (String, Option<String>) {
    if !used.contains(&natural) {
        return (natural, None);
    }
    let mut n = 2;
    loop {
        let candidate = format!("{natural}_dup{n}");
        if !used.contains(&candidate) {
            return (candidate, Some(natural));
        }
        n += 1;
    }
}

/// A marker's heading: the rest of its line, or for a container whose
/// line has nothing after the label, the first non-empty line before the
/// next marker.
fn heading_of<'a>(lines: &[(usize, &'a str)], m: &Marker<'a>, next_line: usize) -> &'a str {
    if m.kind.is_container() && m.rest.is_empty() {
        lines[m.line + 1..next_line]
            .iter()
            .map(|(_, l)| l.trim())
            .find(|l| !l.is_empty())
            .unwrap_or("")
    } else {
        m.rest
    }
}

fn build(lines: &[(usize, &str)], markers: &[Marker<'_>], body: &Body) -> Vec<Region> {
    let has_preamble = body.has_preamble;
    let mut regions: Vec<Region> = Vec::with_capacity(markers.len() + 2);
    if has_preamble {
        regions.push(Region {
            kind: RegionKind::Preamble,
            eid: "preamble".to_string(),
            parent_eid: None,
            ordinal: 1,
            number: String::new(),
            heading: String::new(),
            start: 0,
            end: markers[0].start,
            region_sha: String::new(),
            duplicate_of: None,
        });
    }
    let mut used: BTreeSet<String> = regions.iter().map(|r| r.eid.clone()).collect();
    used.insert("conclusions".to_string());
    let mut ordinals: BTreeMap<(Option<usize>, RegionKind), u32> = BTreeMap::new();
    let mut open = Open::default();
    for (i, m) in markers.iter().enumerate() {
        let next_line = markers.get(i + 1).map_or(body.end_line, |n| n.line);
        let parent = open.enter(m.kind);
        let parent_eid = parent.map(|p| regions[p].eid.as_str());
        let natural = natural_eid(m, parent_eid);
        let (eid, duplicate_of) = unique_eid(&used, natural);
        used.insert(eid.clone());
        let ordinal = ordinals.entry((parent, m.kind)).or_insert(0);
        *ordinal += 1;
        let heading = heading_of(lines, m, next_line);
        let start = if i == 0 && !has_preamble { 0 } else { m.start };
        let end = markers.get(i + 1).map_or(body.end, |n| n.start);
        let idx = regions.len();
        open.opened(m.kind, idx);
        regions.push(Region {
            kind: m.kind,
            eid,
            parent_eid: parent.map(|p| regions[p].eid.clone()),
            ordinal: *ordinal,
            number: m.label.to_string(),
            heading: heading.to_string(),
            start,
            end,
            region_sha: String::new(),
            duplicate_of,
        });
    }
    regions
}

/// The eId a marker would have if it were unique.
fn natural_eid(m: &Marker<'_>, parent_eid: Option<&str>) -> String {
    let prefixed = |local: String| match parent_eid {
        Some(p) => format!("{p}__{local}"),
        None => local,
    };
    match m.kind {
        RegionKind::Part => format!("part_{}", m.value),
        RegionKind::Chapter => format!("chp_{}", m.value),
        RegionKind::Section => prefixed(format!("sec_{}", m.value)),
        RegionKind::Subsection => prefixed(format!("subsec_{}", m.value)),
        RegionKind::Article => match m.suffix {
            Some(s) => format!("art_{}{s}", m.value),
            None => format!("art_{}", m.value),
        },
        RegionKind::Clause => prefixed(format!("para_{}", m.value)),
        RegionKind::Point => prefixed(format!(
            "point_{}",
            scan::point_eid_letter(m.value as usize)
        )),
        RegionKind::Preamble => "preamble".to_string(),
        RegionKind::Closing => "conclusions".to_string(),
    }
}

fn check_caps(regions: &[Region], caps: &Caps) -> Result<(), MarkError> {
    if let Some(r) = regions
        .iter()
        .find(|r| r.end - r.start > caps.max_unit_bytes)
    {
        return Err(MarkError::CapExceeded {
            cap: Cap::MaxUnitBytes,
            limit: caps.max_unit_bytes as u64,
            actual: (r.end - r.start) as u64,
            eid: Some(r.eid.clone()),
        });
    }
    let depths = crate::evidence::depths(regions);
    if let Some((i, &d)) = depths
        .iter()
        .enumerate()
        .find(|(_, d)| **d > caps.max_depth)
    {
        return Err(MarkError::CapExceeded {
            cap: Cap::MaxDepth,
            limit: caps.max_depth as u64,
            actual: d as u64,
            eid: Some(regions[i].eid.clone()),
        });
    }
    Ok(())
}
