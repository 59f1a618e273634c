//! iu-cut phase 11: audit the run's evidence, produce the runs-index entry.
//!
//! The logic is [`iu_phases::run_closeout`]; this target only exports it as the
//! component `closeout.wasm`, declaring the gates plans/iu-cut.toml binds to the
//! phase. Natively the macro only type-checks.

phasehost_sdk::phase_plugin!(
    "closeout",
    iu_phases::run_closeout,
    gates_before = iu_phases::gates::before("closeout"),
    gates_after = iu_phases::gates::after("closeout"),
);
