//! The JSON export (`phasehost-export/v1`): the [`Export`] as one object,
//! with a `format` field first; and the reader that parses it back.

use super::{Export, check_units};
use crate::stop::{Stop, StopCode};
use serde::{Deserialize, Serialize};

/// The value of the `format` field.
pub const FORMAT: &str = "phasehost-export/v1";

use super::{Frbr, Unit};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    format: String,
    document_id: String,
    version: String,
    title: String,
    frbr: Frbr,
    units: Vec<Unit>,
}

/// Renders `export` as pretty-printed JSON (UTF-8, a final newline).
pub fn write(export: &Export) -> Result<Vec<u8>, Stop> {
    check_units(&export.units)?;
    let mut bytes = serde_json::to_vec_pretty(&Document {
        format: FORMAT.into(),
        document_id: export.document_id.clone(),
        version: export.version.clone(),
        title: export.title.clone(),
        frbr: export.frbr.clone(),
        units: export.units.clone(),
    })
    .map_err(|e| Stop::new(StopCode::Internal, format!("cannot write JSON: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Parses a JSON export back; every unit is checked as the store's rows
/// are (its `text_sha` against its text among them).
pub fn import(text: &str) -> Result<Export, Stop> {
    let bad = |m: String| {
        Stop::new(
            StopCode::ExportRefused,
            format!("not a phasehost JSON export: {m}"),
        )
    };
    let document: Document = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    if document.format != FORMAT {
        return Err(bad(format!(
            "format is {:?}, not {FORMAT}",
            document.format
        )));
    }
    check_units(&document.units)?;
    Ok(Export {
        document_id: document.document_id,
        version: document.version,
        title: document.title,
        frbr: document.frbr,
        units: document.units,
    })
}
