//! No user artifacts in CLI args: digests, ids and secrets are derived or
//! read from files, never typed.
//!
//! [`check_args`] refuses an argument — or the value of `--flag=value`, or
//! the name of a bare `--flag` — that contains, in this order of precedence:
//!
//! 1. a secret-shaped value of any kind the [`crate::secrets`] scanner
//!    knows (checked on the whole argument, paths included);
//! 2. an option whose name is secret-shaped (`--password`, `--token=…`),
//!    unless the name ends in `file`, `path`, `dir`, `env` or `var`
//!    (`--token-file`, `--password-env`: a reference, not the secret);
//! 3. a `KEY=value` pair whose key is secret-shaped (`password=…`,
//!    `PGPASSWORD=…`), with the same exception;
//! 4. a digest: a run of 32 or more hex characters;
//! 5. a UUID (8-4-4-4-12 hex);
//! 6. a ULID (a word of 26 Crockford base32 characters, case-insensitive,
//!    the first one `0`–`7`, with at least one letter);
//! 7. a base64 blob: a run of 40 or more base64/base64url characters with
//!    upper case, lower case and digits.
//!
//! Paths — a value containing `/` or `\`, or ending in `.toml`, `.json`,
//! `.jsonl`, `.txt`, `.key`, `.pub`, `.wasm`, `.db` or `.sqlite` — skip
//! checks 4–7, even when a component is digest- or id-shaped
//! (`cache/<sha256>.wasm`, `runs/<ulid>/`): the host opens the file and
//! verifies its content, it never takes a digest or id from a file name.
//! Secrets (check 1) are refused in paths too.
//!
//! A refusal names the argument by its index and explains what to do
//! instead; it never shows the argument.

use std::ffi::OsStr;
use std::fmt;

use crate::secrets::{SecretKind, is_secret_key, key_words, scan_value};

/// Shortest hex run refused as a digest.
const MIN_DIGEST_HEX: usize = 32;
/// Shortest base64 run refused as a blob.
const MIN_BASE64_LEN: usize = 40;
/// Extensions that make a value a path.
const PATH_EXTENSIONS: &[&str] = &[
    ".toml", ".json", ".jsonl", ".txt", ".key", ".pub", ".wasm", ".db", ".sqlite",
];
/// Last words of an option or key name that make it a reference to a secret
/// rather than the secret itself.
const REFERENCE_SUFFIXES: &[&str] = &["file", "path", "dir", "env", "var"];

/// What a refused argument looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A run of 32+ hex characters.
    Digest,
    /// A UUID.
    Uuid,
    /// A ULID.
    Ulid,
    /// A run of 40+ base64 characters.
    Base64Blob,
    /// An option whose name is secret-shaped (`--password`).
    SecretFlag,
    /// A `KEY=value` pair whose key is secret-shaped.
    SecretPair,
    /// A secret-shaped value.
    Secret(SecretKind),
}

impl fmt::Display for ArgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SECRETS_FROM: &str = "secrets come from files or from environment variables named in the plan, never from the command line";
        match self {
            Self::Digest => write!(
                f,
                "it looks like a digest ({MIN_DIGEST_HEX}+ hex characters): digests are derived or read from the run folder, not typed"
            ),
            Self::Uuid => f.write_str(
                "it looks like a UUID: ids are read from the run folder or the plan, not typed; pass the folder or file instead",
            ),
            Self::Ulid => f.write_str(
                "it looks like a ULID: ids are read from the run folder or the plan, not typed; pass the folder or file instead",
            ),
            Self::Base64Blob => write!(
                f,
                "it looks like an encoded blob ({MIN_BASE64_LEN}+ base64 characters): pass the file that holds it"
            ),
            Self::SecretFlag => write!(
                f,
                "the option names a secret: {SECRETS_FROM} (use an option ending in -file or -env)"
            ),
            Self::SecretPair => write!(
                f,
                "it is a KEY=value pair whose key names a secret: {SECRETS_FROM}"
            ),
            Self::Secret(kind) => write!(
                f,
                "it contains a secret-shaped value ({kind}): {SECRETS_FROM}; consider it leaked (shell history) and rotate it"
            ),
        }
    }
}

/// A refused argument: its 0-based index among the checked arguments and
/// why. The argument itself is never shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("argument #{index} refused (not shown): {reason}")]
pub struct ArgRefusal {
    /// 0-based position in the iterator given to [`check_args`].
    pub index: usize,
    /// What it looks like.
    pub reason: ArgKind,
}

/// Checks every argument (pass them without the program name, or count it
/// in the indices); refuses the first that looks like a digest, id or
/// secret. Non-UTF-8 arguments are checked in their lossy UTF-8 form.
pub fn check_args<I, S>(args: I) -> Result<(), ArgRefusal>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    for (index, arg) in args.into_iter().enumerate() {
        let text = arg.as_ref().to_string_lossy();
        if let Some(reason) = classify(&text) {
            return Err(ArgRefusal { index, reason });
        }
    }
    Ok(())
}

/// Why one argument is refused, if it is.
fn classify(arg: &str) -> Option<ArgKind> {
    if let Some(finding) = scan_value(arg) {
        return Some(ArgKind::Secret(finding.kind));
    }
    let value = match arg.strip_prefix('-') {
        Some(option) => {
            let (name, value) = match option.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (option, None),
            };
            if names_a_secret(name.trim_start_matches('-')) {
                return Some(ArgKind::SecretFlag);
            }
            // A bare option is checked like a value: `--<digest>` is still a digest.
            value.unwrap_or(name)
        }
        None => arg,
    };
    if let Some((key, _)) = value.split_once('=')
        && names_a_secret(key)
    {
        return Some(ArgKind::SecretPair);
    }
    if is_path(value) {
        return None;
    }
    if longest_run(value, |b| b.is_ascii_hexdigit()) >= MIN_DIGEST_HEX {
        return Some(ArgKind::Digest);
    }
    if contains_uuid(value) {
        return Some(ArgKind::Uuid);
    }
    if contains_ulid(value) {
        return Some(ArgKind::Ulid);
    }
    if contains_base64_blob(value) {
        return Some(ArgKind::Base64Blob);
    }
    None
}

/// A secret-shaped name that is not a reference (`token` yes, `token-file`
/// and `tokenFile` no).
fn names_a_secret(name: &str) -> bool {
    is_secret_key(name)
        && key_words(name)
            .last()
            .is_none_or(|last| !REFERENCE_SUFFIXES.contains(&last.as_str()))
}

fn is_path(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    value.contains(['/', '\\']) || PATH_EXTENSIONS.iter().any(|ext| lower.ends_with(ext))
}

/// Length of the longest run of bytes matching `pred`.
fn longest_run(value: &str, pred: impl Fn(u8) -> bool) -> usize {
    value
        .as_bytes()
        .split(|&b| !pred(b))
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0)
}

fn contains_uuid(value: &str) -> bool {
    const DASHES: [usize; 4] = [8, 13, 18, 23];
    let bytes = value.as_bytes();
    (0..bytes.len().saturating_sub(35)).any(|start| {
        let window = &bytes[start..start + 36];
        let shaped = window.iter().enumerate().all(|(i, &b)| {
            if DASHES.contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        });
        let bounded = (start == 0 || !bytes[start - 1].is_ascii_alphanumeric())
            && bytes
                .get(start + 36)
                .is_none_or(|b| !b.is_ascii_alphanumeric());
        shaped && bounded
    })
}

fn contains_ulid(value: &str) -> bool {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| {
            let is_crockford = |c: char| {
                c.is_ascii_digit()
                    || (c.is_ascii_alphabetic()
                        && !matches!(c.to_ascii_uppercase(), 'I' | 'L' | 'O' | 'U'))
            };
            word.len() == 26
                && word.chars().all(is_crockford)
                && word.starts_with(|c: char| ('0'..='7').contains(&c))
                && word.chars().any(|c| c.is_ascii_alphabetic())
        })
}

fn contains_base64_blob(value: &str) -> bool {
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'_' | b'=');
    value.as_bytes().split(|&b| !is_b64(b)).any(|run| {
        run.len() >= MIN_BASE64_LEN
            && run.iter().any(u8::is_ascii_uppercase)
            && run.iter().any(u8::is_ascii_lowercase)
            && run.iter().any(u8::is_ascii_digit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    const DIGEST: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn one(arg: &str) -> Result<(), ArgRefusal> {
        check_args([arg])
    }

    #[test]
    fn accepted_arguments() {
        let accepted = [
            "run",
            "approve",
            "--live",
            "--json",
            "-v",
            "--",
            "plans/iu-cut.toml",
            "./plan.toml",
            "plan.toml",
            "C:\\plans\\iu-cut.toml",
            "--plan=plans/iu-cut.toml",
            "--trust-key=keys/alice.pub",
            "--key=keys/alice.key",
            "--gate=sg1",
            "--ttl=3600",
            "--token-file=/run/secrets/pg",
            "--password-env=PGPASSWORD",
            "--passwordFile=secret.txt",
            "PGPASSWORD",
            "data/vlc/hien-phap.txt",
            "queue.json",
            // Paths may have digest- or id-shaped components (documented).
            &format!("cache/{DIGEST}.wasm"),
            &format!("{DIGEST}.json"),
            "runs/01HZX3Q4R5S6T7V8W9XAYBZC0D/state.json",
            "runs/6f1c2d3a-9b8e-4f7d-a6c5-b4e3d2c1f0a9/",
            "hien-phap",
            "Hiến pháp năm 2013",
            "deadbeef",
            "0123456789abcdef0123456789abcde", // 31 hex
            "--allow-extra-delete-rights-for-the-envelope-table",
            "some_long_snake_case_document_name_without_digits",
            "SomeVeryLongCamelCaseDocumentNameWithoutDigitsAtAll",
            "some_long_snake_case_document_name_2024_version_1",
            "SOME_LONG_SCREAMING_CASE_NAME_2024_VERSION_ONE_TWO",
            "-5",
            "password_file=secrets/pg.txt",
            &format!("C:\\runs\\{DIGEST}"),
            "12345678901234567890123456", // 26 digits: a number, not a ULID
            "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", // starts above 7: not a ULID
            "6f1c2d3a-9b8e-4f7d-a6c5-b4e3d2c1f0a9x", // not bounded
        ];
        for arg in accepted {
            assert_eq!(one(arg), Ok(()), "{arg}");
        }
        assert_eq!(check_args(accepted), Ok(()));
        assert_eq!(check_args(Vec::<OsString>::new()), Ok(()));
    }

    #[test]
    fn refused_arguments() {
        let gh = ["gh", "p_", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"].concat();
        let refused: Vec<(String, ArgKind)> = vec![
            (DIGEST.to_owned(), ArgKind::Digest),
            (DIGEST.to_uppercase(), ArgKind::Digest),
            (
                "0123456789abcdef0123456789abcdef".to_owned(),
                ArgKind::Digest,
            ),
            (format!("--plan-digest={DIGEST}"), ArgKind::Digest),
            (format!("--{DIGEST}"), ArgKind::Digest),
            (format!("sha256:{DIGEST}"), ArgKind::Digest),
            (format!("digest={DIGEST}"), ArgKind::Digest),
            (
                "6f1c2d3a-9b8e-4f7d-a6c5-b4e3d2c1f0a9".to_owned(),
                ArgKind::Uuid,
            ),
            (
                "--run=6F1C2D3A-9B8E-4F7D-A6C5-B4E3D2C1F0A9".to_owned(),
                ArgKind::Uuid,
            ),
            ("01HZX3Q4R5S6T7V8W9XAYBZC0D".to_owned(), ArgKind::Ulid),
            (
                "--run-id=01hzx3q4r5s6t7v8w9xaybzc0d".to_owned(),
                ArgKind::Ulid,
            ),
            ("run-01HZX3Q4R5S6T7V8W9XAYBZC0D".to_owned(), ArgKind::Ulid),
            ("QQQQqqqq1111+-_Z".repeat(3), ArgKind::Base64Blob),
            ("--password=hunter2".to_owned(), ArgKind::SecretFlag),
            ("--password".to_owned(), ArgKind::SecretFlag),
            ("--api-key=abc".to_owned(), ArgKind::SecretFlag),
            ("--token=x".to_owned(), ArgKind::SecretFlag),
            ("-token=x".to_owned(), ArgKind::SecretFlag),
            ("password=hunter2".to_owned(), ArgKind::SecretPair),
            ("PGPASSWORD=hunter2".to_owned(), ArgKind::SecretPair),
            ("token=abc".to_owned(), ArgKind::SecretPair),
            ("--set=api_key=abc".to_owned(), ArgKind::SecretPair),
            (gh.clone(), ArgKind::Secret(SecretKind::GithubToken)),
            (
                format!("--note={gh}"),
                ArgKind::Secret(SecretKind::GithubToken),
            ),
            (
                "postgres://cutter:s3cret@db/iu".to_owned(),
                ArgKind::Secret(SecretKind::UrlPassword),
            ),
            (
                "--store=postgres://cutter:s3cret@db/iu".to_owned(),
                ArgKind::Secret(SecretKind::UrlPassword),
            ),
            (
                // base64 with '/' is path-like, and still refused as a secret
                "q2Wv9+Lx/7HkZp3Rn8Tj1Bc6Ym4Ds0Fa5Ge2Ih9Kl==".to_owned(),
                ArgKind::Secret(SecretKind::HighEntropy),
            ),
            (
                format!("keys/{gh}.key"),
                ArgKind::Secret(SecretKind::GithubToken),
            ),
        ];
        for (arg, kind) in &refused {
            assert_eq!(
                one(arg),
                Err(ArgRefusal {
                    index: 0,
                    reason: *kind
                }),
                "{arg}"
            );
        }
    }

    #[test]
    fn index_is_of_the_first_refused_argument() {
        let args = ["run", "plan.toml", DIGEST, "password=x"];
        assert_eq!(
            check_args(args),
            Err(ArgRefusal {
                index: 2,
                reason: ArgKind::Digest
            })
        );
    }

    #[test]
    fn refusals_explain_and_do_not_echo_the_argument() {
        let gh = ["gh", "p_", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"].concat();
        for (arg, hint) in [
            (DIGEST, "read from the run folder"),
            ("password=hunter2", "never from the command line"),
            ("--password=hunter2", "-file or -env"),
            (gh.as_str(), "rotate it"),
            ("6f1c2d3a-9b8e-4f7d-a6c5-b4e3d2c1f0a9", "not typed"),
        ] {
            let err = one(arg).unwrap_err();
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(!shown.contains(arg), "{shown}");
                assert!(!shown.contains("hunter2"), "{shown}");
            }
            assert!(err.to_string().contains(hint), "{err}");
            assert!(err.to_string().starts_with("argument #0 refused"), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_arguments_are_checked_lossily() {
        use std::os::unix::ffi::OsStringExt;
        let mut bytes = DIGEST.as_bytes().to_vec();
        bytes.push(0xff);
        let arg = OsString::from_vec(bytes);
        assert_eq!(
            check_args([arg]),
            Err(ArgRefusal {
                index: 0,
                reason: ArgKind::Digest
            })
        );
        assert_eq!(check_args([OsString::from_vec(vec![b'a', 0xff])]), Ok(()));
    }
}
