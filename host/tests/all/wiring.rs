//! Gate wiring fails closed before anything runs: at `phasehost check` and
//! at the start of `phasehost run`, naming the plan line and a fix. And a
//! failed gate's verdicts are in the run folder file the stop names.

use crate::orchestrator::{PROBE_GRANTS, Pipeline, assert_paused, assert_stopped};
use crate::support::*;
use phasehost::StopCode;
use phasehost::run::Outcome;
use phasehost_test_artifacts::*;
use std::path::Path;

/// The 1-based line of the first line of `plan` equal to `text`.
fn line_of(plan: &Path, text: &str) -> usize {
    std::fs::read_to_string(plan)
        .unwrap()
        .lines()
        .position(|l| l.trim() == text)
        .unwrap_or_else(|| panic!("no line {text}"))
        + 1
}

/// `phasehost check` and `phasehost run` (dry) of the pipeline both refuse
/// with `plan-invalid` and every one of `needles`; `run` runs no phase.
fn refused_everywhere(p: &Pipeline, needles: &[&str]) {
    let plan = p.plan.path.to_str().unwrap();
    let (status, out) = phasehost_merged(&["check", plan]);
    assert_eq!(status, StopCode::PlanInvalid.exit_status(), "{out}");
    assert!(out.contains("REFUSED  gate wiring: plan-invalid"), "{out}");
    for needle in needles {
        assert!(out.contains(needle), "check: no {needle:?} in {out}");
    }
    let (status, out) = phasehost_merged(&["check", plan, "--json"]);
    assert_eq!(status, StopCode::PlanInvalid.exit_status(), "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["wiring"]["ok"], false, "{json}");
    assert_eq!(json["first_failure"], "plan-invalid", "{json}");

    let source = p.source.to_str().unwrap();
    let host = p.host_config.to_str().unwrap();
    let (status, out) = phasehost_merged(&["run", plan, "--source", source, "--host-config", host]);
    assert_eq!(status, StopCode::PlanInvalid.exit_status(), "{out}");
    for needle in needles {
        assert!(out.contains(needle), "run: no {needle:?} in {out}");
    }
    let (_, outcome) = p.start(false);
    let Outcome::Stopped(stop) = outcome else {
        panic!("expected a refusal, got {outcome:?}");
    };
    assert_eq!(stop.code, StopCode::PlanInvalid, "{stop}");
    let runs = p.kb().join("runs");
    for run in std::fs::read_dir(&runs).unwrap() {
        let evidence = run.unwrap().path().join("evidence");
        let count = std::fs::read_dir(&evidence).map_or(0, |d| d.count());
        assert_eq!(count, 0, "no phase ran: {}", evidence.display());
    }
}

/// `phasehost run` (dry) of `plan` on a one-line document refuses with
/// `plan-invalid`, saying `needle`.
fn dry_run_refused(plan: &TestPlan, needle: &str) {
    let source = plan.dir.path().join("doc.txt");
    std::fs::write(&source, "Điều 1. Một văn bản thử.\n").unwrap();
    let (status, out) = phasehost_merged(&[
        "run",
        plan.path.to_str().unwrap(),
        "--source",
        source.to_str().unwrap(),
    ]);
    assert_eq!(status, StopCode::PlanInvalid.exit_status(), "{out}");
    assert!(out.contains(needle), "no {needle:?} in {out}");
}

fn with_gates_before(p: &Pipeline, phase: &str, key: &str, names: &str) {
    p.plan.rewrite(|t| {
        t.replace(
            &format!("name = \"{phase}\"\n"),
            &format!("name = \"{phase}\"\n{key} = [{names}]\n"),
        )
    });
}

#[test]
fn a_good_pipeline_passes_check() {
    let p = Pipeline::new();
    let (status, out) = phasehost_merged(&["check", p.plan.path.to_str().unwrap()]);
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("its gate wiring holds"), "{out}");
}

#[test]
fn a_plan_predicate_no_gate_plugin_implements_is_refused_before_anything_runs() {
    for key in ["gates_before", "gates_after"] {
        let p = Pipeline::new();
        with_gates_before(&p, "beta", key, "\"T-NOBODY\"");
        let line = line_of(&p.plan.path, "name = \"beta\"") - 1;
        refused_everywhere(
            &p,
            &[
                "phase `beta` (",
                &format!("plan.toml line {line}) {key} names predicate `T-NOBODY`"),
                "which no gate plugin of the plan implements",
                "remove it from",
            ],
        );
    }
}

#[test]
fn a_plan_predicate_at_another_checkpoint_or_phase_than_its_plugin_declares_is_refused() {
    // T-HOLDS is declared after alpha.
    for (phase, key) in [("alpha", "gates_before"), ("beta", "gates_after")] {
        let p = Pipeline::new();
        with_gates_before(&p, phase, key, "\"T-HOLDS\"");
        refused_everywhere(
            &p,
            &[
                &format!("phase `{phase}`"),
                &format!("{key} names predicate `T-HOLDS`"),
                "declares it for after `alpha`",
                "bind it where the plugin declares it",
            ],
        );
    }
    // Where the plugin declares it, naming it again is fine.
    let p = Pipeline::new();
    with_gates_before(&p, "alpha", "gates_after", "\"T-HOLDS\"");
    let (status, out) = phasehost_merged(&["check", p.plan.path.to_str().unwrap()]);
    assert_eq!(status, 0, "{out}");
}

#[test]
fn a_plugin_predicate_bound_to_a_phase_not_in_the_plan_is_refused_unless_allowed_by_name() {
    let p = Pipeline::new();
    // The test plans list the predicates they leave unbound; drop T-FAILS.
    p.plan
        .rewrite(|t| t.replace("allow_unbound = [\"T-FAILS\", ", "allow_unbound = ["));
    let line = line_of(&p.plan.path, "name = \"test-gates\"") - 1;
    refused_everywhere(
        &p,
        &[
            "gate plugin `test-gates` (",
            &format!("plan.toml line {line}) binds predicate `T-FAILS` to before phase `epsilon`"),
            "would never be evaluated",
            "allow_unbound = [\"T-FAILS\"]",
        ],
    );
    // An allow_unbound name the plugin does not have is refused too.
    let p = Pipeline::new();
    p.plan.rewrite(|t| {
        t.replace(
            "allow_unbound = [\"T-FAILS\", ",
            "allow_unbound = [\"T-TYPO\", \"T-FAILS\", ",
        )
    });
    refused_everywhere(
        &p,
        &["allow_unbound names `T-TYPO`", "not one of its predicates"],
    );
}

/// A pipeline whose phase `phase` is the test-declares component (its
/// descriptor declares T-HOLDS after it), with test-gates.
fn declaring(phase: &'static str) -> TestPlan {
    let defs = [
        PhaseDef::new(phase, TEST_DECLARES_COMPONENT),
        PhaseDef::new("omega", TEST_PROBE_COMPONENT)
            .grants(PROBE_GRANTS)
            .config("mode = \"echo\""),
    ];
    TestPlan::write(&[("test-gates", TEST_GATES_COMPONENT)], &defs, "")
}

#[test]
fn a_gate_a_phase_descriptor_declares_is_enforced_or_the_plan_is_refused() {
    // As `alpha`, T-HOLDS is bound after it by test-gates: the plan passes
    // and the predicate is evaluated.
    let plan = declaring("alpha");
    let (status, out) = phasehost_merged(&["check", plan.path.to_str().unwrap()]);
    assert_eq!(status, 0, "{out}");
    let dir = plan.dir.path();
    std::fs::write(dir.join("doc.txt"), "Điều 1. Một văn bản thử.\n").unwrap();
    let report = phasehost::run::start(&phasehost::run::StartRequest {
        plan: plan.path.clone(),
        source: dir.join("doc.txt"),
        live: false,
        host_config: None,
        as_key: None,
    })
    .unwrap();
    assert_eq!(report.outcome, Outcome::Completed);
    let alpha: serde_json::Value = serde_json::from_slice(
        &std::fs::read(report.folder.unwrap().join("evidence/01-alpha.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(alpha["gates_after"][0]["name"], "T-HOLDS", "{alpha}");

    // As `beta`, nothing binds T-HOLDS after it: refused before anything runs.
    let plan = declaring("beta");
    let line = line_of(&plan.path, "name = \"beta\"") - 1;
    let (status, out) = phasehost_merged(&["check", plan.path.to_str().unwrap()]);
    assert_eq!(status, StopCode::PlanInvalid.exit_status(), "{out}");
    for needle in [
        "the component of phase `beta` (".to_string(),
        format!("plan.toml line {line}) declares that predicate `T-HOLDS` must hold after it"),
        "would not be enforced".to_string(),
        "gates_after = [\"T-HOLDS\"]".to_string(),
    ] {
        assert!(out.contains(&needle), "no {needle:?} in {out}");
    }
    dry_run_refused(&plan, "would not be enforced");
}

/// The failed-gate document the stop names, read and checked.
fn failed_verdicts(folder: &Path, stop: &phasehost::Stop, document: &str) -> serde_json::Value {
    assert!(
        stop.message.contains(&format!(
            "(the verdicts are in {document} of the run folder)"
        )),
        "{stop}"
    );
    let path = folder.join(document);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("the failed gate's verdicts")).unwrap();
    assert_eq!(doc["holds"], false, "{doc}");
    assert_eq!(doc["failed"]["holds"], false, "{doc}");
    doc
}

#[test]
fn a_failed_after_gate_writes_its_verdict_where_the_stop_says() {
    let p = Pipeline::new();
    p.plan.rewrite(|t| t.replace("ok = true", "ok = false"));
    let (folder, outcome) = p.start(false);
    assert_paused(&outcome, sg1());
    p.approve(&folder, sg1());
    let stop = assert_stopped(&p.resume(&folder), StopCode::InvariantFailed, &folder);
    let doc = failed_verdicts(&folder, &stop, "evidence/03-beta.gates-after-failed.json");
    assert_eq!(doc["checkpoint"], "after");
    assert_eq!(doc["failed"]["name"], "T-FLAG", "{doc}");
    assert_eq!(doc["failed"]["detail"], "beta.ok", "{doc}");
    assert!(
        StopCode::InvariantFailed
            .hint()
            .contains("gates-<checkpoint>-failed.json")
    );
}

#[test]
fn a_failed_before_gate_writes_its_verdict_where_the_stop_says() {
    let def = PhaseDef::new("epsilon", TEST_PROBE_COMPONENT)
        .grants(PROBE_GRANTS)
        .config("mode = \"echo\"");
    let p = Pipeline::with(&[def], "");
    let (folder, outcome) = p.start(false);
    assert_paused(&outcome, sg1());
    p.approve(&folder, sg1());
    let stop = assert_stopped(&p.resume(&folder), StopCode::InvariantFailed, &folder);
    let doc = failed_verdicts(
        &folder,
        &stop,
        "evidence/04-epsilon.gates-before-failed.json",
    );
    assert_eq!(doc["failed"]["name"], "T-FAILS", "{doc}");
    assert_eq!(doc["failed"]["detail"], "never", "{doc}");
    assert!(
        !folder.join("evidence/04-epsilon.json").exists(),
        "epsilon did not run"
    );
}

#[test]
fn a_component_whose_descriptor_names_another_phase_is_refused() {
    // source_pin's component says it is `source_pin`; run as `mark` it is
    // refused before anything runs.
    let plan = TestPlan::write(
        &[],
        &[PhaseDef::new("mark", SOURCE_PIN_COMPONENT).grants(SOURCE_PIN_GRANTS)],
        "",
    );
    let line = line_of(&plan.path, "name = \"mark\"") - 1;
    let (status, out) = phasehost_merged(&["check", plan.path.to_str().unwrap()]);
    assert_eq!(status, StopCode::PlanInvalid.exit_status(), "{out}");
    for needle in [
        format!("phase `mark` ({}", plan.path.display()),
        format!("line {line}) runs"),
        "whose descriptor says it is phase `source_pin`".to_string(),
        "point the phase at the component built for `mark`".to_string(),
    ] {
        assert!(out.contains(&needle), "no {needle:?} in {out}");
    }
    dry_run_refused(&plan, "whose descriptor says it is phase `source_pin`");
    // Under its own name, with the gate plugin that binds the predicates
    // its descriptor declares, it passes.
    let plan = source_pin_plan(SOURCE_PIN_GRANTS);
    let (status, out) = phasehost_merged(&["check", plan.path.to_str().unwrap()]);
    assert_eq!(status, 0, "{out}");
}
