//! Ed25519 key files: generation, the text format, loading and writing.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{PUBLIC_KEY_LENGTH, SECRET_KEY_LENGTH, SigningKey, VerifyingKey};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::statement::is_lower_hex;

/// `format` field of a signing key file.
pub const SIGNING_KEY_FORMAT: &str = "phasehost-ed25519-signing-key-v1";
/// `format` field of a public key file.
pub const PUBLIC_KEY_FORMAT: &str = "phasehost-ed25519-public-key-v1";
/// Key files larger than this are refused unread.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// Errors of key generation, key files and the trust store.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("key file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file does not hold a key in the documented format.
    #[error("key file {origin} is malformed: {detail}")]
    Malformed {
        /// The file (or `<text>` when parsed from a string).
        origin: String,
        /// What is wrong (never the key material).
        detail: String,
    },
    /// A signing key file is readable by group or others (unix).
    #[error("signing key file {} is readable by others (mode {mode:o}): chmod 600 it", path.display())]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Writing would overwrite an existing key file.
    #[error("key file {} already exists; refusing to overwrite it", path.display())]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// The key name is not a plain file name.
    #[error(
        "invalid key name {name:?}: use 1-64 letters, digits, '-', '_' or '.', not starting with '.'"
    )]
    InvalidName {
        /// The refused name.
        name: String,
    },
    /// The holder name is not readable.
    #[error(
        "invalid holder name: use 1-200 characters without control characters, e.g. \"Full Name <email>\""
    )]
    InvalidHolder,
    /// A trust store was built from no key at all.
    #[error("the trust store is empty: name at least one public key file")]
    EmptyTrustStore,
}

/// The key id of a public key: the first 16 hex characters of
/// sha256(public key bytes).
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    hex::encode(&digest[..8])
}

/// A signing (private) key, as held in a `<name>.key` file. Its `Debug`
/// shows only the key id.
#[derive(Clone)]
pub struct SigningKeyFile {
    key: SigningKey,
    holder: Option<String>,
}

/// A public key, as held in a `<name>.pub` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyFile {
    key: VerifyingKey,
    holder: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SigningKeyText {
    format: String,
    key_id: String,
    secret_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holder: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicKeyText {
    format: String,
    key_id: String,
    public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holder: Option<String>,
}

/// Longest holder name (`Full Name <email>`), in characters.
pub const MAX_HOLDER_CHARS: usize = 200;

/// Whether `holder` is a name a person can read: 1–200 characters, no
/// control or bidi formatting characters, not only spaces.
pub fn valid_holder(holder: &str) -> bool {
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    !holder.trim().is_empty()
        && holder.chars().count() <= MAX_HOLDER_CHARS
        && !holder.chars().any(|c| c.is_control() || bidi(c))
}

fn checked_holder(holder: Option<String>, origin: &str) -> Result<Option<String>, KeyError> {
    match holder {
        Some(h) if !valid_holder(&h) => Err(KeyError::Malformed {
            origin: origin.to_owned(),
            detail: "holder is not a readable name (1-200 characters, no control characters)"
                .to_owned(),
        }),
        other => Ok(other),
    }
}

/// Generates a fresh key pair from the operating system's random source.
pub fn generate_keypair() -> (SigningKeyFile, PublicKeyFile) {
    let key = SigningKey::generate(&mut OsRng);
    let public = PublicKeyFile {
        key: key.verifying_key(),
        holder: None,
    };
    (SigningKeyFile { key, holder: None }, public)
}

impl SigningKeyFile {
    /// Wraps an existing signing key.
    pub fn new(key: SigningKey) -> Self {
        Self { key, holder: None }
    }

    /// The same key, held by `holder` (`Full Name <email>`).
    pub fn with_holder(mut self, holder: Option<String>) -> Self {
        self.holder = holder;
        self
    }

    /// Who holds the key, as the key file says.
    pub fn holder(&self) -> Option<&str> {
        self.holder.as_deref()
    }

    /// The signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKeyFile {
        PublicKeyFile {
            key: self.key.verifying_key(),
            holder: self.holder.clone(),
        }
    }

    /// The key id of the matching public key.
    pub fn key_id(&self) -> String {
        key_id(&self.key.verifying_key())
    }

    /// The file text (JSON, see the module docs), ending in a newline.
    pub fn to_text(&self) -> String {
        let text = SigningKeyText {
            format: SIGNING_KEY_FORMAT.to_owned(),
            key_id: self.key_id(),
            secret_key: hex::encode(self.key.to_bytes()),
            holder: self.holder.clone(),
        };
        to_json_line(&text)
    }

    /// Parses the file text. `origin` names the source in errors.
    pub fn from_text(text: &str, origin: &str) -> Result<Self, KeyError> {
        let bad = |detail: &str| KeyError::Malformed {
            origin: origin.to_owned(),
            detail: detail.to_owned(),
        };
        // The serde error is not echoed: it could quote key material.
        let parsed: SigningKeyText = serde_json::from_str(text)
            .map_err(|_| bad("not a JSON signing key object with format, key_id, secret_key"))?;
        if parsed.format != SIGNING_KEY_FORMAT {
            return Err(bad(&format!("format is not {SIGNING_KEY_FORMAT:?}")));
        }
        if !is_lower_hex(&parsed.secret_key, 2 * SECRET_KEY_LENGTH) {
            return Err(bad("secret_key is not 64 lowercase hex characters"));
        }
        let mut bytes = [0u8; SECRET_KEY_LENGTH];
        hex::decode_to_slice(&parsed.secret_key, &mut bytes)
            .map_err(|_| bad("secret_key is not hex"))?;
        let file = Self {
            key: SigningKey::from_bytes(&bytes),
            holder: checked_holder(parsed.holder, origin)?,
        };
        if parsed.key_id != file.key_id() {
            return Err(bad("key_id does not match the key"));
        }
        Ok(file)
    }
}

impl fmt::Debug for SigningKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyFile")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

impl PublicKeyFile {
    /// Wraps an existing public key.
    pub fn new(key: VerifyingKey) -> Self {
        Self { key, holder: None }
    }

    /// Who holds the key, as the key file says.
    pub fn holder(&self) -> Option<&str> {
        self.holder.as_deref()
    }

    /// The public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The key id.
    pub fn key_id(&self) -> String {
        key_id(&self.key)
    }

    /// The file text (JSON, see the module docs), ending in a newline.
    pub fn to_text(&self) -> String {
        let text = PublicKeyText {
            format: PUBLIC_KEY_FORMAT.to_owned(),
            key_id: self.key_id(),
            public_key: hex::encode(self.key.as_bytes()),
            holder: self.holder.clone(),
        };
        to_json_line(&text)
    }

    /// Parses the file text. `origin` names the source in errors.
    pub fn from_text(text: &str, origin: &str) -> Result<Self, KeyError> {
        let bad = |detail: &str| KeyError::Malformed {
            origin: origin.to_owned(),
            detail: detail.to_owned(),
        };
        let parsed: PublicKeyText = serde_json::from_str(text).map_err(|e| {
            bad(&format!(
                "not a JSON public key object with format, key_id, public_key ({e})"
            ))
        })?;
        if parsed.format != PUBLIC_KEY_FORMAT {
            return Err(bad(&format!("format is not {PUBLIC_KEY_FORMAT:?}")));
        }
        let key = decode_public_key(&parsed.public_key).map_err(|detail| bad(&detail))?;
        if parsed.key_id != key_id(&key) {
            return Err(bad("key_id does not match the key"));
        }
        Ok(Self {
            key,
            holder: checked_holder(parsed.holder, origin)?,
        })
    }
}

/// Decodes 64 lowercase hex characters into a usable (not small-order)
/// Ed25519 public key.
pub(crate) fn decode_public_key(hex_text: &str) -> Result<VerifyingKey, String> {
    if !is_lower_hex(hex_text, 2 * PUBLIC_KEY_LENGTH) {
        return Err("public_key is not 64 lowercase hex characters".to_owned());
    }
    let mut bytes = [0u8; PUBLIC_KEY_LENGTH];
    hex::decode_to_slice(hex_text, &mut bytes).map_err(|e| format!("public_key: {e}"))?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| "public_key is not an Ed25519 point")?;
    if key.is_weak() {
        return Err("public_key is a weak (small-order) point".to_owned());
    }
    Ok(key)
}

fn to_json_line<T: Serialize>(value: &T) -> String {
    // Serializing a struct of strings cannot fail.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Where [`write_key_files`] wrote a new key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFilePaths {
    /// `<dir>/<name>.key`, mode 0600 on unix.
    pub signing_key: PathBuf,
    /// `<dir>/<name>.pub`.
    pub public_key: PathBuf,
    /// The new key's id.
    pub key_id: String,
}

/// Generates a key pair and writes `<dir>/<name>.key` (mode 0600 on unix)
/// and `<dir>/<name>.pub`. Never overwrites an existing file.
pub fn write_key_files(dir: &Path, name: &str) -> Result<KeyFilePaths, KeyError> {
    write_held_key_files(dir, name, None)
}

/// [`write_key_files`] for a key held by `holder` (`Full Name <email>`),
/// which both files record.
pub fn write_held_key_files(
    dir: &Path,
    name: &str,
    holder: Option<&str>,
) -> Result<KeyFilePaths, KeyError> {
    if let Some(h) = holder
        && !valid_holder(h)
    {
        return Err(KeyError::InvalidHolder);
    }
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid_name {
        return Err(KeyError::InvalidName {
            name: name.to_owned(),
        });
    }
    let signing_path = dir.join(format!("{name}.key"));
    let public_path = dir.join(format!("{name}.pub"));
    for path in [&signing_path, &public_path] {
        if path.exists() {
            return Err(KeyError::AlreadyExists { path: path.clone() });
        }
    }
    let (signing, _) = generate_keypair();
    let signing = signing.with_holder(holder.map(str::to_owned));
    let public = signing.public();
    write_new_file(&signing_path, signing.to_text().as_bytes(), 0o600)?;
    write_new_file(&public_path, public.to_text().as_bytes(), 0o644)?;
    Ok(KeyFilePaths {
        signing_key: signing_path,
        public_key: public_path,
        key_id: signing.key_id(),
    })
}

fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::AlreadyExists {
                path: path.to_owned(),
            }
        } else {
            io(source)
        }
    })?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Loads a signing key file. On unix a file readable or writable by group
/// or others is refused ([`KeyError::TooOpen`]).
pub fn load_signing_key(path: &Path) -> Result<SigningKeyFile, KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let text = read_small(path)?;
    SigningKeyFile::from_text(&text, &path.display().to_string())
}

/// Loads a public key file.
pub fn load_public_key(path: &Path) -> Result<PublicKeyFile, KeyError> {
    let text = read_small(path)?;
    PublicKeyFile::from_text(&text, &path.display().to_string())
}

fn read_small(path: &Path) -> Result<String, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let malformed = |detail: &str| KeyError::Malformed {
        origin: path.display().to_string(),
        detail: detail.to_owned(),
    };
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(malformed("larger than 4096 bytes"));
    }
    String::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_is_16_hex_of_sha256_of_public_key() {
        let (signing, public) = generate_keypair();
        let expected = hex::encode(Sha256::digest(public.verifying_key().as_bytes()));
        assert_eq!(public.key_id(), expected[..16]);
        assert_eq!(signing.key_id(), public.key_id());
    }

    #[test]
    fn written_files_load_back_and_key_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_key_files(dir.path(), "alice").unwrap();
        assert_eq!(paths.signing_key, dir.path().join("alice.key"));
        let signing = load_signing_key(&paths.signing_key).unwrap();
        let public = load_public_key(&paths.public_key).unwrap();
        assert_eq!(signing.public(), public);
        assert_eq!(paths.key_id, public.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&paths.signing_key)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_holder_is_in_both_files_and_must_be_readable() {
        let dir = tempfile::tempdir().unwrap();
        let paths =
            write_held_key_files(dir.path(), "ana", Some("Ana Lê <ana@example.vn>")).unwrap();
        assert_eq!(
            load_public_key(&paths.public_key).unwrap().holder(),
            Some("Ana Lê <ana@example.vn>")
        );
        assert_eq!(
            load_signing_key(&paths.signing_key).unwrap().holder(),
            Some("Ana Lê <ana@example.vn>")
        );
        for bad in ["", "   ", "a\u{202e}b", "a\nb"] {
            assert!(matches!(
                write_held_key_files(dir.path(), "x", Some(bad)),
                Err(KeyError::InvalidHolder)
            ));
        }
    }

    #[test]
    fn refuses_to_overwrite_and_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        write_key_files(dir.path(), "k").unwrap();
        assert!(matches!(
            write_key_files(dir.path(), "k"),
            Err(KeyError::AlreadyExists { .. })
        ));
        let long = "n".repeat(65);
        for name in ["", "../x", "a/b", ".hidden", "a b", long.as_str()] {
            assert!(
                matches!(
                    write_key_files(dir.path(), name),
                    Err(KeyError::InvalidName { .. })
                ),
                "{name:?}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn group_readable_signing_key_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let paths = write_key_files(dir.path(), "k").unwrap();
        fs::set_permissions(&paths.signing_key, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            load_signing_key(&paths.signing_key),
            Err(KeyError::TooOpen { mode: 0o640, .. })
        ));
    }

    #[test]
    fn malformed_key_texts_are_refused() {
        let (signing, public) = generate_keypair();
        let other = generate_keypair().1;
        let good_pub = public.to_text();
        let good_key = signing.to_text();
        let pub_cases = [
            "".to_owned(),
            "not json".to_owned(),
            good_pub.replace(PUBLIC_KEY_FORMAT, "other-format"),
            good_pub.replace(&public.key_id(), &other.key_id()),
            good_pub.replace('}', ",\"extra\":1}"),
            good_pub.replace(
                &hex::encode(public.verifying_key().as_bytes()),
                &"ab".repeat(31),
            ),
            // the identity point: a weak key, with its correct key id
            weak_key_text(),
        ];
        for (i, text) in pub_cases.iter().enumerate() {
            assert!(
                matches!(
                    PublicKeyFile::from_text(text, "t"),
                    Err(KeyError::Malformed { .. })
                ),
                "public case {i}"
            );
        }
        let secret_hex = hex::encode(signing.signing_key().to_bytes());
        let key_cases = [
            good_key.replace(SIGNING_KEY_FORMAT, PUBLIC_KEY_FORMAT),
            good_key.replace(&signing.key_id(), &other.key_id()),
            good_key.replace(&secret_hex, &secret_hex.to_uppercase()),
            good_key.replace(&secret_hex, &secret_hex[..62]),
            good_pub.clone(),
        ];
        for (i, text) in key_cases.iter().enumerate() {
            let err = SigningKeyFile::from_text(text, "t").unwrap_err();
            assert!(matches!(err, KeyError::Malformed { .. }), "key case {i}");
            assert!(!err.to_string().contains(&secret_hex[..16]), "key case {i}");
        }
        assert_eq!(
            SigningKeyFile::from_text(&good_key, "t").unwrap().key_id(),
            signing.key_id()
        );
    }

    /// A public key file for the identity point (small order), otherwise valid.
    fn weak_key_text() -> String {
        let bytes = {
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        };
        let weak = VerifyingKey::from_bytes(&bytes).unwrap();
        assert!(weak.is_weak());
        format!(
            "{{\"format\":\"{PUBLIC_KEY_FORMAT}\",\"key_id\":\"{}\",\"public_key\":\"{}\"}}",
            key_id(&weak),
            hex::encode(bytes)
        )
    }

    #[test]
    fn weak_public_key_is_refused() {
        let err = PublicKeyFile::from_text(&weak_key_text(), "t").unwrap_err();
        assert!(err.to_string().contains("weak"), "{err}");
    }

    #[test]
    fn debug_of_signing_key_file_hides_the_secret() {
        let (signing, _) = generate_keypair();
        let secret_hex = hex::encode(signing.signing_key().to_bytes());
        let shown = format!("{signing:?}");
        assert!(shown.contains(&signing.key_id()));
        assert!(!shown.contains(&secret_hex));
    }

    #[test]
    fn oversized_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.pub");
        // Valid JSON, but padded past the size limit.
        let (_, public) = generate_keypair();
        fs::write(&path, format!("{}{}", public.to_text(), " ".repeat(5000))).unwrap();
        assert!(matches!(
            load_public_key(&path),
            Err(KeyError::Malformed { .. })
        ));
        fs::write(&path, [b'{', 0xff, b'}']).unwrap();
        assert!(matches!(
            load_public_key(&path),
            Err(KeyError::Malformed { .. })
        ));
    }
}
