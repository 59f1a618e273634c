//! The iu-cut phase 5: audit the store role's grant matrix against what the plan needs.
//!
//! The logic is [`iu_phases::run_grant_probe`]; this crate only binds it to the WIT
//! world `phase-plugin`. Built for `wasm32-unknown-unknown` and encoded as a
//! component, it imports only the capabilities that function calls. Natively
//! (`cargo test --workspace`) the crate is empty.

#[cfg(target_arch = "wasm32")]
wit_bindgen::generate!({ path: "../../wit", world: "phase-plugin" });

#[cfg(target_arch = "wasm32")]
iu_phases::phase_plugin!("grant_probe", iu_phases::run_grant_probe);
