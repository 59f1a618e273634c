//! The canonical encoding behind [`crate::StoreBackend::document_digest`] and
//! the runs-index hash chain.

use sha2::{Digest, Sha256};

use crate::schema::SqlValue;

/// Domain tag hashed first, so a digest of another kind never collides.
const DOCUMENT_DIGEST_TAG: &[u8] = b"phasehost-store/document-digest/v1";

/// Streams a document's rows into sha256 in the canonical encoding:
/// `lp(tag)`, then per table `b'T' lp(name)`, per row `b'R'` and per value
/// `0` (null) | `1 lp(utf8)` (text) | `2 i64-be` (integer), then `b'E'` after
/// the table's rows. `lp(x)` is x's length as u64 big-endian, then x.
pub struct DocumentDigest {
    hasher: Sha256,
}

impl DocumentDigest {
    /// A digest with the domain tag hashed.
    pub(crate) fn new() -> Self {
        let mut digest = Self {
            hasher: Sha256::new(),
        };
        digest.bytes(DOCUMENT_DIGEST_TAG);
        digest
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.hasher.update((bytes.len() as u64).to_be_bytes());
        self.hasher.update(bytes);
    }

    /// Starts a table's rows.
    pub(crate) fn table(&mut self, name: &str) {
        self.hasher.update(b"T");
        self.bytes(name.as_bytes());
    }

    /// One row, values in schema order.
    pub(crate) fn row(&mut self, values: &[SqlValue]) {
        self.begin_row();
        for value in values {
            match value {
                SqlValue::Null => self.null(),
                SqlValue::Text(s) => self.text(s),
                SqlValue::Int(i) => self.int(*i),
                SqlValue::Sha256(d) => self.sha256(d),
            }
        }
    }

    /// Starts a row; its values follow with [`Self::null`], [`Self::text`]
    /// and [`Self::int`] in schema order (a backend streaming borrowed
    /// column values, without building the row).
    pub(crate) fn begin_row(&mut self) {
        self.hasher.update(b"R");
    }

    /// A null value.
    pub(crate) fn null(&mut self) {
        self.hasher.update([0u8]);
    }

    /// A text value.
    pub(crate) fn text(&mut self, s: &str) {
        self.hasher.update([1u8]);
        self.bytes(s.as_bytes());
    }

    /// A digest column's value: hashed as its text (64 lowercase hex
    /// digits), as it was when such columns held text, so the encoding,
    /// and every digest recorded before, did not change.
    pub(crate) fn sha256(&mut self, digest: &[u8; 32]) {
        let hex_digits = SqlValue::hex_digits(digest);
        self.text(std::str::from_utf8(&hex_digits).expect("hex is ASCII"));
    }

    /// An integer value.
    pub(crate) fn int(&mut self, i: i64) {
        self.hasher.update([2u8]);
        self.hasher.update(i.to_be_bytes());
    }

    /// Ends a table's rows.
    pub(crate) fn end_table(&mut self) {
        self.hasher.update(b"E");
    }

    /// The digest, hex.
    pub(crate) fn finish(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

/// The runs-index chain: sha256(prev_hash bytes ‖ entry bytes), hex.
/// `prev_hash` is "" for the first entry, else 64 hex digits.
pub fn chain_hash(prev_hash: &str, entry: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(entry.as_bytes());
    hex::encode(hasher.finalize())
}

/// Checks stored index rows `(seq, entry, prev_hash, hash)` in seq order;
/// the count, or a conflict naming the first broken seq.
pub(crate) fn verify_chain(
    rows: impl IntoIterator<Item = (i64, String, String, String)>,
) -> Result<u64, crate::StoreError> {
    let mut expected_prev = String::new();
    let mut count = 0u64;
    for (seq, entry, prev_hash, hash) in rows {
        count += 1;
        let broken = |why: &str| {
            crate::StoreError::Conflict(format!("runs index broken at seq {seq}: {why}"))
        };
        if seq != count as i64 {
            return Err(broken(&format!("expected seq {count}")));
        }
        if prev_hash != expected_prev {
            return Err(broken("prev_hash is not the previous entry's hash"));
        }
        if chain_hash(&prev_hash, &entry) != hash {
            return Err(broken("hash does not match the entry"));
        }
        expected_prev = hash;
    }
    Ok(count)
}

/// Like [`verify_chain`] over `(seq, run_id, entry, prev_hash, hash)`,
/// reporting the first broken link as data.
pub(crate) fn check_chain(
    rows: impl IntoIterator<Item = (i64, String, String, String, String)>,
) -> crate::IndexCheck {
    let mut expected_prev = String::new();
    let mut entries = 0u64;
    let mut first_break = None;
    for (seq, run_id, entry, prev_hash, hash) in rows {
        entries += 1;
        if first_break.is_some() {
            continue;
        }
        let reason = if seq != entries as i64 {
            Some(format!("expected seq {entries}"))
        } else if prev_hash != expected_prev {
            Some("prev_hash is not the previous entry's hash".to_string())
        } else if chain_hash(&prev_hash, &entry) != hash {
            Some("hash does not match the entry".to_string())
        } else {
            None
        };
        match reason {
            Some(reason) => {
                first_break = Some(crate::IndexBreak {
                    seq,
                    run_id,
                    reason,
                })
            }
            None => expected_prev = hash,
        }
    }
    crate::IndexCheck {
        entries,
        first_break,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_unambiguous() {
        let digest = |rows: &[&[SqlValue]]| {
            let mut d = DocumentDigest::new();
            d.table("t");
            for r in rows {
                d.row(r);
            }
            d.end_table();
            d.finish()
        };
        let t = |s: &str| SqlValue::Text(s.into());
        assert_ne!(digest(&[&[t("ab"), t("c")]]), digest(&[&[t("a"), t("bc")]]));
        assert_ne!(digest(&[&[SqlValue::Null]]), digest(&[&[t("")]]));
        assert_ne!(digest(&[&[SqlValue::Int(1)]]), digest(&[&[t("1")]]));
        assert_ne!(
            digest(&[&[t("a")], &[t("b")]]),
            digest(&[&[t("a"), t("b")]])
        );
        assert_eq!(digest(&[&[t("a")]]), digest(&[&[t("a")]]));
    }

    #[test]
    fn streamed_values_digest_as_rows() {
        let mut rows = DocumentDigest::new();
        let mut streamed = DocumentDigest::new();
        rows.table("t");
        streamed.table("t");
        rows.row(&[
            SqlValue::Text("a".into()),
            SqlValue::Null,
            SqlValue::Int(-3),
        ]);
        streamed.begin_row();
        streamed.text("a");
        streamed.null();
        streamed.int(-3);
        rows.end_table();
        streamed.end_table();
        assert_eq!(rows.finish(), streamed.finish());
    }

    /// The encoding is persisted (checkpoints, a paused run's state): a
    /// change of it would make every recorded digest drift.
    #[test]
    fn encoding_is_stable() {
        let mut d = DocumentDigest::new();
        d.table("t");
        d.row(&[SqlValue::Text("a".into()), SqlValue::Null, SqlValue::Int(7)]);
        d.end_table();
        assert_eq!(
            d.finish(),
            "78112de856a62218d8a4c97503b53eaae965b8442e31955fd84574a1df691196"
        );
    }

    #[test]
    fn chain_verifies_and_names_the_break() {
        let h1 = chain_hash("", "{\"a\":1}");
        let h2 = chain_hash(&h1, "{\"b\":2}");
        let rows = vec![
            (1, "{\"a\":1}".to_string(), String::new(), h1.clone()),
            (2, "{\"b\":2}".to_string(), h1.clone(), h2.clone()),
        ];
        assert_eq!(verify_chain(rows.clone()).expect("intact"), 2);
        let mut tampered = rows;
        tampered[1].1 = "{\"b\":3}".into();
        let err = verify_chain(tampered).expect_err("broken");
        assert!(err.to_string().contains("seq 2"), "{err}");
    }
}
