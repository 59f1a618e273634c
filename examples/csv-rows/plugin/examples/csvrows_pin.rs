//! csv-rows phase `pin`: the logic is [`csv_rows::phases::run_pin`]; this target
//! only exports it as the component `csvrows_pin.wasm`.

phasehost_sdk::phase_plugin!("pin", csv_rows::phases::run_pin);
