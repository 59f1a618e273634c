//! iu-cut phase 1: pin the source (raw and NFC-normalized sha256, counts) and look up known versions; writes nothing.
//!
//! The logic is [`iu_phases::run_source_pin`]; this target only exports it as the
//! component `source_pin.wasm`, declaring the gates plans/iu-cut.toml binds to the
//! phase. Natively the macro only type-checks.

phasehost_sdk::phase_plugin!(
    "source_pin",
    iu_phases::run_source_pin,
    gates_before = iu_phases::gates::before("source_pin"),
    gates_after = iu_phases::gates::after("source_pin"),
);
