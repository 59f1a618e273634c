//! csv-rows phase `load`: the logic is [`csv_rows::phases::run_load`]; this target
//! only exports it as the component `csvrows_load.wasm`.

phasehost_sdk::phase_plugin!("load", csv_rows::phases::run_load);
