//! The plugin components, built by this crate's build script from
//! `plugins/`: one `<NAME>_COMPONENT` path constant per plugin.

include!(concat!(env!("OUT_DIR"), "/components.rs"));
