//! phasehost's integration tests: one binary, one module per area.

mod approvals;
mod batch;
mod checkpoints;
mod cli;
mod cli_json;
mod compile_cache;
mod corpus;
mod duties;
mod export;
mod fuzz_run_folder;
mod hostile_output;
mod iu_cut;
mod loading;
mod ops;
mod orchestrator;
mod pg;
mod plugins_native;
mod postgres_e2e;
mod report;
mod run_record;
mod safety;
mod sandbox;
mod source_pin;
mod support;
mod trust_boundaries;
mod workers;
