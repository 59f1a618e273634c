//! The iu-cut phase 4: back up the document's rows; DRYRUN marker in a dry run.
//!
//! The logic is [`iu_phases::run_pre_write_backup`]; this crate only binds it to the WIT
//! world `phase-plugin`. Built for `wasm32-unknown-unknown` and encoded as a
//! component, it imports only the capabilities that function calls. Natively
//! (`cargo test --workspace`) the crate is empty.

#[cfg(target_arch = "wasm32")]
wit_bindgen::generate!({ path: "../../wit", world: "phase-plugin" });

#[cfg(target_arch = "wasm32")]
iu_phases::phase_plugin!("pre_write_backup", iu_phases::run_pre_write_backup);
