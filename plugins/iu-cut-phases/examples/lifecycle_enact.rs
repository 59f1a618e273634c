//! iu-cut phase 10: put the new version in force, retire the previous one (after SG_2).
//!
//! The logic is [`iu_phases::run_lifecycle_enact`]; this target only exports it as the
//! component `lifecycle_enact.wasm`, declaring the gates plans/iu-cut.toml binds to the
//! phase. Natively the macro only type-checks.

phasehost_sdk::phase_plugin!(
    "lifecycle_enact",
    iu_phases::run_lifecycle_enact,
    gates_before = iu_phases::gates::before("lifecycle_enact"),
    gates_after = iu_phases::gates::after("lifecycle_enact"),
);
