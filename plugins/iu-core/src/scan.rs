//! Line-level recognition of structural markers (no context: whether a
//! candidate is accepted is decided by `structure`).
//!
//! Keywords are matched case-insensitively, with the Icelandic capital ETH
//! "Ð" (U+00D0) and "ð" (U+00F0) read as "Đ"/"đ": the corpus contains
//! "Ðiều 413." typed with the look-alike letter.

/// Strength of an article marker line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strength {
    /// "Điều 5." / "Điều 5:" / "Điều 5" alone on its line.
    Strong,
    /// "Điều 5 Tên điều" (number followed by a space and text).
    Weak,
}

/// The comparable key of an article number: (number, letter suffix).
pub(crate) type ArticleKey = (u32, Option<char>);

/// A candidate marker found at the start of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Candidate<'a> {
    /// Part/chapter/section/subsection.
    Container {
        /// Which container.
        kind: crate::RegionKind,
        /// The number as written.
        label: &'a str,
        /// The number as an integer.
        value: u32,
        /// The title on the same line (may be empty).
        rest: &'a str,
    },
    /// "Điều N".
    Article {
        /// Number and suffix.
        key: ArticleKey,
        /// The number as written ("5", "19a").
        label: &'a str,
        /// Strong or weak shape.
        strength: Strength,
        /// Whether the keyword was the typo "Điền".
        typo: bool,
        /// The title on the same line (may be empty).
        rest: &'a str,
    },
    /// "N." / "N)" / "N-" at line start.
    Clause {
        /// The number.
        value: u32,
        /// As written.
        label: &'a str,
    },
    /// "a)" / "a." / "a-" at line start.
    Point {
        /// Index in [`POINT_LETTERS`].
        index: usize,
        /// As written.
        label: &'a str,
    },
}

/// The letters of point labels, in order (the Vietnamese alphabet has no
/// f, j, w, z).
pub(crate) const POINT_LETTERS: [char; 23] = [
    'a', 'b', 'c', 'd', 'đ', 'e', 'g', 'h', 'i', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't',
    'u', 'v', 'x', 'y',
];

/// ASCII form of a point letter for eIds ("đ" → "dd", as in Telex).
pub(crate) fn point_eid_letter(index: usize) -> &'static str {
    const NAMES: [&str; 23] = [
        "a", "b", "c", "d", "dd", "e", "g", "h", "i", "k", "l", "m", "n", "o", "p", "q", "r", "s",
        "t", "u", "v", "x", "y",
    ];
    NAMES[index]
}

/// Lowercases one char for keyword comparison; ETH look-alikes become đ.
pub(crate) fn fold(c: char) -> char {
    match c {
        'Ð' | 'ð' | 'Đ' => 'đ',
        c if c.is_ascii() => c.to_ascii_lowercase(),
        c => c.to_lowercase().next().unwrap_or(c),
    }
}

/// If `s` starts with keyword `kw` (case-insensitively, `kw` given in
/// lowercase) followed by a non-letter, returns the remainder.
pub(crate) fn strip_keyword<'a>(s: &'a str, kw: &str) -> Option<&'a str> {
    let mut it = s.char_indices();
    for k in kw.chars() {
        let (_, c) = it.next()?;
        if fold(c) != k {
            return None;
        }
    }
    let at = it.next().map_or(s.len(), |(i, _)| i);
    let rest = &s[at..];
    match rest.chars().next() {
        Some(c) if c.is_alphabetic() => None,
        _ => Some(rest),
    }
}

/// Whether `s` starts with `prefix`, case-insensitively (`prefix` lowercase).
pub(crate) fn starts_with_folded(s: &str, prefix: &str) -> bool {
    let mut it = s.chars();
    prefix.chars().all(|p| it.next().map(fold) == Some(p))
}

/// Whether `s` contains `needle` case-insensitively (`needle` lowercase).
pub(crate) fn contains_folded(s: &str, needle: &str) -> bool {
    s.char_indices()
        .any(|(i, _)| starts_with_folded(&s[i..], needle))
}

fn is_space(c: char) -> bool {
    c.is_whitespace()
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '–' | '—')
}

/// Splits a leading run of ASCII digits (1..=4 of them).
fn split_digits(s: &str) -> Option<(&str, &str, u32)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 || n > 4 {
        return None;
    }
    let value = s[..n].parse().ok()?;
    Some((&s[..n], &s[n..], value))
}

/// Value of a strictly well-formed Roman numeral (I..=MMMCMXCIX).
pub(crate) fn roman_value(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 15 {
        return None;
    }
    let digit = |c: u8| match c {
        b'I' => Some(1),
        b'V' => Some(5),
        b'X' => Some(10),
        b'L' => Some(50),
        b'C' => Some(100),
        b'D' => Some(500),
        b'M' => Some(1000),
        _ => None,
    };
    let values: Option<alloc::vec::Vec<i64>> = s.bytes().map(digit).collect();
    let values = values?;
    let mut total: i64 = 0;
    for (i, &v) in values.iter().enumerate() {
        if values.get(i + 1).is_some_and(|&n| n > v) {
            total -= v;
        } else {
            total += v;
        }
    }
    let total = u32::try_from(total).ok()?;
    (total > 0 && to_roman(total) == s).then_some(total)
}

fn to_roman(mut v: u32) -> alloc::string::String {
    const T: [(u32, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut out = alloc::string::String::new();
    for (n, r) in T {
        while v >= n {
            out.push_str(r);
            v -= n;
        }
    }
    out
}

/// Vietnamese ordinal words used after "Phần thứ".
fn ordinal_word(word: &str) -> Option<u32> {
    const WORDS: [(&str, u32); 12] = [
        ("nhất", 1),
        ("một", 1),
        ("hai", 2),
        ("ba", 3),
        ("tư", 4),
        ("bốn", 4),
        ("năm", 5),
        ("lăm", 5),
        ("sáu", 6),
        ("bảy", 7),
        ("tám", 8),
        ("chín", 9),
    ];
    WORDS
        .iter()
        .find(|(w, _)| word.chars().map(fold).eq(w.chars()))
        .map(|&(_, v)| v)
}

/// Splits the first whitespace-separated word.
fn first_word(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches(is_space);
    let end = s.find(is_space).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// Parses "thứ nhất", "thứ mười", "thứ mười hai" → (label, value, rest).
fn parse_ordinal(s: &str) -> Option<(&str, u32, &str)> {
    let t = s.trim_start_matches(is_space);
    let after = strip_keyword(t, "thứ")?.trim_start_matches(is_space);
    let start = s.len() - after.len();
    let (w1, _) = first_word(after);
    let w1 = w1.trim_end_matches(['.', ':']);
    let mut end = start + w1.len();
    let mut value = if w1.chars().map(fold).eq("mười".chars()) {
        10
    } else {
        ordinal_word(w1)?
    };
    if value == 10 {
        let after1 = &s[end..];
        let (w2, _) = first_word(after1);
        let w2 = w2.trim_end_matches(['.', ':']);
        if let Some(unit) = ordinal_word(w2) {
            end += after1.len() - after1.trim_start_matches(is_space).len() + w2.len();
            value += unit;
        }
    }
    Some((&s[start..end], value, &s[end..]))
}

/// Parses a container number (Roman or Arabic) and its tail.
fn parse_container_number(s: &str) -> Option<(&str, u32, &str)> {
    let s = s.strip_prefix('.').unwrap_or(s);
    let s = s.trim_start_matches(is_space);
    if let Some((label, tail, v)) = split_digits(s) {
        return Some((label, v, tail));
    }
    let n = s
        .bytes()
        .take_while(|b| matches!(b, b'I' | b'V' | b'X' | b'L' | b'C'))
        .count();
    let (label, tail) = s.split_at(n);
    Some((label, roman_value(label)?, tail))
}

/// Checks the tail after a container number and returns the title.
fn container_title(tail: &str) -> Option<&str> {
    match tail.chars().next() {
        None => Some(""),
        Some(c) if c == '.' || c == ':' || is_space(c) || is_dash(c) => {
            let title = tail
                .trim_start_matches(|c: char| c == '.' || c == ':' || is_space(c) || is_dash(c))
                .trim_end();
            match title.chars().next() {
                Some(c) if c.is_lowercase() => None,
                _ => Some(title),
            }
        }
        Some(_) => None,
    }
}

/// Recognizes a candidate marker on a line already trimmed at the start.
pub(crate) fn candidate(line: &str) -> Option<Candidate<'_>> {
    let first = line.chars().next()?;
    if first.is_ascii_digit() {
        return clause(line);
    }
    if first.is_lowercase()
        && let Some(p) = point(line)
    {
        return Some(p);
    }
    if let Some(rest) = strip_keyword(line, "điều") {
        return article(rest, false);
    }
    if let Some(rest) = strip_keyword(line, "điền") {
        return article(rest, true);
    }
    if let Some(rest) = strip_keyword(line, "chương") {
        return container(crate::RegionKind::Chapter, rest);
    }
    if let Some(rest) = strip_keyword(line, "mục") {
        return container(crate::RegionKind::Section, rest);
    }
    if let Some(rest) = strip_keyword(line, "tiểu") {
        let rest = strip_keyword(rest.trim_start_matches(is_space), "mục")?;
        return container(crate::RegionKind::Subsection, rest);
    }
    if let Some(rest) = strip_keyword(line, "phần") {
        return part(rest);
    }
    None
}

fn container(kind: crate::RegionKind, rest: &str) -> Option<Candidate<'_>> {
    let (label, value, tail) = parse_container_number(rest)?;
    let title = container_title(tail)?;
    Some(Candidate::Container {
        kind,
        label,
        value,
        rest: title,
    })
}

fn part(rest: &str) -> Option<Candidate<'_>> {
    let (label, value, tail) = parse_ordinal(rest).or_else(|| parse_container_number(rest))?;
    let title = container_title(tail)?;
    Some(Candidate::Container {
        kind: crate::RegionKind::Part,
        label,
        value,
        rest: title,
    })
}

fn article(rest: &str, typo: bool) -> Option<Candidate<'_>> {
    let s = rest.trim_start_matches(is_space);
    let (digits, tail, value) = split_digits(s)?;
    let (label, suffix, tail) = match tail.chars().next() {
        Some(c @ 'a'..='z') if !tail[1..].starts_with(|n: char| n.is_alphabetic()) => {
            (&s[..digits.len() + 1], Some(c), &tail[1..])
        }
        _ => (digits, None, tail),
    };
    let (strength, title) = match tail.chars().next() {
        None => (Strength::Strong, ""),
        Some('.' | ':') => (
            Strength::Strong,
            tail.trim_start_matches(|c: char| c == '.' || c == ':' || is_space(c) || is_dash(c))
                .trim_end(),
        ),
        Some(c) if is_space(c) => {
            let t = tail.trim();
            if t.is_empty() {
                (Strength::Strong, "")
            } else {
                (Strength::Weak, t)
            }
        }
        Some(_) => return None,
    };
    Some(Candidate::Article {
        key: (value, suffix),
        label,
        strength,
        typo,
        rest: title,
    })
}

/// After the punctuation of a clause/point label: end, space, or anything
/// but a digit or an ASCII lowercase letter (rejects "1.4", "64-52-8",
/// "3-methyl...", "e.g.").
fn label_boundary_ok(tail: &str) -> bool {
    !tail.starts_with(|c: char| c.is_ascii_digit() || c.is_ascii_lowercase())
}

fn clause(line: &str) -> Option<Candidate<'_>> {
    let n = line.bytes().take_while(u8::is_ascii_digit).count();
    if n > 3 {
        return None;
    }
    let (label, tail) = line.split_at(n);
    let tail = tail
        .strip_prefix("..")
        .or_else(|| tail.strip_prefix('.'))
        .or_else(|| tail.strip_prefix(')'))
        .or_else(|| tail.strip_prefix('-'))?;
    if !label_boundary_ok(tail) {
        return None;
    }
    Some(Candidate::Clause {
        value: label.parse().ok()?,
        label,
    })
}

fn point(line: &str) -> Option<Candidate<'_>> {
    let c = line.chars().next()?;
    let index = POINT_LETTERS.iter().position(|&l| l == fold(c))?;
    let (label, tail) = line.split_at(c.len_utf8());
    let tail = tail
        .strip_prefix(")-")
        .or_else(|| tail.strip_prefix(')'))
        .or_else(|| tail.strip_prefix('.'))
        .or_else(|| tail.strip_prefix('-'))?;
    if !label_boundary_ok(tail) {
        return None;
    }
    Some(Candidate::Point { index, label })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RegionKind;

    fn art(line: &str) -> Option<(ArticleKey, Strength, bool, &str)> {
        match candidate(line)? {
            Candidate::Article {
                key,
                strength,
                typo,
                rest,
                ..
            } => Some((key, strength, typo, rest)),
            _ => None,
        }
    }

    fn cont(line: &str) -> Option<(RegionKind, &str, u32, &str)> {
        match candidate(line)? {
            Candidate::Container {
                kind,
                label,
                value,
                rest,
            } => Some((kind, label, value, rest)),
            _ => None,
        }
    }

    #[test]
    fn roman() {
        assert_eq!(roman_value("XI"), Some(11));
        assert_eq!(roman_value("XIV"), Some(14));
        assert_eq!(roman_value("IV"), Some(4));
        assert_eq!(roman_value("IX"), Some(9));
        assert_eq!(roman_value("XL"), Some(40));
        assert_eq!(roman_value("XXVII"), Some(27));
        assert_eq!(roman_value("IIII"), None);
        assert_eq!(roman_value("IC"), None);
        assert_eq!(roman_value(""), None);
    }

    #[test]
    fn articles() {
        use Strength::*;
        assert_eq!(
            art("Điều 1. Phạm vi"),
            Some(((1, None), Strong, false, "Phạm vi"))
        );
        assert_eq!(art("Điều 1."), Some(((1, None), Strong, false, "")));
        assert_eq!(art("Điều 32"), Some(((32, None), Strong, false, "")));
        assert_eq!(
            art("Điều 2:Uỷ ban"),
            Some(((2, None), Strong, false, "Uỷ ban"))
        );
        assert_eq!(
            art("Điều 2.. Luật"),
            Some(((2, None), Strong, false, "Luật"))
        );
        assert_eq!(
            art("Ðiều 413. Phạm vi"),
            Some(((413, None), Strong, false, "Phạm vi"))
        );
        assert_eq!(art("Điền 23. Quy"), Some(((23, None), Strong, true, "Quy")));
        assert_eq!(
            art("Điều 19a. Mới"),
            Some(((19, Some('a')), Strong, false, "Mới"))
        );
        assert_eq!(
            art("Điều 5 Chính sách"),
            Some(((5, None), Weak, false, "Chính sách"))
        );
        assert_eq!(
            art("Điều 11 của Luật này."),
            Some(((11, None), Weak, false, "của Luật này."))
        );
        assert_eq!(art("Điều kiện đối với"), None);
        assert_eq!(art("Điều 5, khoản 2"), None);
        assert_eq!(art("ĐIỀU KHOẢN THI HÀNH"), None);
    }

    #[test]
    fn containers() {
        use RegionKind::*;
        assert_eq!(cont("Chương I"), Some((Chapter, "I", 1, "")));
        assert_eq!(cont("Chương XI."), Some((Chapter, "XI", 11, "")));
        assert_eq!(cont("CHƯƠNG II"), Some((Chapter, "II", 2, "")));
        assert_eq!(cont("Chương 1:"), Some((Chapter, "1", 1, "")));
        assert_eq!(cont("Chương 7"), Some((Chapter, "7", 7, "")));
        assert_eq!(
            cont("Chương III - QUY ĐỊNH"),
            Some((Chapter, "III", 3, "QUY ĐỊNH"))
        );
        assert_eq!(cont("Chương trình máy tính"), None);
        assert_eq!(cont("Chương II của Luật này"), None);
        assert_eq!(cont("Mục 1. NĂNG LỰC"), Some((Section, "1", 1, "NĂNG LỰC")));
        assert_eq!(cont("MỤC 2"), Some((Section, "2", 2, "")));
        assert_eq!(cont("Mục.2"), Some((Section, "2", 2, "")));
        assert_eq!(cont("Mục 1:GIÁ TRỊ"), Some((Section, "1", 1, "GIÁ TRỊ")));
        assert_eq!(cont("Mục tiêu bình đẳng"), None);
        assert_eq!(
            cont("Tiểu mục 1. QUYỀN"),
            Some((Subsection, "1", 1, "QUYỀN"))
        );
        assert_eq!(cont("Phần thứ nhất"), Some((Part, "nhất", 1, "")));
        assert_eq!(cont("PHẦN THỨ TƯ"), Some((Part, "TƯ", 4, "")));
        assert_eq!(cont("Phần thứ mười"), Some((Part, "mười", 10, "")));
        assert_eq!(cont("Phần thứ mười hai"), Some((Part, "mười hai", 12, "")));
        assert_eq!(cont("Phần vốn góp của"), None);
        assert_eq!(cont("Phần kết luận"), None);
    }

    #[test]
    fn clauses_and_points() {
        assert!(matches!(
            candidate("1. Nhà nước"),
            Some(Candidate::Clause { value: 1, .. })
        ));
        assert!(matches!(
            candidate("12."),
            Some(Candidate::Clause { value: 12, .. })
        ));
        assert!(matches!(
            candidate("2..Thông tin"),
            Some(Candidate::Clause { value: 2, .. })
        ));
        assert!(matches!(
            candidate("1- Công dân"),
            Some(Candidate::Clause { value: 1, .. })
        ));
        assert!(matches!(
            candidate("1.Sau khi"),
            Some(Candidate::Clause { value: 1, .. })
        ));
        assert_eq!(candidate("1.4"), None);
        assert_eq!(candidate("64-52-8"), None);
        assert_eq!(candidate("3-methylfentanyl"), None);
        assert_eq!(candidate("2931.00"), None);
        assert!(matches!(
            candidate("a) Thay đổi"),
            Some(Candidate::Point { index: 0, .. })
        ));
        assert!(matches!(
            candidate("đ) Kế hoạch"),
            Some(Candidate::Point { index: 4, .. })
        ));
        assert!(matches!(
            candidate("a)- Thiết bị"),
            Some(Candidate::Point { index: 0, .. })
        ));
        assert!(matches!(
            candidate("a.Được"),
            Some(Candidate::Point { index: 0, .. })
        ));
        assert_eq!(candidate("f) x"), None);
        assert_eq!(candidate("e.g. x"), None);
    }

    #[test]
    fn folded_helpers() {
        assert!(starts_with_folded("LUẬT NÀY đã", "luật này"));
        assert!(contains_folded("được Quốc hội thông qua", "quốc hội"));
        assert!(!contains_folded("abc", "abd"));
    }
}
