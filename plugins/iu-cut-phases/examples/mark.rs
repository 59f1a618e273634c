//! iu-cut phase 2: structural regions of the pinned text under caps.
//!
//! The logic is [`iu_phases::run_mark`]; this target only exports it as the
//! component `mark.wasm`, declaring the gates plans/iu-cut.toml binds to the
//! phase. Natively the macro only type-checks.

phasehost_sdk::phase_plugin!(
    "mark",
    iu_phases::run_mark,
    gates_before = iu_phases::gates::before("mark"),
    gates_after = iu_phases::gates::after("mark"),
);
