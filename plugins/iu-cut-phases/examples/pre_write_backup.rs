//! iu-cut phase 4: back up the document's rows; DRYRUN marker in a dry run.
//!
//! The logic is [`iu_phases::run_pre_write_backup`]; this target only exports it as the
//! component `pre_write_backup.wasm`, declaring the gates plans/iu-cut.toml binds to the
//! phase. Natively the macro only type-checks.

phasehost_sdk::phase_plugin!(
    "pre_write_backup",
    iu_phases::run_pre_write_backup,
    gates_before = iu_phases::gates::before("pre_write_backup"),
    gates_after = iu_phases::gates::after("pre_write_backup"),
);
