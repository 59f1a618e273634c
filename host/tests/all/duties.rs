//! Approvals people can trust: who started the run, who approved, no
//! self-review, distinct approvers, quorum, and a review bound into the
//! signature. Each rule is shown refusing at `approve` (before anything is
//! written) and at the gate (an approval file put there by hand).

use crate::orchestrator::*;
use crate::support::{approval_file, approve};
use phasehost::StopCode;
use phasehost::run::state::{RunState, Status};
use phasehost::run::{self, Outcome, StartRequest};
use phasehost_policy::approval::{self, ApprovalStatement, Gate};
use std::path::Path;

const ANA: (&str, &str) = ("ana", "Ana Lê <ana@example.vn>");
const BINH: (&str, &str) = ("binh", "Bình Trần <binh@example.vn>");
const CHI: (&str, &str) = ("chi", "Chi Phạm <chi@example.vn>");

fn start_as(
    p: &Pipeline,
    key: Option<&Path>,
) -> Result<(std::path::PathBuf, Outcome), phasehost::Stop> {
    run::start(&StartRequest {
        plan: p.plan.path.clone(),
        source: p.source.clone(),
        live: false,
        host_config: Some(p.host_config.clone()),
        as_key: key.map(Path::to_path_buf),
    })
    .map(|r| (r.folder.unwrap(), r.outcome))
}

/// `phasehost approve` of `gate` by the team member `who`, with the plan.
fn approve_by(
    p: &Pipeline,
    folder: &Path,
    gate: Gate,
    who: &str,
) -> Result<phasehost::run::Approved, phasehost::Stop> {
    approve(folder, gate, &p.key_of(who), &p.plan.path)
}

fn paused(folder: &Path) -> (String, String) {
    let state = RunState::load(folder).unwrap();
    let Status::Paused {
        evidence_digest, ..
    } = state.status
    else {
        panic!("not paused: {:?}", state.status)
    };
    (state.run_id, evidence_digest)
}

/// Sign an approval with `key` (bypassing `approve`'s checks) and put it
/// where the run looks.
fn place_by_hand(folder: &Path, gate: Gate, key: &Path, review_sha256: Option<String>) {
    let (run_id, digest) = paused(folder);
    let signing = approval::load_signing_key(key).unwrap();
    let mut statement = ApprovalStatement::new(
        run_id,
        gate.clone(),
        digest,
        phasehost::run::ids::now_secs(),
        3600,
        signing.key_id(),
    );
    statement.review_sha256 = review_sha256;
    let signed = approval::sign(statement, signing.signing_key());
    approval::save_approval(&approval_file(folder, gate.as_str(), key), &signed).unwrap();
}

#[test]
fn a_plan_that_requires_a_signed_start_refuses_a_run_without_one() {
    let p = Pipeline::team(&[ANA, BINH], "require_signed_start = true");
    let err = start_as(&p, None).unwrap_err();
    assert_eq!(err.code, StopCode::StartUnsigned, "{err}");
    let stranger = p.dir().join("stranger");
    std::fs::create_dir_all(&stranger).unwrap();
    let paths = approval::write_key_files(&stranger, "x").unwrap();
    let err = start_as(&p, Some(&paths.signing_key)).unwrap_err();
    assert_eq!(err.code, StopCode::StartUnsigned, "{err}");
    let (folder, outcome) = start_as(&p, Some(&p.key_of("ana"))).unwrap();
    assert_paused(&outcome, crate::support::sg1());
    let status = run::status(&folder, Some(&p.plan.path)).unwrap();
    assert!(
        status.contains("started   signed by Ana Lê <ana@example.vn>"),
        "{status}"
    );
}

#[test]
fn whoever_started_the_run_may_not_approve_it() {
    let p = Pipeline::team(&[ANA, BINH], "require_signed_start = true");
    let (folder, _) = start_as(&p, Some(&p.key_of("ana"))).unwrap();
    let err = approve_by(&p, &folder, crate::support::sg1(), "ana").unwrap_err();
    assert_eq!(err.code, StopCode::ApprovalSelfReview, "{err}");
    assert!(err.message.contains("Ana Lê"), "{err}");
    assert!(
        err.message.contains("plan.toml line"),
        "names the plan line: {err}"
    );
    assert!(
        !approval_file(&folder, "sg1", &p.key_of("ana")).exists(),
        "nothing written"
    );
    // Put there by hand, it is refused at the gate.
    place_by_hand(&folder, crate::support::sg1(), &p.key_of("ana"), None);
    assert_stopped(&p.resume(&folder), StopCode::ApprovalSelfReview, &folder);
    // Someone else may.
    let p = Pipeline::team(&[ANA, BINH], "require_signed_start = true");
    let (folder, _) = start_as(&p, Some(&p.key_of("ana"))).unwrap();
    approve_by(&p, &folder, crate::support::sg1(), "binh").unwrap();
    assert_paused(&p.resume(&folder), crate::support::sg2());
}

#[test]
fn sg2_needs_someone_other_than_sg1s_approver_when_distinct() {
    let rules = "distinct_from = [\"sg1\"]";
    let p = Pipeline::team_gates(&[ANA, BINH], "", "", rules);
    let (folder, _) = start_as(&p, None).unwrap();
    approve_by(&p, &folder, crate::support::sg1(), "ana").unwrap();
    assert_paused(&p.resume(&folder), crate::support::sg2());
    let err = approve_by(&p, &folder, crate::support::sg2(), "ana").unwrap_err();
    assert_eq!(err.code, StopCode::ApprovalNotDistinct, "{err}");
    let line = std::fs::read_to_string(&p.plan.path)
        .unwrap()
        .lines()
        .position(|l| l.trim() == "name = \"sg2\"")
        .unwrap();
    assert!(
        err.message.contains(&format!("plan.toml line {line}")),
        "{err}"
    );
    place_by_hand(&folder, crate::support::sg2(), &p.key_of("ana"), None);
    assert_stopped(&p.resume(&folder), StopCode::ApprovalNotDistinct, &folder);

    let p = Pipeline::team_gates(&[ANA, BINH], "", "", rules);
    let (folder, _) = start_as(&p, None).unwrap();
    approve_by(&p, &folder, crate::support::sg1(), "ana").unwrap();
    assert_paused(&p.resume(&folder), crate::support::sg2());
    approve_by(&p, &folder, crate::support::sg2(), "binh").unwrap();
    assert_eq!(p.resume(&folder), Outcome::Completed);
}

#[test]
fn a_quorum_not_yet_met_keeps_the_run_paused_and_met_it_goes_on() {
    let p = Pipeline::team_gates(&[ANA, BINH, CHI], "", "quorum = 2", "");
    let (folder, _) = start_as(&p, None).unwrap();
    let first = approve_by(&p, &folder, crate::support::sg1(), "ana").unwrap();
    assert_eq!((first.approvals, first.quorum), (1, 2));
    assert_paused(&p.resume(&folder), crate::support::sg1());
    // The same approver twice does not count twice.
    let err = approve_by(&p, &folder, crate::support::sg1(), "ana").unwrap_err();
    assert_eq!(err.code, StopCode::ApprovalNotDistinct, "{err}");
    let second = approve_by(&p, &folder, crate::support::sg1(), "chi").unwrap();
    assert_eq!((second.approvals, second.quorum), (2, 2));
    assert_paused(&p.resume(&folder), crate::support::sg2());
    // Both are recorded, by name, in the pseudo-evidence later phases see.
    let omega_input = std::fs::read_to_string(folder.join("evidence/02-write1.json")).unwrap();
    assert!(
        omega_input.contains("Ana Lê") && omega_input.contains("Chi Phạm"),
        "{omega_input}"
    );
}

#[test]
fn a_quorum_larger_than_the_trusted_keys_is_refused_at_load() {
    let p = Pipeline::team_gates(&[ANA], "", "quorum = 3", "");
    let err = phasehost::plan::load_plan(&p.plan.path).unwrap_err();
    assert!(
        err.to_string().contains("quorum = 3 cannot be met"),
        "{err}"
    );
}

#[test]
fn an_approval_whose_signed_review_is_not_the_runs_review_is_refused() {
    let p = Pipeline::team(&[ANA], "");
    let (folder, _) = start_as(&p, None).unwrap();
    place_by_hand(
        &folder,
        crate::support::sg1(),
        &p.key_of("ana"),
        Some("0".repeat(64)),
    );
    let stop = assert_stopped(&p.resume(&folder), StopCode::ApprovalMismatch, &folder);
    assert!(stop.message.contains("review digest mismatch"), "{stop}");
}

#[test]
fn approve_writes_the_review_it_signs_and_review_shows_the_same() {
    let p = Pipeline::team(&[ANA], "");
    let (folder, _) = start_as(&p, None).unwrap();
    let shown = run::review(&folder, &p.plan.path, None).unwrap();
    assert!(
        shown.text.contains("approves: `alpha.digest`"),
        "{}",
        shown.text
    );
    let approved = approve_by(&p, &folder, crate::support::sg1(), "ana").unwrap();
    assert_eq!(
        approved.signer,
        format!(
            "{} (key {})",
            ANA.1,
            approval::load_signing_key(&p.key_of("ana"))
                .unwrap()
                .key_id()
        )
    );
    let signed = approval::load_approval(&approved.file).unwrap();
    assert_eq!(
        signed.statement.review_sha256.as_deref(),
        Some(shown.sha256.as_str())
    );
    assert_eq!(
        std::fs::read_to_string(&approved.review).unwrap(),
        shown.text
    );
    assert_paused(&p.resume(&folder), crate::support::sg2());
}

#[test]
fn keygen_records_the_holder_and_status_names_the_approvers() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::support::phasehost_command()
        .args(["keygen", "--name", "Dũng Võ <dung@example.vn>", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let public = approval::load_public_key(&dir.path().join("d-ng-v.pub")).unwrap();
    assert_eq!(public.holder(), Some("Dũng Võ <dung@example.vn>"));

    let p = Pipeline::team(&[ANA], "");
    let (folder, _) = start_as(&p, None).unwrap();
    approve_by(&p, &folder, crate::support::sg1(), "ana").unwrap();
    let status = run::status(&folder, Some(&p.plan.path)).unwrap();
    assert!(
        status.contains("approval sg1: signed by Ana Lê <ana@example.vn>"),
        "{status}"
    );
}

/// `batch --as` signs the start of every run it begins; without a key a
/// plan that requires a signed start refuses each document.
#[test]
fn a_batch_signs_every_start_with_the_operators_key() {
    use phasehost::run::batch::{load_queue, run_batch};
    let p = Pipeline::team(&[ANA], "require_signed_start = true");
    let second = p.dir().join("doc-2.txt");
    std::fs::copy(&p.source, &second).unwrap();
    let queue = p.dir().join("queue.toml");
    std::fs::write(
        &queue,
        format!(
            "plan = {:?}\n[[documents]]\nsource = {:?}\n[[documents]]\nsource = {:?}\n",
            p.plan.path.display().to_string(),
            p.source.display().to_string(),
            second.display().to_string()
        ),
    )
    .unwrap();
    let queue = load_queue(&queue).unwrap();
    let unsigned = run_batch(&queue, false, Some(&p.host_config), None, 2, |_, _| {});
    assert!(
        unsigned.iter().all(
            |i| matches!(&i.outcome, Outcome::Stopped(s) if s.code == StopCode::StartUnsigned)
        ),
        "{unsigned:?}"
    );
    let signed = run_batch(
        &queue,
        false,
        Some(&p.host_config),
        Some(&p.key_of("ana")),
        1,
        |_, _| {},
    );
    for item in &signed {
        assert_paused(&item.outcome, crate::support::sg1());
        let folder = item.folder.as_ref().unwrap();
        let start = approval::load_start_in(
            &phasehost_policy::safe_dir::SafeDir::open_trusted(folder).unwrap(),
            "start.json",
        )
        .unwrap();
        assert_eq!(
            start.statement.key_id,
            approval::load_signing_key(&p.key_of("ana"))
                .unwrap()
                .key_id()
        );
    }
}

/// A command builds the plan's trust store once: the keys its `--as` was
/// checked against are the keys its gates verify with. Here ana's public
/// key file is replaced by a stranger's after her start was signed (the
/// `on_created` hook); the run still knows her start at SG_1 and pauses
/// there. (When the runner read the key files a second time, its gate
/// refused the start the command had just accepted: `start-unsigned`.)
#[test]
fn a_start_checks_its_signer_and_its_gates_with_one_trust_store() {
    let p = Pipeline::team(&[ANA, BINH], "require_signed_start = true");
    let stranger = p.dir().join("stranger");
    std::fs::create_dir_all(&stranger).unwrap();
    let paths = approval::write_key_files(&stranger, "x").unwrap();
    let ana_pub = p.dir().join("keys").join("ana.pub");
    let mut swap = |_: &str| {
        std::fs::copy(&paths.public_key, &ana_pub).unwrap();
        Ok(())
    };
    let report = run::start_with(
        &StartRequest {
            plan: p.plan.path.clone(),
            source: p.source.clone(),
            live: false,
            host_config: Some(p.host_config.clone()),
            as_key: Some(p.key_of("ana")),
        },
        run::RunHooks {
            on_created: Some(&mut swap),
            ..Default::default()
        },
    )
    .unwrap();
    assert_paused(&report.outcome, crate::support::sg1());
}
