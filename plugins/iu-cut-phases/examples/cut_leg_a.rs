//! iu-cut phase 6: write documents, source_versions and units in batches (after SG_1).
//!
//! The logic is [`iu_phases::run_cut_leg_a`]; this target only exports it as the
//! component `cut_leg_a.wasm`, declaring the gates plans/iu-cut.toml binds to the
//! phase. Natively the macro only type-checks.

phasehost_sdk::phase_plugin!(
    "cut_leg_a",
    iu_phases::run_cut_leg_a,
    gates_before = iu_phases::gates::before("cut_leg_a"),
    gates_after = iu_phases::gates::after("cut_leg_a"),
);
