//! Walking JSON values for secret-shaped keys and values.

use serde_json::Value;

use super::finding::SecretKind;
use super::keys::is_secret_key;
use super::scan::scan_value;
use super::steps;

/// Longest JSON path reported whole. A longer one keeps its first and last
/// `MAX_REPORTED_PATH / 2` bytes around `…`: every member removed under
/// one long path would otherwise repeat it, quadratic in the input.
pub(crate) const MAX_REPORTED_PATH: usize = 512;

/// `path`, shortened to about [`MAX_REPORTED_PATH`] bytes.
fn reported(path: &str) -> String {
    steps::add(path.len().min(MAX_REPORTED_PATH));
    if path.len() <= MAX_REPORTED_PATH {
        return path.to_owned();
    }
    let mut head = MAX_REPORTED_PATH / 2;
    while !path.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = path.len() - MAX_REPORTED_PATH / 2;
    while !path.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}…{}", &path[..head], &path[tail..])
}

/// Why a JSON value may not cross the boundary. The path never contains
/// the secret: a key that is itself secret-shaped is shown as
/// `["[REDACTED:<kind>]"]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretViolation {
    /// A key names a secret (`password`, `api_key`, …).
    #[error("secret-shaped key at {path}: plugins never handle credentials; remove the field")]
    Key {
        /// JSON path of the member, e.g. `$.db.password`.
        path: String,
    },
    /// A string (or a key) looks like a secret.
    #[error("secret-shaped value ({kind}) at {path}; the value is not shown")]
    Value {
        /// JSON path of the value, e.g. `$.a.b[3]`.
        path: String,
        /// What it looks like.
        kind: SecretKind,
    },
}

/// Refuses the first (in document order; object members in key order)
/// secret-shaped key or value. For each member the key is checked as a
/// value first, then as a name, then its value.
pub fn scan_json(value: &Value) -> Result<(), SecretViolation> {
    let mut path = String::from("$");
    walk(value, &mut path)
}

fn walk(value: &Value, path: &mut String) -> Result<(), SecretViolation> {
    steps::add(1);
    match value {
        Value::String(text) => match scan_value(text) {
            Some(finding) => Err(SecretViolation::Value {
                path: reported(path),
                kind: finding.kind,
            }),
            None => Ok(()),
        },
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                walk(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(members) => {
            for (key, item) in members {
                let len = path.len();
                push_key(path, key);
                if let Some(finding) = scan_value(key) {
                    return Err(SecretViolation::Value {
                        path: reported(path),
                        kind: finding.kind,
                    });
                }
                if is_secret_key(key) {
                    return Err(SecretViolation::Key {
                        path: reported(path),
                    });
                }
                walk(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// Removes every member whose key is secret-shaped (by name, or because the
/// key itself looks like a secret), at any depth, and returns the cleaned
/// value with the removed paths in document order. Secret-shaped *values*
/// under ordinary keys stay: run [`scan_json`] on the result to refuse them.
pub fn strip_secret_keys(value: Value) -> (Value, Vec<String>) {
    let mut removed = Vec::new();
    let mut path = String::from("$");
    let cleaned = strip(value, &mut path, &mut removed);
    (cleaned, removed)
}

fn strip(value: Value, path: &mut String, removed: &mut Vec<String>) -> Value {
    steps::add(1);
    match value {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| {
                    let len = path.len();
                    path.push_str(&format!("[{index}]"));
                    let item = strip(item, path, removed);
                    path.truncate(len);
                    item
                })
                .collect(),
        ),
        Value::Object(members) => {
            let mut kept = serde_json::Map::new();
            for (key, item) in members {
                let len = path.len();
                push_key(path, &key);
                if is_secret_key(&key) || scan_value(&key).is_some() {
                    removed.push(reported(path));
                } else {
                    let item = strip(item, path, removed);
                    kept.insert(key, item);
                }
                path.truncate(len);
            }
            Value::Object(kept)
        }
        other => other,
    }
}

/// Appends `.key`, `["key"]`, or `["[REDACTED:<kind>]"]` for a key that
/// looks like a secret itself.
fn push_key(path: &mut String, key: &str) {
    steps::add(key.len());
    if let Some(finding) = scan_value(key) {
        path.push_str(&format!("[\"[REDACTED:{}]\"]", finding.kind));
        return;
    }
    let plain = key
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        // A string always serializes.
        path.push_str(&serde_json::to_string(key).unwrap_or_default());
        path.push(']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gh_token() -> String {
        ["gh", "p_", &"aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"[..36]].concat()
    }

    #[test]
    fn clean_values_pass() {
        let value = json!({
            "run_id": "run-1",
            "plan_digest": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "counts": {"article": 120, "chapter": 11},
            "units": [{"eId": "chp_1__art_5", "heading": "Điều 5", "text": "Nước Cộng hòa xã hội chủ nghĩa Việt Nam"}],
            "ok": true,
            "nothing": null
        });
        assert_eq!(scan_json(&value), Ok(()));
        assert_eq!(strip_secret_keys(value.clone()), (value, vec![]));
    }

    #[test]
    fn secret_key_is_refused_with_its_path() {
        let value = json!({"store": {"url": "sqlite:db", "password": "hunter2"}});
        let err = scan_json(&value).unwrap_err();
        assert_eq!(
            err,
            SecretViolation::Key {
                path: "$.store.password".to_owned()
            }
        );
        assert!(!err.to_string().contains("hunter2"));
        assert!(!format!("{err:?}").contains("hunter2"));
    }

    #[test]
    fn secret_value_is_refused_with_its_path_and_kind() {
        let token = gh_token();
        let value = json!({"a": {"b": ["x", "y", "z", format!("token is {token}")]}});
        let err = scan_json(&value).unwrap_err();
        assert_eq!(
            err,
            SecretViolation::Value {
                path: "$.a.b[3]".to_owned(),
                kind: SecretKind::GithubToken
            }
        );
        assert!(!err.to_string().contains(&token));
        assert!(!format!("{err:?}").contains(&token));
    }

    #[test]
    fn a_key_that_is_itself_a_secret_is_refused_and_not_echoed() {
        let token = gh_token();
        let value = json!({"logs": {token.clone(): 1}});
        let err = scan_json(&value).unwrap_err();
        assert!(
            matches!(&err, SecretViolation::Value { kind: SecretKind::GithubToken, path } if path == "$.logs[\"[REDACTED:github-token]\"]"),
            "{err}"
        );
        assert!(!err.to_string().contains(&token));
        let (cleaned, removed) = strip_secret_keys(value);
        assert_eq!(cleaned, json!({"logs": {}}));
        assert!(!removed[0].contains(&token));
    }

    #[test]
    fn odd_keys_are_bracket_quoted() {
        let value = json!({"a b": {"1x": {"api-key": "v"}}});
        let err = scan_json(&value).unwrap_err();
        assert_eq!(
            err,
            SecretViolation::Key {
                path: r#"$["a b"]["1x"]["api-key"]"#.to_owned()
            }
        );
    }

    #[test]
    fn strip_removes_secret_keys_at_any_depth_and_keeps_the_rest() {
        let value = json!({
            "pins": {"source_sha": "ab", "api_key": "k", "nested": [{"Token": "t", "n": 1}]},
            "password": {"deep": "x"},
            "ok": 1
        });
        let (cleaned, removed) = strip_secret_keys(value);
        assert_eq!(
            cleaned,
            json!({"pins": {"source_sha": "ab", "nested": [{"n": 1}]}, "ok": 1})
        );
        assert_eq!(
            removed,
            ["$.password", "$.pins.api_key", "$.pins.nested[0].Token"]
        );
        assert_eq!(scan_json(&cleaned), Ok(()));
    }

    #[test]
    fn strip_keeps_secret_values_for_scan_json_to_refuse() {
        let value = json!({"note": format!("see {}", gh_token())});
        let (cleaned, removed) = strip_secret_keys(value);
        assert!(removed.is_empty());
        assert!(matches!(
            scan_json(&cleaned),
            Err(SecretViolation::Value { .. })
        ));
    }
}
