//! The export macros compile natively (to a type check only), in every
//! form the API documents, and the gate dispatch fails closed.

use phasehost_sdk::memory::MemoryStore;
use phasehost_sdk::{
    Caps, Checkpoint, EvidenceSet, Input, Level, PredicateDecl, Refusal, RefusalKind, Verdict,
    checked_evaluate,
};

fn run_echo<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
    caps.log(Level::Info, "echo");
    if input.document_id.is_empty() {
        return Err(Refusal::new(RefusalKind::EmptyInput, "no document"));
    }
    Ok(format!(r#"{{"document":{:?}}}"#, input.document_id))
}

mod plain {
    phasehost_sdk::phase_plugin!("echo", super::run_echo);
}
mod with_both_lists {
    phasehost_sdk::phase_plugin!(
        "echo",
        super::run_echo,
        gates_before = ["G-A"],
        gates_after = ["G-B", "G-C"]
    );
}
mod with_one_list {
    const AFTER: &[&str] = &["G-B"];
    phasehost_sdk::phase_plugin!("echo", super::run_echo, gates_after = AFTER);
}
mod with_before_only {
    phasehost_sdk::phase_plugin!("echo", super::run_echo, gates_before = [],);
}

const PREDICATES: &[PredicateDecl] = &[
    PredicateDecl {
        name: "G-ECHO",
        description: "echo reported a document",
        phase: "echo",
        checkpoint: Checkpoint::After,
    },
    PredicateDecl {
        name: "G-TWICE",
        description: "declared twice by mistake",
        phase: "echo",
        checkpoint: Checkpoint::Before,
    },
    PredicateDecl {
        name: "G-TWICE",
        description: "declared twice by mistake",
        phase: "echo",
        checkpoint: Checkpoint::After,
    },
];

/// A sloppy evaluate function: it answers every name with "holds".
fn evaluate(name: &str, evidence: &EvidenceSet) -> Result<Verdict, String> {
    Ok(Verdict {
        holds: true,
        detail: format!("{name}: {} phase(s)", evidence.phases().count()),
    })
}

phasehost_sdk::gate_plugin!(PREDICATES, evaluate);

#[test]
fn the_phase_function_the_macro_takes_runs_natively() {
    let mut store = MemoryStore::new();
    let input = Input {
        document_id: "d".into(),
        ..Input::default()
    };
    assert_eq!(run_echo(&input, &mut store).unwrap(), r#"{"document":"d"}"#);
    assert_eq!(store.logs.len(), 1);
    let err = run_echo(&Input::default(), &mut store).unwrap_err();
    assert_eq!(err.kind, RefusalKind::EmptyInput);
}

#[test]
fn a_declared_predicate_is_evaluated() {
    let v = checked_evaluate(PREDICATES, "G-ECHO", [("echo", "{}")], evaluate).unwrap();
    assert!(v.holds);
    assert_eq!(v.detail, "G-ECHO: 1 phase(s)");
}

#[test]
fn an_unknown_predicate_fails_closed_even_if_the_gate_would_answer() {
    let err = checked_evaluate(PREDICATES, "G-NOPE", [], evaluate).unwrap_err();
    assert_eq!(err, "unknown predicate `G-NOPE`");
}

#[test]
fn a_predicate_declared_twice_fails_closed() {
    let err = checked_evaluate(PREDICATES, "G-TWICE", [], evaluate).unwrap_err();
    assert!(err.contains("declared 2 times"), "{err}");
}

#[test]
fn evidence_that_is_not_json_fails_closed() {
    let err = checked_evaluate(PREDICATES, "G-ECHO", [("echo", "{")], evaluate).unwrap_err();
    assert!(
        err.contains("evidence of phase `echo` is not JSON"),
        "{err}"
    );
}
