//! Secret-shaped keys (names) in JSON maps.

/// Fragments that make a key secret-shaped wherever they appear in it,
/// after lowercasing and removing separators (`PGPASSWORD`,
/// `db_password_hash`, `clientSecret`, `X-Api-Key`).
const ANYWHERE: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "apikey",
    "privatekey",
    "privkey",
    "accesskey",
    "credential",
    "authorization",
];

/// Words that make a key secret-shaped when they are a whole word of it, or
/// two adjacent words joined (`auth`, `session_id`, `sessionId`,
/// `refresh-token`, `ssh_key`), but not inside other words (`author`).
const WORDS: &[&str] = &[
    "token",
    "tokens",
    "auth",
    "creds",
    "pwd",
    "session",
    "sessionid",
    "cookie",
    "bearer",
    "dsn",
    "connectionstring",
    "sshkey",
    "signingkey",
    "encryptionkey",
    "masterkey",
];

/// True when a JSON key names a secret (case-insensitive; `-`, `_`, `.`,
/// spaces and camelCase all separate words).
pub fn is_secret_key(key: &str) -> bool {
    // Splitting, then each fragment looked for, then each pair of words.
    super::steps::add((2 + ANYWHERE.len()) * key.len());
    let words = split_words(key);
    let squashed: String = words.concat();
    if ANYWHERE.iter().any(|fragment| squashed.contains(fragment)) {
        return true;
    }
    words.iter().enumerate().any(|(i, word)| {
        WORDS.contains(&word.as_str())
            || words
                .get(i + 1)
                .is_some_and(|next| WORDS.contains(&format!("{word}{next}").as_str()))
    })
}

/// Lowercase words of a key: split at every non-alphanumeric character and
/// at camelCase boundaries (`APIKey` → `api`, `key`).
pub(crate) fn split_words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_numeric()
                    || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words() {
        assert_eq!(split_words("apiKey"), ["api", "key"]);
        assert_eq!(split_words("APIKey"), ["api", "key"]);
        assert_eq!(split_words("X-Auth-Token"), ["x", "auth", "token"]);
        assert_eq!(split_words("session_ID"), ["session", "id"]);
        assert_eq!(split_words("OAuthToken"), ["o", "auth", "token"]);
        assert_eq!(split_words("db.pass word"), ["db", "pass", "word"]);
    }

    #[test]
    fn secret_shaped_keys() {
        let secret = [
            "password",
            "PASSWORD",
            "Password",
            "db_password",
            "PGPASSWORD",
            "password_hash",
            "passwd",
            "pwd",
            "passphrase",
            "secret",
            "client_secret",
            "clientSecret",
            "SECRET_KEY",
            "token",
            "access_token",
            "accessToken",
            "refresh-token",
            "X-Auth-Token",
            "id_tokens",
            "api_key",
            "api-key",
            "apiKey",
            "APIKEY",
            "x-api-key",
            "private_key",
            "privateKey",
            "private-key",
            "privkey",
            "access_key",
            "aws_access_key_id",
            "AccessKey",
            "credential",
            "credentials",
            "Credentials",
            "creds",
            "auth",
            "Authorization",
            "basic-auth",
            "session",
            "sessionId",
            "session_id",
            "SESSION-TOKEN",
            "cookie",
            "Set-Cookie",
            "bearer",
            "database_dsn",
            "connection_string",
            "ssh_key",
            "signingKey",
            "sessionid",
            "encryption_key",
            "MasterKey",
        ];
        for key in secret {
            assert!(is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn ordinary_keys() {
        let fine = [
            "",
            "run_id",
            "key_id",
            "public_key",
            "primary_key",
            "keys",
            "author",
            "authors",
            "authority",
            "plan_digest",
            "evidence_digest",
            "sha256",
            "eId",
            "heading",
            "text_sha",
            "passed",
            "pass",
            "bypass",
            "tokenizer",
            "units_written",
            "review_decision_id",
            "approval_id",
            "document_id",
            "Điều",
        ];
        for key in fine {
            assert!(!is_secret_key(key), "{key}");
        }
    }
}
