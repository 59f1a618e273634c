//! Linearity: every detector, view and decoder does O(n) work on
//! adversarial input, counted (not timed) by the step counter that each of
//! them feeds with the bytes it examines; and the linear detectors find
//! exactly what the quadratic ones they replaced did.

use serde_json::{Map, Value, json};

use super::scan::scan_as_is;
use super::*;
use super::{reference, steps, structured, tokens};

mod inputs {
    #![allow(dead_code)]
    include!("../../benches/common/inputs.rs");
}
use inputs::{Rng, adversarial_inputs, token_prefixes};

/// The most steps a scan may take per byte of its input.
const MAX_STEPS_PER_BYTE: u64 = 40;

fn steps_of(run: impl FnOnce()) -> u64 {
    steps::take();
    run();
    steps::take()
}

#[test]
fn every_scan_takes_at_most_c_steps_per_byte() {
    let n = 64 * 1024;
    let big = adversarial_inputs(n);
    let small = adversarial_inputs(n / 4);
    let mut report = Vec::new();
    for ((name, text), (_, quarter)) in big.iter().zip(&small) {
        let steps = steps_of(|| {
            scan_all(text);
        });
        let len = text.len() as u64;
        assert!(
            steps <= MAX_STEPS_PER_BYTE * len,
            "{name}: {steps} steps for {len} bytes"
        );
        // Four times the input is at most about four times the work
        // (a quadratic matcher would take sixteen).
        let quarter_steps = steps_of(|| {
            scan_all(quarter);
        });
        assert!(
            steps * 10 <= 45 * quarter_steps + 10 * 4096,
            "{name}: {steps} steps for {len} bytes, {quarter_steps} for a quarter"
        );
        report.push((steps as f64 / len as f64, name.clone()));
    }
    report.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (per_byte, name) in report.iter().take(8) {
        println!("{per_byte:6.2} steps/byte  {name}");
    }
}

#[test]
fn the_stream_scanner_is_linear_in_the_stream() {
    let prefixes = token_prefixes();
    for prefix in [&prefixes[2], &prefixes[9]] {
        let lines: Vec<String> = (0..4096).map(|_| prefix.repeat(4)).collect();
        let total: usize = lines.iter().map(String::len).sum();
        let mut scanner = StreamScanner::new();
        let steps = steps_of(|| {
            for line in &lines {
                scanner.feed(line);
            }
        });
        // Each feed scans the chunk, and the window joined to it.
        let bound =
            MAX_STEPS_PER_BYTE * (2 * total + lines.len() * StreamScanner::DEFAULT_WINDOW) as u64;
        assert!(steps <= bound, "{prefix}: {steps} steps for {total} bytes");
    }
}

#[test]
fn json_walks_are_linear() {
    // Long keys, nested, with thousands of secret-shaped keys at the
    // bottom: every removed path would repeat the long path above it.
    let mut bottom = Map::new();
    for i in 0..3000 {
        bottom.insert(format!("password{i}"), json!(1));
        bottom.insert(format!("note{i}"), json!("Điều 5"));
    }
    let mut value = Value::Object(bottom);
    for level in 0..100 {
        let mut parent = Map::new();
        parent.insert(format!("{level}-{}", "k".repeat(500)), value);
        value = Value::Object(parent);
    }
    let len = value.to_string().len() as u64;
    let steps = steps_of(|| {
        assert!(scan_json(&value).is_err());
    });
    assert!(
        steps <= MAX_STEPS_PER_BYTE * len,
        "scan_json: {steps} for {len}"
    );
    let mut removed = Vec::new();
    let steps = steps_of(|| {
        removed = strip_secret_keys(value.clone()).1;
    });
    assert!(
        steps <= MAX_STEPS_PER_BYTE * len,
        "strip: {steps} for {len}"
    );
    assert_eq!(removed.len(), 3000);
    let reported: usize = removed.iter().map(String::len).sum();
    assert!(reported <= 3000 * 520, "{reported} bytes of paths");
    assert!(removed[0].starts_with("$[\"99-kkk") && removed[0].ends_with(".password0"));
}

/// The scanner's findings on `text` as it is, before and after: tokens,
/// PEM blocks, and the whole scan without derived views.
fn assert_same_as_before(text: &str) {
    let sorted = |mut v: Vec<SecretFinding>| {
        v.sort_by_key(|f| (f.offset, f.len, f.kind));
        v
    };
    let (mut new, mut old) = (Vec::new(), Vec::new());
    tokens::find_tokens(text, &mut new);
    reference::find_tokens(text, &mut old);
    assert_eq!(sorted(new), sorted(old), "tokens in {text:?}");
    let (mut new, mut old) = (Vec::new(), Vec::new());
    structured::find_pem_private_keys(text, &mut new);
    reference::find_pem_private_keys(text, &mut old);
    assert_eq!(sorted(new), sorted(old), "PEM in {text:?}");
    assert_eq!(scan_as_is(text), reference::scan_all(text), "{text:?}");
}

#[test]
fn the_linear_detectors_find_what_the_quadratic_ones_did() {
    for (_, text) in adversarial_inputs(2048) {
        assert_same_as_before(&text);
    }
    let key = ["PRIVATE", " KEY"].concat();
    let mut fragments: Vec<String> = token_prefixes();
    fragments.extend(
        [
            "IOSFODNN7Q2WZX4B",
            "aB3dE5gH7jK9mN1pQ3sT5",
            "SyA1b2C3d4E5f6G7h8I9j0K_L-m2N3o4P5q",
            "a",
            "A",
            "1",
            "_",
            "-",
            " ",
            "\n",
            ".",
            "x",
            "=",
            "/",
            "@",
            ":",
            "Đ",
            "ｇ",
            "-----BEGIN ",
            "-----END ",
            "-----",
            "RSA ",
            "EC ",
            &key,
            "eyJhbGciOiJIUzI1NiJ9",
            "eyJzdWIiOiIxIn0",
            "eyJ",
            "bearer ",
            "Bearer\t",
            "://",
            "https://",
            "u:p@h",
            "Jq8vXw2LmZ4pT9rYk3NbC6dHf1sGa7Ue",
        ]
        .map(str::to_owned),
    );
    let mut rng = Rng(7);
    for _ in 0..20_000 {
        let count = 1 + (rng.next_u64() % 24) as usize;
        let text: String = (0..count)
            .map(|_| fragments[(rng.next_u64() % fragments.len() as u64) as usize].as_str())
            .collect();
        assert_same_as_before(&text);
    }
}
