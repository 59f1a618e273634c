//! TLS for the PostgreSQL connection: the `sslmode` (as in libpq: disable,
//! require, verify-full), its loopback-only default of `disable`, the
//! connector, and the rule on the password's environment variable.
//!
//! A password is only ever sent over TLS: with `disable` it is not put in
//! the connection's configuration at all.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ::postgres::Config;
use ::postgres::config::Host;
use native_tls::{Certificate, Protocol, TlsConnector};
use postgres_native_tls::MakeTlsConnector;

use crate::StoreError;

/// How the connection is protected (the names and meanings of libpq's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// No TLS, and so no password is ever sent. Only for loopback hosts
    /// (127.0.0.0/8, `::1`, `localhost`, unix sockets).
    Disable,
    /// Encrypted; the server's certificate is not checked, unless a root
    /// certificate file is given (then its chain is, but not the host name).
    /// Protects against eavesdropping, not against an active impostor.
    Require,
    /// Encrypted; the certificate chain is verified against the system's
    /// roots (or only the given root certificate file) and must name the host.
    VerifyFull,
}

impl SslMode {
    /// The mode's name as in a plan or libpq (`disable`, `require`, `verify-full`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Require => "require",
            Self::VerifyFull => "verify-full",
        }
    }
}

impl std::fmt::Display for SslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The TLS settings of a PostgreSQL connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgTls {
    /// The mode; `None` means `verify-full`, or `disable` when every host
    /// of the URL is a loopback one.
    pub sslmode: Option<SslMode>,
    /// A PEM file of the root certificate(s) to trust instead of the
    /// system's (for `require` and `verify-full`).
    pub sslrootcert: Option<PathBuf>,
}

/// The prefix every password environment variable must have.
pub const PASSWORD_ENV_PREFIX: &str = "PHASEHOST_";

/// Checks `name` may hold the PostgreSQL password: it must match
/// `PHASEHOST_[A-Z0-9_]+`, so a plan cannot have any other variable of the
/// environment (a cloud key, a token) sent to a server.
pub fn check_password_env(name: &str) -> Result<(), StoreError> {
    let ok = name.strip_prefix(PASSWORD_ENV_PREFIX).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    });
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "password_env `{name}` is not allowed: the password variable's name must match \
             {PASSWORD_ENV_PREFIX}[A-Z0-9_]+ (e.g. PHASEHOST_PG_PASSWORD), so that no other \
             environment variable can be sent to a server"
        )))
    }
}

/// Whether a host name or address is this machine's loopback.
fn loopback_name(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost.") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether every host (and host address) of `config` is a loopback one. A
/// configuration with no host at all is not.
pub(crate) fn all_loopback(config: &Config) -> bool {
    let hosts = config.get_hosts();
    let addrs = config.get_hostaddrs();
    if hosts.is_empty() && addrs.is_empty() {
        return false;
    }
    hosts.iter().all(|h| match h {
        Host::Tcp(name) => loopback_name(name),
        Host::Unix(_) => true,
    }) && addrs.iter().all(IpAddr::is_loopback)
}

/// The hosts of `config`, for messages.
fn host_list(config: &Config) -> String {
    let mut names: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    names.extend(config.get_hostaddrs().iter().map(IpAddr::to_string));
    if names.is_empty() {
        "(none)".into()
    } else {
        names.join(", ")
    }
}

/// The mode a parsed URL is connected with: `requested`, or the default
/// (`disable` when every host is a loopback one, else `verify-full`).
/// Refuses `disable` for a host that is not a loopback one, and a URL that
/// sets `sslmode` itself (it is an option of its own, so that it cannot be
/// weakened by the URL).
pub(crate) fn effective_mode(
    config: &Config,
    requested: Option<SslMode>,
) -> Result<SslMode, StoreError> {
    if config.get_ssl_mode() != ::postgres::config::SslMode::Prefer {
        return Err(StoreError::Invalid(
            "the PostgreSQL URL sets sslmode; give it as the sslmode option instead \
             (disable, require or verify-full)"
                .into(),
        ));
    }
    let loopback = all_loopback(config);
    match requested {
        None if loopback => Ok(SslMode::Disable),
        None => Ok(SslMode::VerifyFull),
        Some(SslMode::Disable) if !loopback => Err(StoreError::Invalid(format!(
            "sslmode = \"disable\" is only allowed for a loopback host (127.0.0.0/8, ::1, \
             localhost or a unix socket), and {} is not one: use sslmode = \"require\" or \
             \"verify-full\"",
            host_list(config)
        ))),
        Some(mode) => Ok(mode),
    }
}

/// The mode `url` would be connected with (see [`PgTls::sslmode`]), or why
/// the URL and mode are refused: for checking a configuration before
/// connecting. Errors never show a password.
pub fn pg_sslmode(url: &str, requested: Option<SslMode>) -> Result<SslMode, StoreError> {
    let config: Config = url.parse().map_err(|e| {
        StoreError::Invalid(format!(
            "bad PostgreSQL URL {}: {e}",
            crate::error_text::redact_url(url)
        ))
    })?;
    let secret = config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    effective_mode(&config, requested).map_err(|e| match e {
        StoreError::Invalid(text) => StoreError::Invalid(crate::error_text::scrub(
            &text,
            &secret.as_deref().into_iter().collect::<Vec<_>>(),
        )),
        other => other,
    })
}

/// The connector for `mode` (not `disable`): TLS 1.2 at least; with
/// `require` the certificate is not checked unless `root` is given, with
/// `verify-full` the chain and the host name are. A `root` file replaces
/// the system's roots.
pub(crate) fn connector(
    mode: SslMode,
    root: Option<&Path>,
) -> Result<MakeTlsConnector, StoreError> {
    let mut builder = TlsConnector::builder();
    builder.min_protocol_version(Some(Protocol::Tlsv12));
    if let Some(path) = root {
        let pem = std::fs::read(path).map_err(|e| {
            StoreError::Invalid(format!("cannot read sslrootcert {}: {e}", path.display()))
        })?;
        let certs = Certificate::stack_from_pem(&pem)
            .map_err(|e| StoreError::Invalid(format!("sslrootcert {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(StoreError::Invalid(format!(
                "sslrootcert {} holds no PEM certificate",
                path.display()
            )));
        }
        builder.disable_built_in_roots(true);
        for cert in certs {
            builder.add_root_certificate(cert);
        }
    }
    match mode {
        SslMode::VerifyFull => {}
        SslMode::Require if root.is_some() => {
            builder.danger_accept_invalid_hostnames(true);
        }
        SslMode::Require => {
            builder.danger_accept_invalid_certs(true);
            builder.danger_accept_invalid_hostnames(true);
        }
        SslMode::Disable => {
            return Err(StoreError::Invalid(
                "no TLS connector for sslmode disable".into(),
            ));
        }
    }
    let connector = builder
        .build()
        .map_err(|e| StoreError::Backend(format!("cannot set up TLS: {e}")))?;
    Ok(MakeTlsConnector::new(connector))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_variables_need_the_prefix() {
        for ok in [
            "PHASEHOST_PG_PASSWORD",
            "PHASEHOST_X",
            "PHASEHOST_TEST_PG_PASSWORD_2",
        ] {
            check_password_env(ok).expect(ok);
        }
        for bad in [
            "AWS_SECRET_ACCESS_KEY",
            "PATH",
            "PHASEHOST_",
            "PHASEHOST_lower",
            "phasehost_PG",
            "PHASEHOST_PG-PW",
            "XPHASEHOST_PG",
            "PHASEHOST_PG PW",
        ] {
            let err = check_password_env(bad).expect_err(bad);
            assert!(err.to_string().contains("PHASEHOST_[A-Z0-9_]+"), "{err}");
        }
    }

    #[test]
    fn loopback_hosts_default_to_disable_and_others_to_verify_full() {
        for url in [
            "postgres://u@127.0.0.1:5432/db",
            "postgres://u@127.8.9.10/db",
            "postgres://u@localhost/db",
            "postgres://u@[::1]:5432/db",
            "postgres://u@%2Frun%2Fpostgresql/db",
            "host=/run/postgresql user=u",
            "host=localhost,127.0.0.1 user=u",
            "host=localhost hostaddr=127.0.0.1 user=u",
        ] {
            assert_eq!(pg_sslmode(url, None).expect(url), SslMode::Disable, "{url}");
        }
        for url in [
            "postgres://u@db.example.com/db",
            "postgres://u@10.0.0.5/db",
            "postgres://u@[::2]/db",
            "host=localhost,db.example.com user=u",
            "host=localhost hostaddr=10.0.0.5 user=u",
            "postgres://u@localhost.example.com/db",
        ] {
            assert_eq!(
                pg_sslmode(url, None).expect(url),
                SslMode::VerifyFull,
                "{url}"
            );
            let err = pg_sslmode(url, Some(SslMode::Disable)).expect_err(url);
            assert!(
                err.to_string().contains("only allowed for a loopback"),
                "{err}"
            );
            assert_eq!(
                pg_sslmode(url, Some(SslMode::Require)).expect(url),
                SslMode::Require
            );
        }
        let err = pg_sslmode("postgres://u@127.0.0.1/db?sslmode=require", None).unwrap_err();
        assert!(err.to_string().contains("sets sslmode"), "{err}");
        let err = pg_sslmode(
            "postgres://u:s3cr3t@db.example.com/db",
            Some(SslMode::Disable),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }

    #[test]
    fn modes_have_libpq_names() {
        #[derive(serde::Deserialize)]
        struct T {
            m: SslMode,
        }
        for (text, mode) in [
            ("disable", SslMode::Disable),
            ("require", SslMode::Require),
            ("verify-full", SslMode::VerifyFull),
        ] {
            let t: T = serde_json::from_str(&format!("{{\"m\":\"{text}\"}}")).unwrap();
            assert_eq!(t.m, mode);
            assert_eq!(mode.to_string(), text);
        }
        assert!(serde_json::from_str::<T>("{\"m\":\"prefer\"}").is_err());
    }
}
