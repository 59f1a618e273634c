//! The iu-cut schema of `docs/STORE.md` as a preset of the SDK's in-memory
//! store ([`phasehost_sdk::memory::MemoryStore`], which implements the store
//! contract: document scoping, idempotent insert, ordered select, grants).

use phasehost_sdk::memory::ColumnType::{Int, NullableText, Sha256, Text};
use phasehost_sdk::memory::TableDef;
pub use phasehost_sdk::memory::{Grants as PhaseGrants, MemoryStore};

/// `documents`: one row per document.
pub const DOCUMENTS: TableDef = TableDef {
    name: "documents",
    columns: &[
        ("document_id", Text),
        ("title", Text),
        ("first_seen_run", Text),
    ],
    primary_key: &["document_id"],
};

/// `source_versions`: one row per pinned version of a document.
pub const SOURCE_VERSIONS: TableDef = TableDef {
    name: "source_versions",
    columns: &[
        ("document_id", Text),
        ("version", Text),
        ("seq", Int),
        ("raw_sha256", Sha256),
        ("normalized_sha256", Sha256),
        ("raw_bytes", Int),
        ("normalized_bytes", Int),
        ("chars", Int),
        ("status", Text),
    ],
    primary_key: &["document_id", "version"],
};

/// `units`: the units of a version, selected in `seq` order.
pub const UNITS: TableDef = TableDef {
    name: "units",
    columns: &[
        ("document_id", Text),
        ("version", Text),
        ("eid", Text),
        ("parent_eid", NullableText),
        ("kind", Text),
        ("ordinal", Int),
        ("number", Text),
        ("heading", Text),
        ("text", Text),
        ("text_sha", Sha256),
        ("seq", Int),
        ("status", Text),
    ],
    primary_key: &["document_id", "version", "eid"],
};

/// `envelopes`: one provenance envelope per unit written.
pub const ENVELOPES: TableDef = TableDef {
    name: "envelopes",
    columns: &[
        ("envelope_id", Text),
        ("document_id", Text),
        ("version", Text),
        ("eid", Text),
        ("text_sha", Sha256),
        ("plan_digest", Sha256),
        ("source_sha256", Sha256),
    ],
    primary_key: &["document_id", "envelope_id"],
};

/// An empty iu-cut store for `document_id` with `source` as the pinned source.
pub fn iu_cut_store(document_id: &str, source: Vec<u8>) -> MemoryStore {
    MemoryStore::new()
        .table(DOCUMENTS)
        .table(SOURCE_VERSIONS)
        .table_ordered_by(UNITS, &["document_id", "version", "seq"])
        .table(ENVELOPES)
        .with_document(document_id)
        .with_source(source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CapError, Caps};

    fn doc_row(doc: &str, title: &str) -> String {
        format!(r#"{{"document_id":"{doc}","title":"{title}","first_seen_run":"r1"}}"#)
    }

    #[test]
    fn insert_is_idempotent_and_conflicts_on_a_different_row() {
        let mut s = iu_cut_store("d", vec![]);
        assert_eq!(s.insert("documents", &[doc_row("d", "T")]).unwrap(), 1);
        assert_eq!(s.insert("documents", &[doc_row("d", "T")]).unwrap(), 0);
        assert!(matches!(
            s.insert("documents", &[doc_row("d", "U")]),
            Err(CapError::Refused(_))
        ));
        assert!(matches!(
            s.insert("documents", &[doc_row("other", "T")]),
            Err(CapError::Refused(_))
        ));
        assert!(matches!(
            s.insert("documents", &[r#"{"title":"x"}"#.to_string()]),
            Err(CapError::Invalid(_))
        ));
    }

    #[test]
    fn calls_are_scoped_to_the_document() {
        let mut s = iu_cut_store("d", vec![]);
        s.insert("documents", &[doc_row("d", "T")]).unwrap();
        s.tables
            .get_mut("documents")
            .unwrap()
            .push(serde_json::from_str(&doc_row("e", "T")).unwrap());
        assert_eq!(s.count("documents", &[]).unwrap(), 1);
        assert_eq!(s.select("documents", &[]).unwrap().len(), 1);
        assert_eq!(s.delete("documents", &[]).unwrap(), 1);
        assert_eq!(s.rows("documents").len(), 1);
        assert!(matches!(
            s.count("documents", &[("nope", "x")]),
            Err(CapError::Invalid(_))
        ));
        assert!(matches!(s.count("nope", &[]), Err(CapError::NotFound(_))));
    }

    #[test]
    fn primary_keys_cannot_be_updated_and_grants_are_enforced() {
        let mut s = iu_cut_store("d", vec![]);
        s.insert("documents", &[doc_row("d", "T")]).unwrap();
        assert!(
            s.update("documents", &[], r#"{"document_id":"x"}"#)
                .is_err()
        );
        assert_eq!(s.update("documents", &[], r#"{"title":"U"}"#).unwrap(), 1);
        s.grants = Some(PhaseGrants::default());
        assert!(matches!(
            s.count("documents", &[]),
            Err(CapError::AccessDenied(_))
        ));
        assert!(s.read_source().is_err());
        assert_eq!(s.violations, ["store documents:r", "source"]);
    }
}
