//! Generated bindings for the WIT worlds (private to the host).

/// The `phase-plugin` world: capability imports, `phase` export.
pub(crate) mod phase {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "phase-plugin",
        imports: { default: trappable },
    });
}

/// The `gate-plugin` world: no imports, `gate` export.
pub(crate) mod gate {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "gate-plugin",
    });
}
