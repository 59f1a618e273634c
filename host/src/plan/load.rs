//! Loading and validating a plan file, with file/line/column in every error.

use super::Plan;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Why a plan could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error("cannot read plan {path}: {source}")]
    Read {
        /// The plan file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or does not match the plan schema.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// The plan file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was expected.
        message: String,
    },
    /// The plan parses but is inconsistent.
    #[error("{path}: {message}")]
    Invalid {
        /// The plan file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Read and validate the plan at `path`.
pub fn load_plan(path: &Path) -> Result<Plan, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_plan(&text, path)
}

/// Parse and validate plan text; `path` is used for messages and relative paths.
pub fn parse_plan(text: &str, path: &Path) -> Result<Plan, PlanError> {
    let mut plan: Plan = toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_col(text, span.start))
            .unwrap_or((1, 1));
        PlanError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })?;
    plan.source_path = path.to_path_buf();
    plan.phase_lines = phase_lines(text);
    validate(&plan).map_err(|message| PlanError::Invalid {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(plan)
}

fn validate(plan: &Plan) -> Result<(), String> {
    if plan.phases.is_empty() {
        return Err("the plan has no [[phases]]".into());
    }
    let mut seen = HashSet::new();
    for phase in &plan.phases {
        if !seen.insert(phase.name.as_str()) {
            return Err(format!("phase `{}` appears twice", phase.name));
        }
        if phase.limits.memory_mib == 0 || phase.limits.deadline_ms == 0 {
            return Err(format!("phase `{}`: limits must be positive", phase.name));
        }
    }
    let position = |n: &str| plan.phases.iter().position(|p| p.name == n);
    for (label, before, digest) in [
        (
            "sg1",
            &plan.approvals.sg1_before,
            &plan.approvals.sg1_digest,
        ),
        (
            "sg2",
            &plan.approvals.sg2_before,
            &plan.approvals.sg2_digest,
        ),
    ] {
        let Some(name) = before else { continue };
        let Some(gate_at) = position(name) else {
            return Err(format!(
                "[approvals] {label}_before names phase `{name}`, which the plan does not have"
            ));
        };
        let Some((phase, field)) = digest.as_deref().and_then(|d| d.split_once('.')) else {
            return Err(format!(
                "[approvals] {label}_digest must name the evidence field the approval binds to, as \"phase.field\""
            ));
        };
        if field.is_empty() || position(phase).is_none_or(|at| at >= gate_at) {
            return Err(format!(
                "[approvals] {label}_digest names `{phase}.{field}`; it must be a field of a phase that runs before `{name}`"
            ));
        }
        if plan.approvals.trusted_keys.is_empty() {
            return Err(
                "[approvals] trusted_keys is empty, so no approval could ever be valid".into(),
            );
        }
    }
    if let (Some(a), Some(b)) = (&plan.approvals.sg1_before, &plan.approvals.sg2_before) {
        let pos = |n: &str| plan.phases.iter().position(|p| p.name == n);
        if pos(a) >= pos(b) {
            return Err("[approvals] sg1_before must come before sg2_before".into());
        }
    }
    if plan.store.sqlite.is_some() && plan.store.postgres.is_some() {
        return Err("[store] names both sqlite and postgres; pick one".into());
    }
    if let Some(pg) = &plan.store.postgres
        && url_has_password(&pg.url)
    {
        return Err(
            "[store.postgres] url carries a password; put it in the environment variable named by password_env"
                .into(),
        );
    }
    Ok(())
}

fn url_has_password(url: &str) -> bool {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// 1-based (line, column) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// The line of each `[[phases]]` header, keyed by the phase name that follows it.
fn phase_lines(text: &str) -> BTreeMap<String, usize> {
    let mut lines = BTreeMap::new();
    let mut header_line = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed == "[[phases]]" {
            header_line = Some(index + 1);
        } else if let Some(at) = header_line
            && let Some(value) = trimmed.strip_prefix("name")
            && let Some(value) = value.trim_start().strip_prefix('=')
        {
            let name = value.trim().trim_matches('"').to_string();
            lines.insert(name, at);
            header_line = None;
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[plan]
name = "t"
plugin_set = "test"

[[phases]]
name = "one"
component = "one.wasm"
sha256 = "00"
[phases.grants]
source = true
store = { units = "ri" }
"#;

    #[test]
    fn a_good_plan_loads_with_phase_lines() {
        let plan = parse_plan(GOOD, Path::new("/p/plan.toml")).unwrap();
        assert_eq!(plan.phases.len(), 1);
        assert_eq!(plan.phase_line("one"), Some(6));
        assert_eq!(
            plan.resolve(Path::new("one.wasm")),
            Path::new("/p/one.wasm")
        );
        assert!(plan.phases[0].grants.store["units"].insert);
    }

    #[test]
    fn malformed_toml_reports_file_and_line() {
        let bad = GOOD.replace("source = true", "source = tru");
        let err = parse_plan(&bad, Path::new("plan.toml")).unwrap_err();
        let PlanError::Syntax { line, .. } = &err else {
            panic!("expected a syntax error, got {err}")
        };
        assert_eq!(*line, 11);
        assert!(err.to_string().starts_with("plan.toml:11:"), "{err}");
    }

    #[test]
    fn unknown_field_is_refused_with_its_line() {
        let bad = GOOD.replace("sha256 = \"00\"", "sha256 = \"00\"\nmemory = 5");
        let err = parse_plan(&bad, Path::new("plan.toml")).unwrap_err();
        assert!(err.to_string().contains("plan.toml:10:"), "{err}");
        assert!(err.to_string().contains("unknown field `memory`"), "{err}");
    }

    #[test]
    fn bad_access_letters_are_refused() {
        let bad = GOOD.replace("\"ri\"", "\"rw\"");
        let err = parse_plan(&bad, Path::new("plan.toml")).unwrap_err();
        assert!(
            err.to_string().contains("unknown access letter `w`"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_phase_and_password_url_are_refused() {
        let dup = format!("{GOOD}\n[[phases]]\nname = \"one\"\ncomponent = \"x.wasm\"\n");
        let err = parse_plan(&dup, Path::new("p.toml")).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
        let pw = format!("{GOOD}\n[store.postgres]\nurl = \"postgres://u:hunter2@h/db\"\n");
        let err = parse_plan(&pw, Path::new("p.toml")).unwrap_err();
        assert!(err.to_string().contains("carries a password"), "{err}");
        assert!(!err.to_string().contains("hunter2"));
    }
}
