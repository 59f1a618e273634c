//! The csv-rows example's domain, as plain Rust (tested natively): pin a
//! CSV file (sha256, UTF-8, no control characters), parse it strictly (a
//! header, every record as wide as the header), and digest its rows so the
//! approval, the load and the read-back can be compared.
//!
//! Digests: `row_sha256` = sha256 (hex) of the row's fields as a JSON array
//! of strings (serde_json's escaping); `rows_digest` = sha256 (hex) over,
//! for each row in order, `seq` in decimal, a tab, its `row_sha256`, a
//! newline.

use sha2::{Digest, Sha256};

/// The tables the plan declares for this plugin set.
pub const FILES_TABLE: &str = "csv_files";
/// One row per data record.
pub const ROWS_TABLE: &str = "csv_rows";

/// What went wrong, in the terms a phase refuses with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The file is empty (or holds only a header).
    Empty,
    /// Not UTF-8, or a control character.
    Encoding,
    /// Over a configured cap.
    Cap,
    /// Not a well-formed CSV table.
    Malformed,
}

/// A refusal of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// For the operator.
    pub message: String,
}

fn problem(kind: ProblemKind, message: impl Into<String>) -> Problem {
    Problem {
        kind,
        message: message.into(),
    }
}

/// sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What pinning found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// sha256 of the bytes as read.
    pub sha256: String,
    /// Their length.
    pub bytes: u64,
    /// Whether the file starts with a UTF-8 byte-order mark (skipped).
    pub bom: bool,
    /// `lf`, `crlf`, `mixed` or `none`.
    pub line_ending: &'static str,
}

/// The UTF-8 text of the file, without a byte-order mark; refuses an empty
/// file, invalid UTF-8 and control characters other than tab, CR and LF
/// (naming the byte offset).
pub fn text_of(bytes: &[u8]) -> Result<&str, Problem> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(problem(ProblemKind::Empty, "the file is empty"));
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        problem(
            ProblemKind::Encoding,
            format!(
                "the file is not UTF-8: invalid bytes at offset {}",
                e.valid_up_to() + bytes.len() - body.len()
            ),
        )
    })?;
    if let Some((at, c)) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
    {
        return Err(problem(
            ProblemKind::Encoding,
            format!(
                "control character U+{:04X} at byte offset {}",
                u32::from(c),
                at + bytes.len() - body.len()
            ),
        ));
    }
    Ok(text)
}

/// Pins the file: its digest, size, BOM and line endings; refuses what
/// [`text_of`] refuses and a file over `max_bytes`.
pub fn pin(bytes: &[u8], max_bytes: u64) -> Result<Pinned, Problem> {
    if bytes.len() as u64 > max_bytes {
        return Err(problem(
            ProblemKind::Cap,
            format!(
                "the file has {} bytes, over max_bytes = {max_bytes}",
                bytes.len()
            ),
        ));
    }
    let text = text_of(bytes)?;
    let crlf = text.matches("\r\n").count();
    let lf = text.matches('\n').count();
    let line_ending = match (crlf, lf) {
        (0, 0) => "none",
        (0, _) => "lf",
        (c, l) if c == l => "crlf",
        _ => "mixed",
    };
    Ok(Pinned {
        sha256: sha256_hex(bytes),
        bytes: bytes.len() as u64,
        bom: bytes.starts_with(b"\xEF\xBB\xBF"),
        line_ending,
    })
}

/// One data record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based position among the data records.
    pub seq: i64,
    /// The line of the file it starts on (1-based; the header is line 1).
    pub line: i64,
    /// Its fields, as many as the header has.
    pub fields: Vec<String>,
}

impl Record {
    /// The fields as a JSON array of strings (what the store keeps).
    pub fn fields_json(&self) -> String {
        fields_json(&self.fields)
    }

    /// sha256 of [`Record::fields_json`].
    pub fn sha256(&self) -> String {
        sha256_hex(self.fields_json().as_bytes())
    }
}

/// Fields as a JSON array of strings.
pub fn fields_json(fields: &[String]) -> String {
    serde_json::Value::from(fields.to_vec()).to_string()
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The header's column names.
    pub header: Vec<String>,
    /// The data records, in file order.
    pub records: Vec<Record>,
}

impl Parsed {
    /// The digest of every record, in order ([`rows_digest`]).
    pub fn rows_digest(&self) -> String {
        rows_digest(self.records.iter().map(|r| (r.seq, r.sha256())))
    }
}

/// sha256 (hex) over `seq \t row_sha256 \n` for each row, in order.
pub fn rows_digest(rows: impl IntoIterator<Item = (i64, String)>) -> String {
    let mut h = Sha256::new();
    for (seq, sha) in rows {
        h.update(format!("{seq}\t{sha}\n").as_bytes());
    }
    hex::encode(h.finalize())
}

/// Parses `text` as CSV (RFC 4180: `,`, `"` quoting, CRLF or LF): a header
/// of distinct, non-empty names, then at least one record, every record as
/// wide as the header, at most `max_rows` records.
pub fn parse(text: &str, max_rows: u64) -> Result<Parsed, Problem> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let malformed = |e: csv::Error| {
        let at = e
            .position()
            .map(|p| format!(" (line {})", p.line()))
            .unwrap_or_default();
        let what = match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("a record has {len} fields, the header {expected_len}"),
            other => format!("{other:?}"),
        };
        problem(
            ProblemKind::Malformed,
            format!("not a CSV table{at}: {what}"),
        )
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(malformed)?
        .iter()
        .map(str::to_string)
        .collect();
    for (i, name) in header.iter().enumerate() {
        if name.trim().is_empty() {
            return Err(problem(
                ProblemKind::Malformed,
                format!("header column {} has no name", i + 1),
            ));
        }
        if header[..i].contains(name) {
            return Err(problem(
                ProblemKind::Malformed,
                format!("header column `{name}` appears twice"),
            ));
        }
    }
    let mut records = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(malformed)?;
        if i as u64 >= max_rows {
            return Err(problem(
                ProblemKind::Cap,
                format!("the file has more than max_rows = {max_rows} records"),
            ));
        }
        let line = record.position().map_or(0, |p| p.line() as i64);
        records.push(Record {
            seq: i as i64 + 1,
            line,
            fields: record.iter().map(str::to_string).collect(),
        });
    }
    if records.is_empty() {
        return Err(problem(
            ProblemKind::Empty,
            "the file has a header but no record",
        ));
    }
    Ok(Parsed { header, records })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "number,symbol,name\n1,H,Hydrogen\n2,He,\"Helium, noble\"\n";

    #[test]
    fn a_table_parses_with_lines_and_quoted_fields() {
        let p = parse(SAMPLE, 10).expect("valid");
        assert_eq!(p.header, ["number", "symbol", "name"]);
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.records[1].fields[2], "Helium, noble");
        assert_eq!((p.records[0].line, p.records[1].line), (2, 3));
        assert_eq!(p.records[1].fields_json(), r#"["2","He","Helium, noble"]"#);
        // CRLF gives the same rows, hence the same digest.
        let crlf = SAMPLE.replace('\n', "\r\n");
        assert_eq!(
            parse(&crlf, 10).expect("crlf").rows_digest(),
            p.rows_digest()
        );
    }

    #[test]
    fn the_digest_changes_with_any_field_and_with_order() {
        let p = parse(SAMPLE, 10).expect("valid");
        let changed = parse(&SAMPLE.replace("Hydrogen", "Hydrogen "), 10).expect("valid");
        assert_ne!(changed.rows_digest(), p.rows_digest());
        let rows: Vec<(i64, String)> = p.records.iter().map(|r| (r.seq, r.sha256())).collect();
        let swapped = vec![(1, rows[1].1.clone()), (2, rows[0].1.clone())];
        assert_ne!(rows_digest(swapped), p.rows_digest());
        assert_eq!(rows_digest(rows), p.rows_digest());
    }

    #[test]
    fn malformed_tables_are_refused() {
        let ragged = parse("a,b\n1,2\n3\n", 10).unwrap_err();
        assert_eq!(ragged.kind, ProblemKind::Malformed);
        assert!(ragged.message.contains("line 3"), "{}", ragged.message);
        assert!(
            parse("a,a\n1,2\n", 10)
                .unwrap_err()
                .message
                .contains("twice")
        );
        assert!(
            parse("a,\n1,2\n", 10)
                .unwrap_err()
                .message
                .contains("no name")
        );
        assert_eq!(parse("a,b\n", 10).unwrap_err().kind, ProblemKind::Empty);
        assert_eq!(parse(SAMPLE, 1).unwrap_err().kind, ProblemKind::Cap);
    }

    #[test]
    fn pinning_refuses_bad_bytes_and_reports_the_file() {
        let p = pin(SAMPLE.as_bytes(), 1000).expect("pin");
        assert_eq!(p.sha256, sha256_hex(SAMPLE.as_bytes()));
        assert_eq!((p.bom, p.line_ending), (false, "lf"));
        let bom = [b"\xEF\xBB\xBF".as_slice(), SAMPLE.as_bytes()].concat();
        assert!(pin(&bom, 1000).expect("bom").bom);
        assert_eq!(pin(b"", 10).unwrap_err().kind, ProblemKind::Empty);
        let latin1 = pin(b"a,b\n1,\xE9\n", 100).unwrap_err();
        assert_eq!(latin1.kind, ProblemKind::Encoding);
        assert!(latin1.message.contains("offset 6"), "{}", latin1.message);
        let nul = pin(b"a,b\n1,\x002\n", 100).unwrap_err();
        assert!(nul.message.contains("U+0000"), "{}", nul.message);
        assert_eq!(
            pin(SAMPLE.as_bytes(), 5).unwrap_err().kind,
            ProblemKind::Cap
        );
    }
}
