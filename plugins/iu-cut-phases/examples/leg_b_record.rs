//! iu-cut phase 8: one envelope (lineage record) per unit, deterministic ids.
//!
//! The logic is [`iu_phases::run_leg_b_record`]; this target only exports it as the
//! component `leg_b_record.wasm`, declaring the gates plans/iu-cut.toml binds to the
//! phase. Natively the macro only type-checks.

phasehost_sdk::phase_plugin!(
    "leg_b_record",
    iu_phases::run_leg_b_record,
    gates_before = iu_phases::gates::before("leg_b_record"),
    gates_after = iu_phases::gates::after("leg_b_record"),
);
