//! Keeping secrets out of error text: URL redaction and scrubbing.

/// `url` with any password replaced by `***`: the password of a
/// `scheme://user:password@host` URL, and any `password=…` parameter (URL
/// query or `key=value` connection string).
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(start) = out.find("://").map(|i| i + 3) {
        let authority_end = out[start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| start + i);
        if let Some(at) = out[start..authority_end].rfind('@').map(|i| start + i)
            && let Some(colon) = out[start..at].find(':').map(|i| start + i)
        {
            out.replace_range(colon + 1..at, "***");
        }
    }
    redact_password_params(&out)
}

/// Replaces the value of every `password=` parameter with `***`.
fn redact_password_params(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find("password=").map(|i| search + i) {
        let value_start = found + "password=".len();
        let value_end = if text[value_start..].starts_with('\'') {
            text[value_start + 1..]
                .find('\'')
                .map_or(text.len(), |i| value_start + i + 2)
        } else {
            text[value_start..]
                .find(['&', ' ', '\t', '\n'])
                .map_or(text.len(), |i| value_start + i)
        };
        out.push_str(&text[copied..value_start]);
        out.push_str("***");
        copied = value_end;
        search = value_end.max(value_start);
    }
    out.push_str(&text[copied..]);
    out
}

/// `message` with every non-empty secret replaced by `***`.
pub(crate) fn scrub(message: &str, secrets: &[&str]) -> String {
    let mut out = message.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:s3cr%40t@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("postgres://u@h/db?password=xyz&sslmode=disable"),
            "postgres://u@h/db?password=***&sslmode=disable"
        );
        assert_eq!(
            redact_url("host=h user=u password='a b' dbname=d"),
            "host=h user=u password=*** dbname=d"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(
            redact_url("postgresql://u:p:q@h/db"),
            "postgresql://u:***@h/db"
        );
    }

    #[test]
    fn scrub_removes_secrets() {
        assert_eq!(scrub("a hunter2 b", &["hunter2", ""]), "a *** b");
    }
}
