//! phasehost's integration tests: one binary, one module per area.

mod cli;
mod loading;
mod sandbox;
mod source_pin;
mod support;
