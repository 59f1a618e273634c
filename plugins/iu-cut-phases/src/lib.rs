//! The 11 iu-cut phase components, one `cdylib` example target per phase
//! (`examples/<phase>.rs`), built by `build-plugins` with `--examples` into
//! `target/plugins/<phase>.wasm`.
//!
//! Each target is one [`phasehost_sdk::phase_plugin!`] over the phase's
//! function in `iu_phases`, declaring the gates `plans/iu-cut.toml` binds to
//! the phase (`iu_phases::gates`). Separate targets keep each component's
//! imports exact: after LTO a component imports only what its own phase
//! calls. This library itself is empty.
#![forbid(unsafe_code)]
