//! Identifiers the host derives (never typed): run ids, document ids,
//! version labels.

use crate::digest::sha256_hex;
use crate::stop::{Stop, StopCode};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339 UTC time with milliseconds (`2026-12-02T14:13:28.123Z`) of the
/// host clock now (plugins never see it: their clocks are frozen).
pub fn rfc3339_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let stamp = utc_stamp(now.as_secs());
    format!(
        "{}-{}-{}T{}:{}:{}.{:03}Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15],
        now.subsec_millis()
    )
}

/// `YYYYMMDDTHHMMSSZ` for a Unix time.
pub fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A fresh run id: `<document>.<utc stamp>.<8 hex>`. The dots keep the id
/// from reading as one long high-entropy token to the secret scanner (run
/// ids travel in rows and evidence, which are scanned).
pub fn new_run_id(document_id: &str, plan_sha: &str, source_sha: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let salt =
        sha256_hex(format!("{plan_sha}|{source_sha}|{}|{nanos}", std::process::id()).as_bytes());
    format!("{document_id}.{}.{}", utc_stamp(now_secs()), &salt[..8])
}

/// Whether `id` is a document id: 1–120 ASCII letters, digits, '-', '_'
/// or '.', and not `.` or `..`.
pub fn is_document_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 120
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Whether `id` has the grammar of [`new_run_id`]:
/// `<document id>.<YYYYMMDDTHHMMSSZ>.<8 lowercase hex>`. Such an id is one
/// path component (no separator, never `.` or `..`), so it can name a
/// folder under the KB's `runs/` and nothing else.
pub fn is_run_id(id: &str) -> bool {
    let mut parts = id.rsplitn(3, '.');
    let (Some(salt), Some(stamp), Some(document)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let stamp_ok = stamp.len() == 16
        && stamp.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    stamp_ok && is_lower_hex(salt, 8) && is_document_id(document)
}

/// Whether `s` is exactly `len` lowercase hex characters (digests, key ids,
/// run-id salts).
pub fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `name` is a plain name (a phase or gate name): 1–64 ASCII
/// letters, digits, '-' or '_'.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// The document id: the source file's stem, which must be a plain name.
pub fn document_id(source: &Path) -> Result<String, Stop> {
    let stem = source
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if is_document_id(stem) {
        Ok(stem.to_string())
    } else {
        Err(Stop::new(
            StopCode::UnknownDocument,
            format!(
                "cannot derive a document id from {}: the file name must be ASCII letters, digits, '-', '_' or '.'",
                source.display()
            ),
        ))
    }
}

/// The version label of a source: `v-` and the first 16 hex of its raw sha256.
pub fn version_label(raw_sha256: &str) -> String {
    format!("v-{}", &raw_sha256[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_stamp(1_764_028_800), "20251125T000000Z");
    }

    #[test]
    fn run_ids_never_look_like_secrets() {
        use crate::runtime::state::OutboundScanner;
        let scanner = crate::run::SecretScanner;
        for doc in ["hien-phap", "luat-bao-chi", "bo-luat-to-tung-hinh-su"] {
            for i in 0..500 {
                let id = new_run_id(doc, &format!("plan{i}"), "source");
                let row = format!("{{\"document_id\":\"{doc}\",\"first_seen_run\":\"{id}\"}}");
                assert!(scanner.scan(&row).is_ok(), "{id}");
            }
        }
    }

    #[test]
    fn document_ids_come_from_plain_file_names() {
        assert_eq!(
            document_id(Path::new("/x/hien-phap.txt")).unwrap(),
            "hien-phap"
        );
        assert!(document_id(Path::new("/x/bad name.txt")).is_err());
        assert!(document_id(Path::new("/x/đ.txt")).is_err());
    }

    #[test]
    fn run_ids_have_one_grammar_that_never_names_a_path() {
        let id = new_run_id("hien-phap", "p", "s");
        assert!(is_run_id(&id), "{id}");
        for bad in [
            "",
            "..",
            "../../etc.20261202T000000Z.0123abcd",
            "a/b.20261202T000000Z.0123abcd",
            "hien-phap.20261202T000000Z.0123ABCD",
            "hien-phap.20261202X000000Z.0123abcd",
            "hien-phap.20261202T000000Z.0123abc",
            "..20261202T000000Z.0123abcd",
            "hien-phap.20261202T000000Z.0123abcd/..",
        ] {
            assert!(!is_run_id(bad), "{bad}");
        }
    }
}
