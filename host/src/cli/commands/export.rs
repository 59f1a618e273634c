//! `phasehost export --plan <plan> --document <id> [--version v] --format
//! akn|json --out FILE`: one version of a document of the store as Akoma
//! Ntoso 3.0 XML or JSON (library: `crate::export`).

use crate::export::{self, ExportRequest};
use anyhow::Result;

pub(super) fn run(request: ExportRequest, json_output: bool) -> Result<i32> {
    let report = export::export(&request).map_err(anyhow::Error::new)?;
    if json_output {
        let mut value = serde_json::to_value(&report)?;
        value["outcome"] = "exported".into();
        crate::cli::json::print(&value)?;
        return Ok(0);
    }
    println!(
        "exported {} version {} ({} units) as {} to {}\n  expression {}\n  sha256 {} ({} bytes)",
        report.document_id,
        report.version,
        report.units,
        report.format,
        report.out.display(),
        report.expression,
        report.sha256,
        report.bytes,
    );
    Ok(0)
}
