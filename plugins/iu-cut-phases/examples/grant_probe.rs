//! iu-cut phase 5: audit the store role's grant matrix against what the plan needs.
//!
//! The logic is [`iu_phases::run_grant_probe`]; this target only exports it as the
//! component `grant_probe.wasm`, declaring the gates plans/iu-cut.toml binds to the
//! phase. Natively the macro only type-checks.

phasehost_sdk::phase_plugin!(
    "grant_probe",
    iu_phases::run_grant_probe,
    gates_before = iu_phases::gates::before("grant_probe"),
    gates_after = iu_phases::gates::after("grant_probe"),
);
