//! TLS and the password: a fake server on 127.0.0.1 that asks for a
//! cleartext password shows none is ever sent without TLS, and the real
//! test server (ssl = on, Debian's self-signed "snakeoil" certificate)
//! shows `require` really encrypts and `verify-full` really verifies.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use phasehost_store::{PgStore, PgTls, SslMode, StoreError, StoreSpec, open};

use crate::support::*;

/// The variable .cargo/config.toml sets for the tests.
const PASSWORD_ENV: &str = "PHASEHOST_TEST_PG_PASSWORD";

/// What the fake server saw on its one connection.
#[derive(Debug, Default)]
struct Seen {
    /// The client asked for TLS (SSLRequest).
    ssl_request: bool,
    /// The client sent a StartupMessage (i.e. went on in plain text).
    startup: bool,
    /// The bytes of every PasswordMessage (`p`) received.
    password_bytes: Vec<u8>,
}

fn read_exact(stream: &mut TcpStream, n: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).ok()?;
    Some(buf)
}

fn int32(bytes: &[u8]) -> usize {
    u32::from_be_bytes(bytes[..4].try_into().expect("4 bytes")) as usize
}

/// Serves one connection: answers an SSLRequest with `N`, a StartupMessage
/// with AuthenticationCleartextPassword, and records every message until the
/// client hangs up (bounded in time).
fn fake_server() -> (u16, std::thread::JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let mut seen = Seen::default();
        // Bounded: a client that never connects ends the test, not hangs it.
        listener.set_nonblocking(true).expect("nonblocking");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if std::time::Instant::now() > deadline {
                        return seen;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        // Untyped messages first: SSLRequest and StartupMessage.
        loop {
            let Some(len) = read_exact(&mut stream, 4).map(|b| int32(&b)) else {
                return seen;
            };
            let Some(body) = read_exact(&mut stream, len.saturating_sub(4)) else {
                return seen;
            };
            match int32(&body) {
                80_877_103 => {
                    seen.ssl_request = true;
                    stream.write_all(b"N").expect("answer N");
                }
                196_608 => {
                    seen.startup = true;
                    // AuthenticationCleartextPassword: 'R', int32 8, int32 3.
                    stream
                        .write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3])
                        .expect("ask for a password");
                    break;
                }
                other => panic!("unexpected untyped message code {other}"),
            }
        }
        // Typed messages: record any PasswordMessage.
        loop {
            let Some(kind) = read_exact(&mut stream, 1) else {
                return seen;
            };
            let Some(len) = read_exact(&mut stream, 4).map(|b| int32(&b)) else {
                return seen;
            };
            let Some(body) = read_exact(&mut stream, len.saturating_sub(4)) else {
                return seen;
            };
            if kind[0] == b'p' {
                seen.password_bytes.extend_from_slice(&body);
                // Refuse it, so that the client stops.
                let mut error = vec![b'E'];
                let fields = b"SFATAL\0C28P01\0Mpassword authentication failed\0\0";
                error.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
                error.extend_from_slice(fields);
                let _ = stream.write_all(&error);
            }
        }
    });
    (port, handle)
}

fn spec(port: u16, sslmode: Option<SslMode>) -> StoreSpec {
    StoreSpec::Postgres {
        url: format!("postgres://phasehost@127.0.0.1:{port}/db"),
        password_env: Some(PASSWORD_ENV.into()),
        schema: "phasehost".into(),
        sslmode,
        sslrootcert: None,
    }
}

fn password() -> String {
    std::env::var(PASSWORD_ENV).expect("set by .cargo/config.toml")
}

fn error_of(result: Result<Box<dyn phasehost_store::StoreBackend>, StoreError>) -> String {
    let err = result.map(|_| ()).expect_err("the connection must fail");
    let text = format!("{err} | {err:?}");
    assert!(!text.contains(&password()), "{text}");
    text
}

/// The fake server does catch a password sent in plain text: a client
/// configured with one (as the store was before) hands it over.
#[test]
fn the_fake_server_catches_a_plain_text_password() {
    let (port, server) = fake_server();
    let mut config = postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(port)
        .user("phasehost")
        .password(password())
        .connect_timeout(Duration::from_secs(5));
    assert!(config.connect(postgres::NoTls).is_err());
    let seen = server.join().expect("server");
    assert!(seen.startup);
    assert!(
        seen.password_bytes
            .windows(password().len())
            .any(|w| w == password().as_bytes()),
        "{seen:?}"
    );
}

/// `disable` (the default on loopback) never sends the password, even with
/// a password variable set: the connection fails and says why.
#[test]
fn without_tls_the_password_is_never_sent() {
    for sslmode in [Some(SslMode::Disable), None] {
        let (port, server) = fake_server();
        let text = error_of(open(&spec(port, sslmode)));
        assert!(text.contains("a password is only sent over TLS"), "{text}");
        assert!(text.contains("sslmode = \"require\""), "{text}");
        assert!(text.contains("verify-full"), "{text}");
        let seen = server.join().expect("server");
        assert!(seen.startup && !seen.ssl_request, "{seen:?}");
        assert!(seen.password_bytes.is_empty(), "{seen:?}");
    }
}

/// `require` fails when the server will not do TLS: no plain-text fallback,
/// no startup message, no password.
#[test]
fn require_fails_without_tls_and_never_falls_back() {
    for sslmode in [SslMode::Require, SslMode::VerifyFull] {
        let (port, server) = fake_server();
        let text = error_of(open(&spec(port, Some(sslmode))));
        assert!(text.contains("TLS"), "{text}");
        let seen = server.join().expect("server");
        assert!(seen.ssl_request, "{seen:?}");
        assert!(!seen.startup, "fell back to plain text: {seen:?}");
        assert!(seen.password_bytes.is_empty(), "{seen:?}");
    }
}

/// A URL carrying a password is refused without TLS (it would otherwise
/// be sent), before any connection.
#[test]
fn a_url_password_without_tls_is_refused() {
    let secret = "url-Pw-93kq";
    let err = PgStore::connect(
        &format!("postgres://phasehost:{secret}@127.0.0.1:1/db"),
        None,
        "phasehost",
        &PgTls::default(),
    )
    .expect_err("refused");
    let text = format!("{err} {err:?}");
    assert!(text.contains("only sent over TLS"), "{text}");
    assert!(!text.contains(secret), "{text}");
}

/// `disable` is refused for a host other than a loopback one, before any
/// connection is tried.
#[test]
fn disable_is_refused_for_other_hosts() {
    let err = PgStore::connect(
        "postgres://phasehost@db.invalid/db",
        None,
        "phasehost",
        &PgTls {
            sslmode: Some(SslMode::Disable),
            sslrootcert: None,
        },
    )
    .expect_err("refused");
    assert!(
        err.to_string().contains("only allowed for a loopback host"),
        "{err}"
    );
}

/// The password variable must be a PHASEHOST_ one (checked when opening
/// too, not only at plan load).
#[test]
fn only_phasehost_variables_are_read() {
    let mut s = spec(1, Some(SslMode::Require));
    if let StoreSpec::Postgres { password_env, .. } = &mut s {
        *password_env = Some("AWS_SECRET_ACCESS_KEY".into());
    }
    let text = error_of(open(&s));
    assert!(text.contains("PHASEHOST_[A-Z0-9_]+"), "{text}");
}

/// `tls` with `sslmode`.
fn tls(sslmode: SslMode, sslrootcert: Option<PathBuf>) -> PgTls {
    PgTls {
        sslmode: Some(sslmode),
        sslrootcert,
    }
}

/// The certificate file of the test server, and the host name it is for.
fn server_certificate() -> (PathBuf, String) {
    let h = PgHarness::new();
    let path: String = h
        .client()
        .query_one("SHOW ssl_cert_file", &[])
        .expect("ssl_cert_file")
        .get(0);
    let pem = std::fs::read(&path).expect("the server's certificate is readable");
    let cert = openssl::x509::X509::from_pem(&pem).expect("PEM");
    let name = cert
        .subject_alt_names()
        .and_then(|names| names.iter().find_map(|n| n.dnsname().map(str::to_string)))
        .or_else(|| {
            cert.subject_name()
                .entries_by_nid(openssl::nid::Nid::COMMONNAME)
                .next()
                .and_then(|e| e.data().to_string().ok())
        })
        .expect("a host name in the certificate");
    (PathBuf::from(path), name)
}

/// `require` against the real server: the session is really encrypted
/// (the server says so); the loopback default is not.
#[test]
fn require_really_encrypts() {
    let h = PgHarness::new();
    let mut store = PgStore::connect(
        &pg_url(),
        Some(&password()),
        &h.schema,
        &tls(SslMode::Require, None),
    )
    .expect("connect with require");
    assert_eq!(store.sslmode(), SslMode::Require);
    assert!(store.tls_in_use().expect("pg_stat_ssl"));
    let mut plain = PgStore::connect(&pg_url(), None, &h.schema, &PgTls::default())
        .expect("connect on loopback without TLS");
    assert_eq!(plain.sslmode(), SslMode::Disable);
    assert!(!plain.tls_in_use().expect("pg_stat_ssl"));
}

/// A fresh self-signed root certificate that signed nothing the server
/// has, as a PEM file in `dir`.
fn unrelated_root(dir: &std::path::Path) -> PathBuf {
    use openssl::{asn1::Asn1Time, hash::MessageDigest, pkey::PKey, rsa::Rsa, x509};
    let key = PKey::from_rsa(Rsa::generate(2048).expect("key")).expect("pkey");
    let mut name = x509::X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", "phasehost unrelated test root")
        .expect("CN");
    let name = name.build();
    let mut cert = x509::X509Builder::new().expect("builder");
    cert.set_version(2).expect("v3");
    cert.set_subject_name(&name).expect("subject");
    cert.set_issuer_name(&name).expect("issuer");
    cert.set_pubkey(&key).expect("pubkey");
    cert.set_not_before(&Asn1Time::days_from_now(0).expect("now"))
        .expect("not before");
    cert.set_not_after(&Asn1Time::days_from_now(1).expect("tomorrow"))
        .expect("not after");
    cert.append_extension(
        x509::extension::BasicConstraints::new()
            .critical()
            .ca()
            .build()
            .expect("CA"),
    )
    .expect("extension");
    cert.sign(&key, MessageDigest::sha256()).expect("sign");
    let path = dir.join("unrelated-root.pem");
    std::fs::write(&path, cert.build().to_pem().expect("pem")).expect("write");
    path
}

/// `verify-full` checks the certificate chain and the host name, each on
/// its own: the server's certificate is refused when it does not chain to
/// the trusted root, refused for a host it does not name even when trusted,
/// and accepted (encrypted) when trusted and named. The system's roots
/// refuse the test URL (on this machine's image Debian's snakeoil
/// certificate is in the system's trust folder, so it is its name, an
/// address it does not list, that fails there).
#[test]
fn verify_full_really_verifies() {
    let h = PgHarness::new();
    let err = PgStore::connect(
        &pg_url(),
        Some(&password()),
        &h.schema,
        &tls(SslMode::VerifyFull, None),
    )
    .expect_err("the self-signed certificate is refused for the test URL");
    let text = err.to_string();
    assert!(text.contains("certificate verify failed"), "{text}");
    assert!(!text.contains(&password()), "{text}");

    let (cert, name) = server_certificate();
    let dir = tempfile::tempdir().expect("tempdir");
    let unrelated = unrelated_root(dir.path());
    let config: postgres::Config = pg_url().parse().expect("test URL");
    let user = config.get_user().expect("a user");
    let db = config.get_dbname().unwrap_or("test");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    // The certificate's own name, reached at 127.0.0.1.
    let named = format!("postgres://{user}@{name}:{port}/{db}?hostaddr=127.0.0.1");
    let by_address = format!("postgres://{user}@127.0.0.1:{port}/{db}");

    // The chain: right name, but a root that did not sign it.
    for mode in [SslMode::VerifyFull, SslMode::Require] {
        let err = PgStore::connect(&named, None, &h.schema, &tls(mode, Some(unrelated.clone())))
            .expect_err("a certificate the root did not sign is refused");
        assert!(
            err.to_string().contains("certificate verify failed"),
            "{err}"
        );
    }
    // The name: trusted root, but the host (an address) is not named.
    if name != "127.0.0.1" {
        let err = PgStore::connect(
            &by_address,
            None,
            &h.schema,
            &tls(SslMode::VerifyFull, Some(cert.clone())),
        )
        .expect_err("the host name is checked");
        assert!(
            err.to_string().contains("certificate verify failed"),
            "{err}"
        );
        // `require` with a root file checks the chain only: it connects.
        let mut store = PgStore::connect(
            &by_address,
            None,
            &h.schema,
            &tls(SslMode::Require, Some(cert.clone())),
        )
        .expect("require with a root file checks the chain, not the name");
        assert!(store.tls_in_use().expect("pg_stat_ssl"));
    }
    // Trusted root and the name it is for: connects, encrypted.
    let mut store = PgStore::connect(
        &named,
        Some(&password()),
        &h.schema,
        &tls(SslMode::VerifyFull, Some(cert)),
    )
    .expect("verify-full with the right root and name");
    assert_eq!(store.sslmode(), SslMode::VerifyFull);
    assert!(store.tls_in_use().expect("pg_stat_ssl"));
    // A root file that holds no certificate is refused.
    let bogus = dir.path().join("root.pem");
    std::fs::write(&bogus, "not a certificate\n").expect("write");
    let err = PgStore::connect(
        &pg_url(),
        None,
        &h.schema,
        &tls(SslMode::VerifyFull, Some(bogus)),
    )
    .expect_err("no certificate in the file");
    assert!(err.to_string().contains("sslrootcert"), "{err}");
}
