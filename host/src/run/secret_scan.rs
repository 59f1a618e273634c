//! The secret policy at the boundary: everything a plugin emits is scanned
//! with `phasehost_policy::secrets`; findings are described by kind and
//! position, never by content.

use crate::runtime::state::OutboundScanner;
use phasehost_policy::secrets;

/// Refuses text that carries a secret-shaped value.
#[derive(Debug, Default, Clone, Copy)]
pub struct SecretScanner;

impl OutboundScanner for SecretScanner {
    fn scan(&self, text: &str) -> Result<(), String> {
        match secrets::scan_value(text) {
            None => Ok(()),
            Some(finding) => Err(finding.to_string()),
        }
    }

    fn scan_stream(&self, stream: &mut secrets::StreamScanner, chunk: &str) -> Result<(), String> {
        match stream.feed(chunk).into_iter().next() {
            None => Ok(()),
            Some(finding) => Err(finding.to_string()),
        }
    }
}

/// Check a phase's evidence: a secret-shaped value stops the run (Err with a
/// description free of the secret); secret-shaped keys are stripped, and the
/// stripped paths returned.
pub fn clean_evidence(
    evidence: serde_json::Value,
) -> Result<(serde_json::Value, Vec<String>), String> {
    if let Err(violation) = secrets::scan_json(&evidence)
        && matches!(violation, secrets::SecretViolation::Value { .. })
    {
        return Err(violation.to_string());
    }
    let (clean, stripped) = secrets::strip_secret_keys(evidence);
    Ok((clean, stripped))
}
