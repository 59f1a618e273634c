//! The csv-rows gate component: the predicates of [`csv_rows::gates`]. It
//! imports nothing.

phasehost_sdk::gate_plugin!(csv_rows::gates::PREDICATES, csv_rows::gates::evaluate);
