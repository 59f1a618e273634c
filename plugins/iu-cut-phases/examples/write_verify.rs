//! iu-cut phase 9: re-read everything written, compare with the plan, verify digest.
//!
//! The logic is [`iu_phases::run_write_verify`]; this target only exports it as the
//! component `write_verify.wasm`, declaring the gates plans/iu-cut.toml binds to the
//! phase. Natively the macro only type-checks.

phasehost_sdk::phase_plugin!(
    "write_verify",
    iu_phases::run_write_verify,
    gates_before = iu_phases::gates::before("write_verify"),
    gates_after = iu_phases::gates::after("write_verify"),
);
