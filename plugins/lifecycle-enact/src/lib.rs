//! The iu-cut phase 10: put the new version in force, retire the previous one (after SG_2).
//!
//! The logic is [`iu_phases::run_lifecycle_enact`]; this crate only binds it to the WIT
//! world `phase-plugin`. Built for `wasm32-unknown-unknown` and encoded as a
//! component, it imports only the capabilities that function calls. Natively
//! (`cargo test --workspace`) the crate is empty.

#[cfg(target_arch = "wasm32")]
wit_bindgen::generate!({ path: "../../wit", world: "phase-plugin" });

#[cfg(target_arch = "wasm32")]
iu_phases::phase_plugin!("lifecycle_enact", iu_phases::run_lifecycle_enact);
