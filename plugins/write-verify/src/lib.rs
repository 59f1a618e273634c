//! The iu-cut phase 9: re-read everything written, compare with the plan, verify digest.
//!
//! The logic is [`iu_phases::run_write_verify`]; this crate only binds it to the WIT
//! world `phase-plugin`. Built for `wasm32-unknown-unknown` and encoded as a
//! component, it imports only the capabilities that function calls. Natively
//! (`cargo test --workspace`) the crate is empty.

#[cfg(target_arch = "wasm32")]
wit_bindgen::generate!({ path: "../../wit", world: "phase-plugin" });

#[cfg(target_arch = "wasm32")]
iu_phases::phase_plugin!("write_verify", iu_phases::run_write_verify);
