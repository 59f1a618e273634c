//! Generated bindings for the WIT worlds (private to the host).

/// The `phase-plugin` world: capability imports, `phase` export.
pub(crate) mod phase {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "phase-plugin",
        imports: { default: trappable },
        // Capability calls return `Result<T, CapFailure>`: a WIT `error`
        // goes back to the plugin as a value, anything else is a trap.
        trappable_error_type: {
            "phasehost:plugin/types.error" => crate::caps::CapFailure,
        },
    });
}

/// The `gate-plugin` world: no imports, `gate` export.
pub(crate) mod gate {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "gate-plugin",
    });
}
