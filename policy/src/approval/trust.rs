//! The set of public keys whose approvals are trusted.

use std::collections::BTreeMap;
use std::path::Path;

use ed25519_dalek::VerifyingKey;

use super::keys::{KeyError, key_id, load_public_key};

/// Trusted public keys, by key id. Membership compares the full key bytes,
/// not just the id.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: BTreeMap<String, VerifyingKey>,
    holders: BTreeMap<String, String>,
}

impl TrustStore {
    /// An empty store (trusts nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads every public key file; refuses an empty list
    /// ([`KeyError::EmptyTrustStore`]) and any malformed file.
    pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self, KeyError> {
        if paths.is_empty() {
            return Err(KeyError::EmptyTrustStore);
        }
        let mut store = Self::new();
        for path in paths {
            let file = load_public_key(path.as_ref())?;
            store.insert(*file.verifying_key());
            if let Some(holder) = file.holder() {
                store
                    .holders
                    .insert(key_id(file.verifying_key()), holder.to_owned());
            }
        }
        Ok(store)
    }

    /// Who holds the trusted key `key_id`, as its public key file says.
    pub fn holder(&self, key_id: &str) -> Option<&str> {
        self.holders.get(key_id).map(String::as_str)
    }

    /// `Full Name <email> (key id)`, or the key id alone when the key file
    /// names nobody: how people are shown in messages.
    pub fn describe(&self, key_id: &str) -> String {
        match self.holder(key_id) {
            Some(holder) => format!("{holder} (key {key_id})"),
            None => format!("key {key_id}"),
        }
    }

    /// Adds a trusted key.
    pub fn insert(&mut self, key: VerifyingKey) {
        self.keys.insert(key_id(&key), key);
    }

    /// True when exactly this key is trusted.
    pub fn contains(&self, key: &VerifyingKey) -> bool {
        self.keys.get(&key_id(key)) == Some(key)
    }

    /// The trusted key ids, sorted.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Number of trusted keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when nothing is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
