//! Encoding a core WebAssembly module as a component with `wit-component`
//! (no adapter): the module must carry the `component-type` custom
//! sections `wit_bindgen::generate!` embeds, which describe its world.
//! Shared by the plugin build (`build_all`) and `phasehost component` /
//! `phasehost build`.

use anyhow::{Result, bail};
use wasmparser::{Parser, Payload};

/// What a `.wasm` file holds, judged from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmKind {
    /// A core module (what rustc makes for `wasm32-unknown-unknown` or
    /// `wasm32-wasip1`).
    CoreModule,
    /// A component (what the host loads).
    Component,
    /// Neither.
    Other,
}

/// What `bytes` hold.
pub fn wasm_kind(bytes: &[u8]) -> WasmKind {
    if Parser::is_core_wasm(bytes) {
        WasmKind::CoreModule
    } else if Parser::is_component(bytes) {
        WasmKind::Component
    } else {
        WasmKind::Other
    }
}

/// Whether core module `bytes` carries a `component-type` custom section
/// (the world description `wit_bindgen::generate!` embeds).
pub fn has_component_type(bytes: &[u8]) -> Result<bool> {
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::CustomSection(reader) = payload?
            && reader.name().starts_with("component-type")
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Encode core module `bytes` as a component, validating the result. A file
/// that is already a component, is not wasm, or has no world description is
/// refused with what to do instead.
pub fn encode_component(bytes: &[u8]) -> Result<Vec<u8>> {
    match wasm_kind(bytes) {
        WasmKind::CoreModule => {}
        WasmKind::Component => {
            bail!("it is already a component: pin and load it as it is")
        }
        WasmKind::Other => bail!("it is not a WebAssembly file"),
    }
    if !has_component_type(bytes)? {
        bail!(
            "the module has no `component-type` custom section, so nothing says which world it \
             implements: build it from a crate that calls `wit_bindgen::generate!` (directly or \
             through phasehost-sdk's macros)"
        );
    }
    wit_component::ComponentEncoder::default()
        .module(bytes)
        .and_then(|e| e.validate(true).encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_without_a_world_is_refused() {
        // The smallest core module: magic and version.
        let empty = b"\0asm\x01\0\0\0";
        assert_eq!(wasm_kind(empty), WasmKind::CoreModule);
        let err = encode_component(empty).unwrap_err().to_string();
        assert!(err.contains("component-type"), "{err}");
        let err = encode_component(b"not wasm").unwrap_err().to_string();
        assert!(err.contains("not a WebAssembly file"), "{err}");
        let component = b"\0asm\x0d\0\x01\0";
        assert_eq!(wasm_kind(component), WasmKind::Component);
        let err = encode_component(component).unwrap_err().to_string();
        assert!(err.contains("already a component"), "{err}");
    }
}
