//! The FRBR identifiers of an export, after the Akoma Ntoso naming
//! convention: work `/akn/vn/act/<year>/<document>`, expression
//! `<work>/vie@<version>`, manifestation `<expression>.akn`; each level's
//! `FRBRthis` adds `/!main` (`/!main.xml` for the manifestation).

use super::{Kind, Unit, refused};
use crate::stop::Stop;
use serde::{Deserialize, Serialize};

/// The country of every export (FRBRcountry).
pub const COUNTRY: &str = "vn";
/// The language of every expression (FRBRlanguage, ISO 639-2).
pub const LANGUAGE: &str = "vie";
/// The document type in the URIs.
pub const DOC_TYPE: &str = "act";

/// The identifiers (the same in both formats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frbr {
    /// The work's date, `YYYY-MM-DD`: every FRBRdate carries it.
    pub date: String,
    /// FRBRWork/FRBRthis.
    pub work_this: String,
    /// FRBRWork/FRBRuri.
    pub work_uri: String,
    /// FRBRExpression/FRBRthis.
    pub expression_this: String,
    /// FRBRExpression/FRBRuri.
    pub expression_uri: String,
    /// FRBRManifestation/FRBRthis.
    pub manifestation_this: String,
    /// FRBRManifestation/FRBRuri.
    pub manifestation_uri: String,
    /// FRBRcountry.
    pub country: String,
    /// FRBRlanguage.
    pub language: String,
}

impl Frbr {
    /// The identifiers of `document_id` at `version`, dated `work_date` or
    /// else by the first date written in the preamble, else in the closing.
    pub fn new(
        document_id: &str,
        version: &str,
        work_date: Option<&str>,
        units: &[Unit],
    ) -> Result<Self, Stop> {
        let date = match work_date {
            Some(given) => {
                parse_iso_date(given).ok_or_else(|| {
                    refused(format!(
                        "--work-date `{}` is not a date YYYY-MM-DD",
                        given.escape_debug()
                    ))
                })?;
                given.to_string()
            }
            None => [Kind::Preamble, Kind::Closing]
                .iter()
                .filter_map(|kind| units.iter().find(|u| u.kind == *kind))
                .find_map(|u| work_date_in(&u.text))
                .ok_or_else(|| {
                    refused(
                        "no date (\"ngày D tháng M năm YYYY\") in the preamble or the closing to date the work; give one with --work-date YYYY-MM-DD",
                    )
                })?,
        };
        let year = &date[..4];
        let work = format!("/akn/{COUNTRY}/{DOC_TYPE}/{year}/{document_id}");
        let expression = format!("{work}/{LANGUAGE}@{version}");
        Ok(Self {
            work_this: format!("{work}/!main"),
            work_uri: work,
            expression_this: format!("{expression}/!main"),
            manifestation_this: format!("{expression}/!main.xml"),
            manifestation_uri: format!("{expression}.akn"),
            expression_uri: expression,
            country: COUNTRY.into(),
            language: LANGUAGE.into(),
            date,
        })
    }
}

/// `(year, month, day)` of a valid `YYYY-MM-DD`.
fn parse_iso_date(text: &str) -> Option<(u32, u32, u32)> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (y, m, d) = (num(&text[..4])?, num(&text[5..7])?, num(&text[8..])?);
    valid(y, m, d).then_some((y, m, d))
}

fn valid(y: u32, m: u32, d: u32) -> bool {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1000..=9999).contains(&y) && (1..=days).contains(&d)
}

/// The first date written "ngày D tháng M năm YYYY" in `text` (as a
/// Vietnamese legal text dates itself), as `YYYY-MM-DD`.
pub fn work_date_in(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(at) = rest.find("ngày ") {
        rest = &rest[at + "ngày ".len()..];
        if let Some(date) = date_after_ngay(rest) {
            return Some(date);
        }
    }
    None
}

/// Parses "D tháng M năm YYYY" at the start of `s`.
fn date_after_ngay(s: &str) -> Option<String> {
    let (d, s) = digits(s, 2)?;
    let s = s.strip_prefix(" tháng ")?;
    let (m, s) = digits(s, 2)?;
    let s = s.strip_prefix(" năm ")?;
    let (y, s) = digits(s, 4)?;
    if s.starts_with(|c: char| c.is_ascii_digit()) || y.len() != 4 {
        return None;
    }
    let (y, m, d) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    valid(y, m, d).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// 1..=`max` ASCII digits at the start of `s`, and the rest.
fn digits(s: &str, max: usize) -> Option<(&str, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    (1..=max).contains(&n).then(|| s.split_at(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_is_read_as_vietnamese_texts_write_it() {
        assert_eq!(
            work_date_in("QUỐC HỘI\nHà Nội, ngày 28 tháng 11 năm 2013\n").as_deref(),
            Some("2013-11-28")
        );
        assert_eq!(
            work_date_in("ngày 1 tháng 7 năm 2015").as_deref(),
            Some("2015-07-01")
        );
        assert_eq!(work_date_in("ngày 31 tháng 2 năm 2013"), None);
        assert_eq!(work_date_in("ngày tháng năm 2013"), None);
        assert_eq!(work_date_in("ngày 1 tháng 7 năm 20155"), None);
        assert_eq!(
            work_date_in("ngày nào đó, ngày 2 tháng 9 năm 1945").as_deref(),
            Some("1945-09-02")
        );
    }

    #[test]
    fn uris_follow_the_naming_convention() {
        let f = Frbr::new("hien-phap", "v-0123456789abcdef", Some("2013-11-28"), &[]).unwrap();
        assert_eq!(f.work_uri, "/akn/vn/act/2013/hien-phap");
        assert_eq!(f.work_this, "/akn/vn/act/2013/hien-phap/!main");
        assert_eq!(
            f.expression_uri,
            "/akn/vn/act/2013/hien-phap/vie@v-0123456789abcdef"
        );
        assert_eq!(
            f.manifestation_this,
            "/akn/vn/act/2013/hien-phap/vie@v-0123456789abcdef/!main.xml"
        );
        assert_eq!(
            f.manifestation_uri,
            "/akn/vn/act/2013/hien-phap/vie@v-0123456789abcdef.akn"
        );
        assert!(Frbr::new("d", "v", Some("2013-13-01"), &[]).is_err());
        assert!(Frbr::new("d", "v", None, &[]).is_err());
    }
}
