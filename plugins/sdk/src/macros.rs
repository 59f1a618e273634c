//! The two export macros. Natively each expands to a type check of its
//! arguments only; on `wasm32` to the WIT export of the plugin.

/// Exports a phase: `describe` returns the phase name, the plugin crate's
/// version and the declared gates; `run` calls `$run` with the host's
/// capabilities.
///
/// ```
/// use phasehost_sdk::{Caps, Input, Level, Refusal};
///
/// fn run_hello<C: Caps>(input: &Input, caps: &mut C) -> Result<String, Refusal> {
///     caps.log(Level::Info, "hello");
///     Ok(format!(r#"{{"document":{:?}}}"#, input.document_id))
/// }
///
/// phasehost_sdk::phase_plugin!("hello", run_hello);
/// ```
///
/// `$run` must be a function generic over [`Caps`](crate::Caps), `fn<C:
/// Caps>(&Input, &mut C) -> Result<String, Refusal>`, so that the component
/// imports only the capabilities it calls. The gates that guard the phase go
/// into the descriptor, either list may be left out:
///
/// ```
/// # fn run_hello<C: phasehost_sdk::Caps>(_: &phasehost_sdk::Input, _: &mut C)
/// #     -> Result<String, phasehost_sdk::Refusal> { Ok("{}".into()) }
/// phasehost_sdk::phase_plugin!(
///     "hello",
///     run_hello,
///     gates_before = ["G-A"],
///     gates_after = ["G-B", "G-C"]
/// );
/// ```
///
/// Invoke it once per component, at the root of a `cdylib` crate (or of a
/// `cdylib` example target). Natively it expands to a type check of `$run`
/// and of the gate lists only, so the crate links and tests natively.
#[macro_export]
macro_rules! phase_plugin {
    ($phase:literal, $run:path $(,)?) => {
        $crate::phase_plugin!($phase, $run, gates_before = [], gates_after = []);
    };
    ($phase:literal, $run:path, gates_before = $before:expr $(,)?) => {
        $crate::phase_plugin!($phase, $run, gates_before = $before, gates_after = []);
    };
    ($phase:literal, $run:path, gates_after = $after:expr $(,)?) => {
        $crate::phase_plugin!($phase, $run, gates_before = [], gates_after = $after);
    };
    ($phase:literal, $run:path, gates_before = $before:expr, gates_after = $after:expr $(,)?) => {
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            #[allow(dead_code)]
            fn phasehost_type_check() {
                let _: $crate::PhaseFn<$crate::memory::MemoryStore> = $run;
                let _: &str = $phase;
                let _: &[&str] = &$before;
                let _: &[&str] = &$after;
            }
        };

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct PhasehostPhase;

            impl $crate::__private::PhaseGuest for PhasehostPhase {
                fn describe() -> $crate::__private::Descriptor {
                    $crate::__private::descriptor(
                        $phase,
                        env!("CARGO_PKG_VERSION"),
                        &$before,
                        &$after,
                    )
                }

                fn run(
                    input: $crate::__private::PhaseInput,
                ) -> ::core::result::Result<::std::string::String, $crate::__private::WitRefusal>
                {
                    $crate::__private::run_phase(input, $run)
                }
            }

            $crate::__private::phase_world::__phasehost_export_phase!(
                PhasehostPhase with_types_in $crate::__private::phase_world
            );
        };
    };
}

/// Exports a gate: `predicates` returns `$predicates` (a
/// `&[PredicateDecl]`), `evaluate` calls `$evaluate` (`fn(&str,
/// &EvidenceSet) -> Result<Verdict, String>`) through
/// [`checked_evaluate`](crate::checked_evaluate), so a name `$predicates`
/// does not declare is an error (fails closed) whatever `$evaluate` says.
///
/// ```
/// use phasehost_sdk::{Checkpoint, EvidenceSet, PredicateDecl, Verdict};
///
/// const PREDICATES: &[PredicateDecl] = &[PredicateDecl {
///     name: "G-HELLO-RAN",
///     description: "the hello phase reported its document",
///     phase: "hello",
///     checkpoint: Checkpoint::After,
/// }];
///
/// fn evaluate(name: &str, evidence: &EvidenceSet) -> Result<Verdict, String> {
///     match name {
///         "G-HELLO-RAN" => {
///             let doc = evidence.str_field("hello", "document")?;
///             Ok(Verdict { holds: !doc.is_empty(), detail: format!("document {doc}") })
///         }
///         _ => Err(format!("unknown predicate `{name}`")),
///     }
/// }
///
/// phasehost_sdk::gate_plugin!(PREDICATES, evaluate);
/// ```
///
/// A gate component imports nothing. Natively the macro expands to a type
/// check of its arguments only.
#[macro_export]
macro_rules! gate_plugin {
    ($predicates:expr, $evaluate:path $(,)?) => {
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            #[allow(dead_code)]
            fn phasehost_type_check() {
                let _: &[$crate::PredicateDecl] = $predicates;
                let _: fn(
                    &str,
                    &$crate::EvidenceSet,
                )
                    -> ::core::result::Result<$crate::Verdict, ::std::string::String> = $evaluate;
            }
        };

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct PhasehostGate;

            impl $crate::__private::GateGuest for PhasehostGate {
                fn predicates() -> ::std::vec::Vec<$crate::__private::WitPredicate> {
                    $crate::__private::predicates($predicates)
                }

                fn evaluate(
                    name: ::std::string::String,
                    evidence: ::std::vec::Vec<$crate::__private::WitEvidence>,
                ) -> ::core::result::Result<$crate::__private::WitVerdict, ::std::string::String>
                {
                    $crate::__private::evaluate($predicates, &name, &evidence, $evaluate)
                }
            }

            $crate::__private::gate_world::__phasehost_export_gate!(
                PhasehostGate with_types_in $crate::__private::gate_world
            );
        };
    };
}
