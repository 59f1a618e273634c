//! What a component imports, classified against the grants: capabilities,
//! ambient WASI (linked deny-all), shared types, and anything unknown.

use crate::plan::{Capability, Grants, PACKAGE};
use serde::Serialize;
use std::fmt::Write as _;
use wasmtime::Engine;
use wasmtime::component::Component;

/// One import of a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum Import {
    /// A phasehost capability interface.
    Capability(Capability),
    /// `phasehost:plugin/types`: type definitions only, no functions.
    Types(String),
    /// A WASI interface; linked with nothing granted.
    Ambient(String),
    /// Something the host does not provide.
    Unknown(String),
}

/// Classify one import name.
pub fn classify(name: &str) -> Import {
    if let Some(rest) = name.strip_prefix(&format!("{PACKAGE}/")) {
        let interface = rest.split('@').next().unwrap_or(rest);
        let version_ok = super::wit_version::name_is_compatible(name);
        if version_ok {
            if interface == "types" {
                return Import::Types(name.to_string());
            }
            if let Some(cap) = Capability::ALL
                .into_iter()
                .find(|c| c.interface() == interface)
            {
                return Import::Capability(cap);
            }
        }
        return Import::Unknown(name.to_string());
    }
    if name.starts_with("wasi:") {
        return Import::Ambient(name.to_string());
    }
    Import::Unknown(name.to_string())
}

/// The imports and exports of a component, by name.
pub fn component_world(engine: &Engine, component: &Component) -> (Vec<Import>, Vec<String>) {
    let ty = component.component_type();
    let mut imports: Vec<Import> = ty.imports(engine).map(|(name, _)| classify(name)).collect();
    imports.sort_by_key(|i| match i {
        Import::Capability(c) => (0, *c as usize, String::new()),
        Import::Types(n) => (1, 0, n.clone()),
        Import::Ambient(n) => (2, 0, n.clone()),
        Import::Unknown(n) => (3, 0, n.clone()),
    });
    let mut exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    exports.sort();
    (imports, exports)
}

/// The difference between what a component imports and what it is granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GrantDiff {
    /// Capabilities imported but not granted: the load is refused.
    pub missing: Vec<Capability>,
    /// Capabilities granted but not imported: unused, worth removing.
    pub unused: Vec<Capability>,
    /// Imports the host does not know: the load is refused.
    pub unknown: Vec<String>,
    /// WASI interfaces imported: linked deny-all, listed for reviewers.
    pub ambient: Vec<String>,
}

impl GrantDiff {
    /// Compare `imports` with `grants`.
    pub fn compute(imports: &[Import], grants: &Grants) -> Self {
        let mut diff = GrantDiff::default();
        let mut imported = Vec::new();
        for import in imports {
            match import {
                Import::Capability(cap) => {
                    imported.push(*cap);
                    if !grants.allows_capability(*cap) {
                        diff.missing.push(*cap);
                    }
                }
                Import::Ambient(name) => diff.ambient.push(name.clone()),
                Import::Unknown(name) => diff.unknown.push(name.clone()),
                Import::Types(_) => {}
            }
        }
        diff.unused = grants
            .capabilities()
            .into_iter()
            .filter(|c| !imported.contains(c))
            .collect();
        diff
    }

    /// Whether the component may load.
    pub fn is_refused(&self) -> bool {
        !self.missing.is_empty() || !self.unknown.is_empty()
    }

    /// The readable refusal: what it imports, what it has, and what to add.
    pub fn describe(
        &self,
        who: &str,
        imports: &[Import],
        grants: &Grants,
        plan_location: &str,
    ) -> String {
        let names = |caps: &[Capability]| {
            if caps.is_empty() {
                "(none)".to_string()
            } else {
                caps.iter()
                    .map(|c| c.interface())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let imported: Vec<Capability> = imports
            .iter()
            .filter_map(|i| match i {
                Import::Capability(c) => Some(*c),
                _ => None,
            })
            .collect();
        let mut text = format!("{who} imports more than the plan grants it:\n");
        let _ = writeln!(text, "  imports: {}", names(&imported));
        let _ = writeln!(text, "  granted: {}", names(&grants.capabilities()));
        for cap in &self.missing {
            let _ = writeln!(text, "  - not granted: {}", cap.import_name());
        }
        for name in &self.unknown {
            let _ = writeln!(
                text,
                "  - unknown import (the host provides no such interface): {name}"
            );
        }
        if !self.missing.is_empty() {
            let _ = writeln!(
                text,
                "to grant it, add under [phases.grants] of {plan_location}:"
            );
            for cap in &self.missing {
                let _ = writeln!(text, "    {}", cap.plan_line());
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Access;

    #[test]
    fn classifies_import_names() {
        assert_eq!(
            classify("phasehost:plugin/store-write@0.1.0"),
            Import::Capability(Capability::StoreWrite)
        );
        assert!(matches!(
            classify("phasehost:plugin/types@0.1.0"),
            Import::Types(_)
        ));
        assert!(matches!(
            classify("phasehost:plugin/source@9.9.9"),
            Import::Unknown(_)
        ));
        assert!(matches!(
            classify("wasi:cli/environment@0.2.6"),
            Import::Ambient(_)
        ));
        assert!(matches!(classify("evil:net/socket"), Import::Unknown(_)));
    }

    #[test]
    fn diff_lists_missing_unused_and_unknown() {
        let mut grants = Grants {
            log: true,
            source: true,
            ..Grants::default()
        };
        grants
            .store
            .insert("units".into(), Access::parse("r").unwrap());
        let imports = vec![
            Import::Capability(Capability::Log),
            Import::Capability(Capability::StoreWrite),
            Import::Unknown("evil:net/socket".into()),
        ];
        let diff = GrantDiff::compute(&imports, &grants);
        assert_eq!(diff.missing, vec![Capability::StoreWrite]);
        assert_eq!(diff.unused, vec![Capability::Source, Capability::StoreRead]);
        assert!(diff.is_refused());
        let text = diff.describe(
            "phase `x`",
            &imports,
            &grants,
            "phase `x` (plan.toml line 3)",
        );
        assert!(text.contains("imports: log, store-write"), "{text}");
        assert!(text.contains("granted: source, store-read, log"), "{text}");
        assert!(
            text.contains("not granted: phasehost:plugin/store-write@0.1.0"),
            "{text}"
        );
        assert!(text.contains("store = { <table> = \"i\" }"), "{text}");
        assert!(text.contains("unknown import"), "{text}");
    }
}
