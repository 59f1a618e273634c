//! The iu-cut phase 1: pin the source (raw and NFC-normalized sha256, counts) and look up known versions; writes nothing.
//!
//! The logic is [`iu_phases::run_source_pin`]; this crate only binds it to the WIT
//! world `phase-plugin`. Built for `wasm32-unknown-unknown` and encoded as a
//! component, it imports only the capabilities that function calls. Natively
//! (`cargo test --workspace`) the crate is empty.

#[cfg(target_arch = "wasm32")]
wit_bindgen::generate!({ path: "../../wit", world: "phase-plugin" });

#[cfg(target_arch = "wasm32")]
iu_phases::phase_plugin!("source_pin", iu_phases::run_source_pin);
