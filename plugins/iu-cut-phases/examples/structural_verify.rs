//! iu-cut phase 7: the 11 structural probes over the rows read back.
//!
//! The logic is [`iu_phases::run_structural_verify`]; this target only exports it as the
//! component `structural_verify.wasm`, declaring the gates plans/iu-cut.toml binds to the
//! phase. Natively the macro only type-checks.

phasehost_sdk::phase_plugin!(
    "structural_verify",
    iu_phases::run_structural_verify,
    gates_before = iu_phases::gates::before("structural_verify"),
    gates_after = iu_phases::gates::after("structural_verify"),
);
