//! Text a plugin wrote that the host shows to people (a refusal message,
//! a trap's message, a gate's error or verdict detail, a predicate's
//! description): cut to a bound first, then scanned, and withheld when it
//! is secret-shaped. It reaches `stop.json`, stderr and the evidence only
//! through here.

use super::budget::cut;

/// The longest plugin text shown.
pub const MAX_PLUGIN_TEXT: usize = 2048;

/// `text` cut to [`MAX_PLUGIN_TEXT`], or `Err(description)` (without the
/// secret) when what would be shown is secret-shaped.
pub fn shown(text: &str) -> Result<String, String> {
    let text = cut(text, MAX_PLUGIN_TEXT);
    match phasehost_policy::secrets::scan_value(text) {
        None => Ok(text.to_string()),
        Some(finding) => Err(finding.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_shaped_text_is_withheld_and_long_text_cut() {
        let token = ["gh", "p_", &"a1B2".repeat(9)].concat();
        let err = shown(&format!("failed with {token}")).unwrap_err();
        assert!(!err.contains(&token), "{err}");
        assert_eq!(shown(&"x".repeat(10_000)).unwrap().len(), MAX_PLUGIN_TEXT);
    }
}
