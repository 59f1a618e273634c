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
    refuse_runtime_section(text, path)?;
    super::approval_gates::refuse_old_keys(text, path)?;
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
    plan.gate_lines = named_headers(text, "[[gates]]");
    plan.approval_lines = approval_lines(text);
    validate(&plan).map_err(|message| PlanError::Invalid {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(plan)
}

/// Plans used to name the compile-cache folder in `[runtime]`; it belongs to
/// the operator's host config now (compiled entries are native code the host
/// runs, so whoever writes a plan must not choose where they come from).
fn refuse_runtime_section(text: &str, path: &Path) -> Result<(), PlanError> {
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(()); // the schema parse reports the syntax error
    };
    if !table.contains_key("runtime") {
        return Ok(());
    }
    let line = text
        .lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches('[').trim_start();
            l.strip_prefix("runtime")
                .is_some_and(|rest| rest.trim_start().starts_with([']', '.', '=']))
        })
        .map(|i| format!(" (line {})", i + 1))
        .unwrap_or_default();
    Err(PlanError::Invalid {
        path: path.to_path_buf(),
        message: format!(
            "[runtime]{line} is no longer part of a plan: the compile-cache folder belongs to the operator's host config (`[runtime] cache_dir` there; default $XDG_CACHE_HOME/phasehost or ~/.cache/phasehost); remove the section from the plan"
        ),
    })
}

/// Every limit positive, and memory within the engine's slot.
fn check_limits(who: &str, limits: &super::Limits) -> Result<(), String> {
    let l = limits;
    let all_positive = [
        u64::from(l.memory_mib),
        l.deadline_ms,
        l.max_arg_bytes,
        l.max_call_bytes,
        l.max_call_rows,
        l.max_phase_bytes,
        l.max_evidence_bytes,
        l.max_log_lines,
        l.max_log_bytes,
    ]
    .iter()
    .all(|&v| v > 0);
    if !all_positive {
        return Err(format!("{who}: limits must be positive"));
    }
    if l.memory_mib > super::MAX_MEMORY_MIB {
        return Err(format!(
            "{who}: limits.memory_mib = {} is above the largest memory a plugin can have ({} MiB)",
            l.memory_mib,
            super::MAX_MEMORY_MIB
        ));
    }
    Ok(())
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
        check_limits(&format!("phase `{}`", phase.name), &phase.limits)?;
    }
    for gate in &plan.gates {
        check_limits(&format!("gate `{}`", gate.name), &gate.limits)?;
    }
    super::approval_gates::validate(plan)?;
    validate_tables(plan)?;
    if plan.store.sqlite.is_some() && plan.store.postgres.is_some() {
        return Err("[store] names both sqlite and postgres; pick one".into());
    }
    if let Some(pg) = &plan.store.postgres {
        validate_postgres(pg)?;
    }
    Ok(())
}

/// `[[tables]]` well formed (names, types, keys; no host or built-in
/// table's name), and every store grant naming a built-in or declared table.
fn validate_tables(plan: &Plan) -> Result<(), String> {
    let declared =
        phasehost_store::declared::tables(&plan.tables).map_err(|e| format!("[[tables]] {e}"))?;
    for phase in &plan.phases {
        for table in phase.grants.store.keys() {
            if phasehost_store::schema::lookup(&declared, table).is_err() {
                let shown: String = table.chars().take(64).collect();
                return Err(format!(
                    "phase `{}` is granted store table {shown:?}, which is neither a built-in table ({}) nor declared in [[tables]]",
                    phase.name,
                    phasehost_store::schema::PLUGIN_TABLES
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// `[store.postgres]`: no password in the URL, a `PHASEHOST_` password
/// variable, and a TLS mode the host allows (`disable` only for loopback).
fn validate_postgres(pg: &super::PostgresSpec) -> Result<(), String> {
    use phasehost_store::{SslMode, StoreError};
    let text = |e: StoreError| match e {
        StoreError::Invalid(text) => format!("[store.postgres] {text}"),
        other => format!("[store.postgres] {other}"),
    };
    if url_has_password(&pg.url) || phasehost_store::redact_url(&pg.url) != pg.url {
        return Err(
            "[store.postgres] url carries a password; put it in the environment variable named by password_env"
                .into(),
        );
    }
    if let Some(var) = &pg.password_env {
        phasehost_store::check_password_env(var).map_err(text)?;
    }
    let mode = phasehost_store::pg_sslmode(&pg.url, pg.sslmode).map_err(text)?;
    if mode == SslMode::Disable && pg.sslrootcert.is_some() {
        return Err(
            "[store.postgres] sslrootcert is only used over TLS: set sslmode = \"require\" or \"verify-full\", or remove sslrootcert"
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

/// The lines of `[approvals]` (key `approvals`) and of each
/// `[[approvals.gates]]` header (keyed by the gate name that follows it).
fn approval_lines(text: &str) -> BTreeMap<String, usize> {
    let mut lines = named_headers(text, "[[approvals.gates]]");
    if let Some(index) = text.lines().position(|l| l.trim() == "[approvals]") {
        lines.insert("approvals".to_string(), index + 1);
    }
    lines
}

/// The line of each `[[phases]]` header, keyed by the phase name that follows it.
fn phase_lines(text: &str) -> BTreeMap<String, usize> {
    named_headers(text, "[[phases]]")
}

/// The line of each `header` (an array-of-tables header), keyed by the
/// `name = "…"` that follows it.
fn named_headers(text: &str, header: &str) -> BTreeMap<String, usize> {
    let mut lines = BTreeMap::new();
    let mut header_line = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            header_line = None;
        }
        if trimmed == header {
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
        let param =
            format!("{GOOD}\n[store.postgres]\nurl = \"postgres://u@h/db?password=hunter2\"\n");
        let err = parse_plan(&param, Path::new("p.toml")).unwrap_err();
        assert!(err.to_string().contains("carries a password"), "{err}");
        assert!(!err.to_string().contains("hunter2"));
    }

    /// A plan with `[store.postgres]` holding `lines`.
    fn pg_plan(lines: &str) -> Result<Plan, PlanError> {
        parse_plan(
            &format!("{GOOD}\n[store.postgres]\n{lines}\n"),
            Path::new("/p/plan.toml"),
        )
    }

    /// The message of a plan-invalid error (any other error fails the test).
    fn invalid(result: Result<Plan, PlanError>) -> String {
        match result {
            Err(PlanError::Invalid { message, .. }) => message,
            Err(other) => panic!("expected plan-invalid, got {other}"),
            Ok(_) => panic!("expected plan-invalid, the plan loaded"),
        }
    }

    #[test]
    fn the_password_variable_must_be_a_phasehost_one() {
        let message = invalid(pg_plan(
            "url = \"postgres://u@db.example.com/db\"\npassword_env = \"AWS_SECRET_ACCESS_KEY\"",
        ));
        assert!(message.contains("AWS_SECRET_ACCESS_KEY"), "{message}");
        assert!(message.contains("PHASEHOST_[A-Z0-9_]+"), "{message}");
        for var in ["PATH", "HOME", "PHASEHOST_", "PHASEHOST_pw"] {
            let message = invalid(pg_plan(&format!(
                "url = \"postgres://u@127.0.0.1/db\"\npassword_env = \"{var}\""
            )));
            assert!(message.contains("PHASEHOST_[A-Z0-9_]+"), "{var}: {message}");
        }
        let plan = pg_plan(
            "url = \"postgres://u@db.example.com/db\"\npassword_env = \"PHASEHOST_PG_PASSWORD\"",
        )
        .expect("a PHASEHOST_ variable is allowed");
        let pg = plan.store.postgres.expect("postgres");
        assert_eq!(pg.password_env.as_deref(), Some("PHASEHOST_PG_PASSWORD"));
        assert_eq!(pg.sslmode, None);
    }

    const ROWS: &str = r#"
[[tables]]
name = "rows"
columns = [ { name = "seq", type = "int" }, { name = "note", type = "text", nullable = true } ]
primary_key = ["seq"]
"#;

    #[test]
    fn a_declared_table_can_be_granted() {
        let text = format!("{}{ROWS}", GOOD.replace("units = \"ri\"", "rows = \"ri\""));
        let plan = parse_plan(&text, Path::new("p.toml")).expect("declared and granted");
        assert_eq!(plan.tables[0].name, "rows");
        assert!(plan.phases[0].grants.store["rows"].insert);
    }

    #[test]
    fn a_grant_of_an_undeclared_or_host_table_is_refused() {
        for table in [
            "rows",
            "runs",
            "runs_index",
            "queue",
            "schema_version",
            "\\\"; DROP TABLE units; --",
        ] {
            let text = GOOD.replace("units = \"ri\"", &format!("\"{table}\" = \"ri\""));
            let message = invalid(parse_plan(&text, Path::new("p.toml")));
            assert!(
                message.contains("nor declared in [[tables]]"),
                "{table}: {message}"
            );
        }
    }

    #[test]
    fn hostile_table_declarations_are_refused() {
        for (from, to, want) in [
            (
                "name = \"rows\"",
                "name = \"rows\\\"; DROP TABLE units; --\"",
                "must match",
            ),
            ("name = \"rows\"", "name = \"units\"", "pick another"),
            ("name = \"rows\"", "name = \"runs_index\"", "pick another"),
            ("name = \"rows\"", "name = \"rôws\"", "must match"),
            (
                "name = \"note\"",
                "name = \"document_id\"",
                "added by the host",
            ),
            (
                "primary_key = [\"seq\"]",
                "primary_key = [\"note\"]",
                "cannot be nullable",
            ),
            ("type = \"int\"", "type = \"real\"", "unknown variant"),
        ] {
            let text = format!("{GOOD}{}", ROWS.replace(from, to));
            let err = parse_plan(&text, Path::new("p.toml")).expect_err(to);
            assert!(err.to_string().contains(want), "{to}: {err}");
        }
    }

    #[test]
    fn sslmode_disable_is_only_for_loopback_hosts() {
        for url in [
            "postgres://u@db.example.com/db",
            "postgres://u@10.1.2.3:5432/db",
            "host=localhost,db.example.com user=u",
        ] {
            let message = invalid(pg_plan(&format!("url = \"{url}\"\nsslmode = \"disable\"")));
            assert!(
                message.contains("only allowed for a loopback host"),
                "{message}"
            );
            assert!(message.contains("verify-full"), "{message}");
        }
        for url in [
            "postgres://u@127.0.0.1:5432/db",
            "postgres://u@localhost/db",
            "postgres://u@[::1]/db",
            "host=/run/postgresql user=u",
        ] {
            pg_plan(&format!("url = \"{url}\"\nsslmode = \"disable\"")).expect(url);
        }
        // TLS modes are fine anywhere; the values are libpq's names.
        let plan = pg_plan(
            "url = \"postgres://u@db.example.com/db\"\nsslmode = \"verify-full\"\nsslrootcert = \"certs/root.pem\"",
        )
        .expect("verify-full");
        let pg = plan.store.postgres.as_ref().expect("postgres");
        assert_eq!(pg.sslmode, Some(crate::plan::SslMode::VerifyFull));
        assert_eq!(
            plan.resolve(pg.sslrootcert.as_deref().expect("sslrootcert")),
            Path::new("/p/certs/root.pem")
        );
        pg_plan("url = \"postgres://u@db.example.com/db\"\nsslmode = \"require\"")
            .expect("require");
        let err =
            pg_plan("url = \"postgres://u@db.example.com/db\"\nsslmode = \"prefer\"").unwrap_err();
        assert!(matches!(err, PlanError::Syntax { .. }), "{err}");
        // The URL cannot set the mode behind the plan's back.
        let message = invalid(pg_plan(
            "url = \"postgres://u@127.0.0.1/db?sslmode=require\"",
        ));
        assert!(message.contains("sets sslmode"), "{message}");
        let message = invalid(pg_plan(
            "url = \"postgres://u@127.0.0.1/db\"\nsslrootcert = \"root.pem\"",
        ));
        assert!(
            message.contains("sslrootcert is only used over TLS"),
            "{message}"
        );
    }
}
