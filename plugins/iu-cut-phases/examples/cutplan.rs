//! iu-cut phase 3: the cut plan (eIds, 100% coverage, plan digest).
//!
//! The logic is [`iu_phases::run_cutplan`]; this target only exports it as the
//! component `cutplan.wasm`, declaring the gates plans/iu-cut.toml binds to the
//! phase. Natively the macro only type-checks.

phasehost_sdk::phase_plugin!(
    "cutplan",
    iu_phases::run_cutplan,
    gates_before = iu_phases::gates::before("cutplan"),
    gates_after = iu_phases::gates::after("cutplan"),
);
