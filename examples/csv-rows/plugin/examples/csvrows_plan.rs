//! csv-rows phase `plan`: the logic is [`csv_rows::phases::run_plan`]; this target
//! only exports it as the component `csvrows_plan.wasm`.

phasehost_sdk::phase_plugin!("plan", csv_rows::phases::run_plan);
