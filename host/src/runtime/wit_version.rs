//! The version of the WIT package `phasehost:plugin` a component was built
//! against, read from the names it imports and exports
//! (`phasehost:plugin/phase@0.1.0`), and whether this host can run it.
//!
//! Semver as the component model links it (wasmtime matches an import or
//! export to a definition on the same "track"): for `0.x.y` the minor must
//! be the host's (`0.1.7` runs on a `0.1.0` host, `0.2.0` does not); from
//! `1.0.0` on, the major; a pre-release or a `0.0.z` only exactly. A name
//! without a version is refused too.

use crate::plan::{PACKAGE, PACKAGE_VERSION};
use semver::Version;

/// The version this host implements.
pub fn host_version() -> Version {
    Version::parse(PACKAGE_VERSION).expect("PACKAGE_VERSION is semver")
}

/// Whether a component built against `found` links against a host of `host`.
pub fn compatible(found: &Version, host: &Version) -> bool {
    if !found.pre.is_empty() || !host.pre.is_empty() {
        return found == host;
    }
    match (found.major, host.major) {
        (0, 0) if found.minor == 0 || host.minor == 0 => {
            found.minor == host.minor && found.patch == host.patch
        }
        (0, 0) => found.minor == host.minor,
        (f, h) => f == h,
    }
}

/// The version part of a `phasehost:plugin/<interface>@<version>` name:
/// `None` for a name of another package, `Some(None)` for one without a
/// version, `Some(Some(v))` otherwise.
pub fn package_version(name: &str) -> Option<Option<&str>> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    Some(rest.split_once('@').map(|(_, v)| v))
}

/// Whether `name` is an interface of `phasehost:plugin` at a version this
/// host runs.
pub fn name_is_compatible(name: &str) -> bool {
    match package_version(name) {
        Some(Some(v)) => Version::parse(v).is_ok_and(|v| compatible(&v, &host_version())),
        _ => false,
    }
}

/// The first import or export of `phasehost:plugin` whose version this host
/// cannot run: `(name, version found)`; `"none"` for a name without one.
pub fn first_incompatible<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Option<(String, String)> {
    names
        .into_iter()
        .find_map(|name| match package_version(name)? {
            None => Some((name.to_string(), "none".to_string())),
            Some(_) if name_is_compatible(name) => None,
            Some(v) => Some((name.to_string(), v.to_string())),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn zero_x_needs_the_same_minor_and_other_majors_are_refused() {
        let host = v("0.1.0");
        assert!(compatible(&v("0.1.0"), &host));
        assert!(compatible(&v("0.1.9"), &host));
        assert!(!compatible(&v("0.2.0"), &host));
        assert!(!compatible(&v("1.1.0"), &host));
        assert!(!compatible(&v("0.1.1-rc.1"), &host));
        assert!(compatible(&v("1.4.0"), &v("1.0.2")));
        assert!(!compatible(&v("2.0.0"), &v("1.0.2")));
        assert!(!compatible(&v("0.0.2"), &v("0.0.1")));
    }

    #[test]
    fn names_of_other_packages_are_not_judged() {
        let names = [
            "wasi:cli/environment@0.2.6",
            "phasehost:plugin/log@0.1.0",
            "phasehost:plugin/phase@0.2.0",
        ];
        assert_eq!(
            first_incompatible(names),
            Some(("phasehost:plugin/phase@0.2.0".into(), "0.2.0".into()))
        );
        assert_eq!(first_incompatible(names[..2].iter().copied()), None);
        assert_eq!(
            first_incompatible(["phasehost:plugin/gate"]),
            Some(("phasehost:plugin/gate".into(), "none".into()))
        );
    }
}
