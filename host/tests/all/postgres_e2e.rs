//! The iu-cut pipeline on PostgreSQL: the same end-to-end routes as on
//! SQLite, the real grant probe against restricted roles, and the password
//! that never appears anywhere.

use crate::iu_cut::{EXACT, IuCut, evidence};
use crate::pg;
use phasehost::StopCode;
use phasehost::run::Outcome;

fn constitution() -> std::path::PathBuf {
    crate::support::corpus("hien-phap.txt")
}

#[test]
fn the_superuser_has_rights_the_plan_does_not_need_so_the_probe_stops() {
    let iu = IuCut::postgres(None, |_| {});
    let (_, outcome) = iu.run(&constitution(), true);
    let Outcome::Stopped(stop) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(stop.code, StopCode::GrantMismatch, "{stop}");
    assert!(stop.message.contains("units:d"), "{stop}");
    assert_eq!(iu.query("SELECT count(*) FROM units"), 0);
}

#[test]
fn the_constitution_goes_through_both_approvals_live_on_postgres() {
    let (iu, outcome, folder) = run_as_role("live", EXACT, true);
    assert_eq!(outcome, Outcome::Completed, "{outcome:?}");
    assert_eq!(
        iu.query("SELECT count(*) FROM units WHERE kind = 'article' AND status = 'in_force'"),
        120
    );
    let units = evidence(&folder, "cutplan")["units"].as_i64().unwrap();
    assert_eq!(iu.query("SELECT count(*) FROM envelopes"), units);
    assert_eq!(
        evidence(&folder, "grant_probe")["missing"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert!(
        crate::support::grep_tree(iu.dir.path(), pg::PASSWORD).is_empty(),
        "the password leaked"
    );
}

#[test]
fn a_dry_run_on_postgres_persists_nothing() {
    let (iu, outcome, _) = run_as_role("dry", EXACT, false);
    assert_eq!(outcome, Outcome::Completed, "{outcome:?}");
    assert_eq!(iu.query("SELECT count(*) FROM units"), 0);
    assert_eq!(iu.query("SELECT count(*) FROM documents"), 0);
}

/// A schema made by the superuser, then a run as `role` with `grants`.
fn run_as_role(label: &str, grants: &[&str], live: bool) -> (IuCut, Outcome, std::path::PathBuf) {
    run_as_role_with(label, grants, live, |_| {})
}

fn run_as_role_with(
    label: &str,
    grants: &[&str],
    live: bool,
    edit: impl FnOnce(&mut toml_edit::DocumentMut),
) -> (IuCut, Outcome, std::path::PathBuf) {
    let iu = IuCut::postgres_role(label, grants, edit);
    let (folder, outcome) = iu.run(&constitution(), live);
    (iu, outcome, folder)
}

#[test]
fn a_role_with_exactly_the_needed_rights_passes_the_grant_probe() {
    let (iu, outcome, folder) = run_as_role("exact", EXACT, true);
    assert_eq!(outcome, Outcome::Completed, "{outcome:?}");
    let probe = evidence(&folder, "grant_probe");
    assert!(probe["extra"].as_array().unwrap().is_empty(), "{probe}");
    assert_eq!(
        iu.query("SELECT count(*) FROM units WHERE kind = 'article'"),
        120
    );
}

#[test]
fn a_role_missing_insert_on_units_stops_before_any_write() {
    let mut grants = EXACT.to_vec();
    grants[2] = "SELECT, UPDATE ON units";
    let (iu, outcome, _) = run_as_role("noins", &grants, true);
    let Outcome::Stopped(stop) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(stop.code, StopCode::GrantMismatch, "{stop}");
    assert_eq!(stop.phase.as_deref(), Some("grant_probe"));
    assert_eq!(iu.query("SELECT count(*) FROM units"), 0);
    assert_eq!(iu.query("SELECT count(*) FROM documents"), 0);
}

#[test]
fn a_role_with_an_unneeded_delete_stops_unless_the_plan_allows_it() {
    let mut grants = EXACT.to_vec();
    grants[2] = "SELECT, INSERT, UPDATE, DELETE ON units";
    let (iu, outcome, _) = run_as_role("extra", &grants, true);
    let Outcome::Stopped(stop) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(stop.code, StopCode::GrantMismatch, "{stop}");
    assert_eq!(iu.query("SELECT count(*) FROM units"), 0);
}

#[test]
fn an_extra_right_the_plan_allows_passes_the_grant_probe() {
    let mut grants = EXACT.to_vec();
    grants[2] = "SELECT, INSERT, UPDATE, DELETE ON units";
    let (iu, outcome, folder) = run_as_role_with("allowed", &grants, true, |doc| {
        for table in doc["phases"].as_array_of_tables_mut().unwrap().iter_mut() {
            if table["name"].as_str() == Some("grant_probe") {
                let mut allow = toml_edit::Array::new();
                allow.push("units:d");
                table["config"]["allow_extra"] = toml_edit::value(allow);
            }
        }
    });
    assert_eq!(outcome, Outcome::Completed, "{outcome:?}");
    let probe = evidence(&folder, "grant_probe");
    assert_eq!(probe["extra"].as_array().unwrap().len(), 1, "{probe}");
    assert_eq!(
        iu.query("SELECT count(*) FROM units WHERE kind = 'article'"),
        120
    );
}
