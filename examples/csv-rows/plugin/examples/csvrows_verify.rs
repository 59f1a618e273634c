//! csv-rows phase `verify`: the logic is [`csv_rows::phases::run_verify`]; this target
//! only exports it as the component `csvrows_verify.wasm`.

phasehost_sdk::phase_plugin!("verify", csv_rows::phases::run_verify);
