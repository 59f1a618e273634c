//! The batch lane: duplicate ids refused before anything runs; every
//! document pauses at its own gates; approving one approves no other.

use crate::iu_cut::IuCut;
use crate::support::corpus;
use phasehost::StopCode;
use phasehost::run::Outcome;
use phasehost::run::batch::{load_queue, run_batch};

pub fn queue(iu: &IuCut, sources: &[std::path::PathBuf]) -> std::path::PathBuf {
    let mut text = format!("plan = {:?}\n", iu.plan.display().to_string());
    for s in sources {
        text.push_str(&format!(
            "\n[[documents]]\nsource = {:?}\n",
            s.display().to_string()
        ));
    }
    let path = iu.dir.path().join("queue.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_duplicate_document_id_is_refused_and_nothing_runs() {
    let iu = IuCut::new(|_| {});
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join("hien-phap.txt");
    std::fs::copy(corpus("hien-phap.txt"), &copy).unwrap();
    let path = queue(
        &iu,
        &[corpus("hien-phap.txt"), corpus("luat-bao-chi.txt"), copy],
    );
    let err = load_queue(&path).unwrap_err();
    assert_eq!(err.code, StopCode::DuplicateDocument);
    assert!(
        err.message
            .contains("`hien-phap` appears twice (entries 1 and 3)"),
        "{err}"
    );
    let out = crate::support::phasehost_command()
        .args(["batch", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(StopCode::DuplicateDocument.exit_status())
    );
    assert!(!iu.dir.path().join("kb/runs").exists(), "nothing ran");
}

#[test]
fn each_document_waits_at_its_own_gate() {
    let iu = IuCut::new(|_| {});
    let path = queue(&iu, &[corpus("hien-phap.txt"), corpus("luat-bao-chi.txt")]);
    let items = run_batch(
        &load_queue(&path).unwrap(),
        true,
        Some(&iu.host_config),
        None,
        2,
        |_, _| {},
    );
    assert_eq!(items.len(), 2);
    for item in &items {
        assert!(
            matches!(
                &item.outcome,
                Outcome::Paused { gate, .. } if gate.as_str() == "sg1"
            ),
            "{item:?}"
        );
    }
    let (a, b) = (
        items[0].folder.clone().unwrap(),
        items[1].folder.clone().unwrap(),
    );
    crate::support::approve(&a, crate::support::sg1(), &iu.key, &iu.plan).unwrap();
    // b's approval is not a's: b still waits.
    assert!(matches!(
        crate::support::resume(&b, &iu.plan, &iu.host_config)
            .unwrap()
            .outcome,
        Outcome::Paused { gate, .. } if gate.as_str() == "sg1"
    ));
    assert!(matches!(
        crate::support::resume(&a, &iu.plan, &iu.host_config)
            .unwrap()
            .outcome,
        Outcome::Paused { gate, .. } if gate.as_str() == "sg2"
    ));
    // a's approval file copied into b's run folder is bound to a's run: refused.
    std::fs::copy(
        crate::support::approval_file(&a, "sg1", &iu.key),
        crate::support::approval_file(&b, "sg1", &iu.key),
    )
    .unwrap();
    let Outcome::Stopped(stop) = crate::support::resume(&b, &iu.plan, &iu.host_config)
        .unwrap()
        .outcome
    else {
        panic!()
    };
    assert_eq!(stop.code, StopCode::ApprovalMismatch);
}

#[test]
fn the_batch_command_prints_a_json_line_per_document() {
    let iu = IuCut::new(|_| {});
    let path = queue(
        &iu,
        &[
            corpus("hien-phap.txt"),
            corpus("luat-ban-hanh-van-ban-quy-pham-phap-luat.txt"),
        ],
    );
    let out = crate::support::phasehost_command()
        .args(["batch", path.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    // Documents run in parallel: a line is printed as each one finishes,
    // `index` is its place in the queue.
    lines.sort_by_key(|l| l["index"].as_u64());
    assert_eq!(lines[0]["index"], 1);
    assert_eq!(lines[0]["document_id"], "hien-phap");
    assert_eq!(lines[0]["outcome"]["status"], "paused");
    assert_eq!(lines[1]["outcome"]["code"], "empty-source");
    assert_eq!(out.status.code(), Some(StopCode::EmptySource.exit_status()));
}
