//! iu-cut phase `source_pin`: read the pinned source through the `source`
//! capability, hash the raw bytes, NFC-normalize, hash the normalized text,
//! count bytes and chars. Refuses an empty or non-UTF-8 source.

wit_bindgen::generate!({ path: "../../wit", world: "phase-plugin" });

use exports::phasehost::plugin::phase::{Descriptor, Guest, PhaseInput, Refusal, RefusalKind};
use iu_core::source::{SourceError, pin};
use phasehost::plugin::{log, source};
use serde_json::json;

struct SourcePin;

impl Guest for SourcePin {
    fn describe() -> Descriptor {
        Descriptor {
            name: "source_pin".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            gates_before: vec![],
            gates_after: vec!["G-SOURCE-SHA-PINNED".into(), "G-SOURCE-NONEMPTY".into()],
        }
    }

    fn run(input: PhaseInput) -> Result<String, Refusal> {
        let raw = source::read().map_err(|e| Refusal {
            kind: RefusalKind::CapabilityFailed,
            message: format!("cannot read the source: {e:?}"),
        })?;
        let pinned = pin(&raw).map_err(|e| {
            let kind = match e {
                SourceError::Empty | SourceError::OnlyWhitespace => RefusalKind::EmptyInput,
                SourceError::NotUtf8 { .. } => RefusalKind::BadEncoding,
            };
            Refusal {
                kind,
                message: format!("source of `{}` refused: {e}", input.document_id),
            }
        })?;
        log::emit(
            log::Level::Info,
            &format!(
                "pinned {} bytes ({} chars), NFC already: {}",
                pinned.raw_bytes, pinned.chars, pinned.was_nfc
            ),
        );
        Ok(json!({
            "document_id": input.document_id,
            "version": input.version,
            "raw_sha256": pinned.raw_sha256,
            "normalized_sha256": pinned.normalized_sha256,
            "raw_bytes": pinned.raw_bytes,
            "normalized_bytes": pinned.normalized_bytes,
            "chars": pinned.chars,
            "was_nfc": pinned.was_nfc,
        })
        .to_string())
    }
}

export!(SourcePin);
