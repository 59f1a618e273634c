//! The iu-cut phase 8: one envelope (lineage record) per unit, deterministic ids.
//!
//! The logic is [`iu_phases::run_leg_b_record`]; this crate only binds it to the WIT
//! world `phase-plugin`. Built for `wasm32-unknown-unknown` and encoded as a
//! component, it imports only the capabilities that function calls. Natively
//! (`cargo test --workspace`) the crate is empty.

#[cfg(target_arch = "wasm32")]
wit_bindgen::generate!({ path: "../../wit", world: "phase-plugin" });

#[cfg(target_arch = "wasm32")]
iu_phases::phase_plugin!("leg_b_record", iu_phases::run_leg_b_record);
