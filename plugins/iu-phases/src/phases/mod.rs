//! The 11 phase functions.

mod enact;
mod pin;
mod probe;
mod write;

pub use enact::{run_closeout, run_lifecycle_enact};
pub use pin::{run_cutplan, run_mark, run_source_pin};
pub use probe::{run_grant_probe, run_pre_write_backup};
pub use write::{run_cut_leg_a, run_leg_b_record, run_structural_verify, run_write_verify};
