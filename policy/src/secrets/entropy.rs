//! High-entropy blobs: long runs of base64-alphabet characters whose
//! character distribution is close to random.
//!
//! A run is a maximal sequence of `A-Z a-z 0-9 + / - _` (plus up to two
//! trailing `=`). A run of at least [`HIGH_ENTROPY_MIN_LEN`] characters is
//! flagged when its Shannon entropy (bits per character) reaches
//! [`entropy_threshold`]: the expected entropy of that many uniformly random
//! base64 characters (≈ 6 − 45.4 / len, the Miller–Madow estimate) minus
//! half a bit. Random base64 or alphanumeric keys of 32+ characters are
//! caught ~99.8% of the time; CamelCase identifiers, snake_case names and
//! prose stay below it.
//!
//! Never flagged: runs of hex digits only (digests, ids, signatures — and
//! hex carries at most 4 bits per character, below every threshold), and
//! runs that are paths, whose `/`-separated segments are judged one by one
//! instead. A run is a path when it has more than one `/` per 16
//! characters, or when it has a `/` and both its first and last segments
//! are empty or lowercase words (`runs/<id>/state`, `/tmp/<id>/`) — random
//! base64 (e.g. an AWS secret key with `/` in it) almost never has both.

use super::finding::{SecretFinding, SecretKind};
use super::steps;

/// Shortest run that can be flagged.
pub const HIGH_ENTROPY_MIN_LEN: usize = 32;

/// Shannon entropy of `bytes`, in bits per byte.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// The entropy (bits per character) at or above which a run of `len`
/// characters is flagged: `5.5 - 45.4 / len`.
pub fn entropy_threshold(len: usize) -> f64 {
    5.5 - 45.4 / len as f64
}

/// Which bytes are `A-Z a-z 0-9 + / - _`: the characters of a run here, and
/// of a base64 run in `decode.rs`.
pub(crate) static RUN_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
        b += 1;
    }
    table
};

fn is_run_char(b: u8) -> bool {
    RUN_CHARS[usize::from(b)]
}

/// Appends every high-entropy run in `text` to `out`.
///
/// Linear: runs are disjoint; a run is judged in O(its length) (counting
/// its `/`, checking for hex, one 256-entry histogram), and a path's
/// segments, which have no `/`, once more.
pub(crate) fn find_high_entropy(text: &str, out: &mut Vec<SecretFinding>) {
    let bytes = text.as_bytes();
    steps::add(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if !is_run_char(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_run_char(bytes[i]) {
            i += 1;
        }
        let mut end = i;
        while end < bytes.len() && end - i < 2 && bytes[end] == b'=' {
            end += 1;
        }
        i = end;
        judge_run(bytes, start, end, out);
    }
}

/// Whether a run is a path rather than base64 (see the module docs).
fn is_path(run: &[u8]) -> bool {
    let slashes = run.iter().filter(|&&b| b == b'/').count();
    if slashes == 0 {
        return false;
    }
    let plain = |segment: &[u8]| {
        segment
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b == b'-' || b == b'_')
    };
    let mut segments = run.split(|&b| b == b'/');
    let first = segments.next().unwrap_or_default();
    let last = segments.next_back().unwrap_or_default();
    slashes * 16 > run.len() || (plain(first) && plain(last))
}

fn judge_run(bytes: &[u8], start: usize, end: usize, out: &mut Vec<SecretFinding>) {
    let len = end - start;
    if len < HIGH_ENTROPY_MIN_LEN {
        return;
    }
    let run = &bytes[start..end];
    // `is_path`, then the hex test and the histogram.
    steps::add(2 * len);
    if is_path(run) {
        let mut seg_start = start;
        for (k, &b) in run.iter().enumerate() {
            if b == b'/' {
                judge_run(bytes, seg_start, start + k, out);
                seg_start = start + k + 1;
            }
        }
        judge_run(bytes, seg_start, end, out);
        return;
    }
    if run.iter().all(u8::is_ascii_hexdigit) {
        return;
    }
    steps::add(len + 256);
    if shannon_entropy(run) >= entropy_threshold(len) {
        out.push(SecretFinding {
            kind: SecretKind::HighEntropy,
            offset: start,
            len,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flagged(text: &str) -> bool {
        let mut out = Vec::new();
        find_high_entropy(text, &mut out);
        !out.is_empty()
    }

    #[test]
    fn entropy_of_simple_strings() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abab") - 1.0).abs() < 1e-12);
        assert!((shannon_entropy(b"0123456789abcdef") - 4.0).abs() < 1e-12);
        // Hex can never reach the threshold.
        assert!(entropy_threshold(HIGH_ENTROPY_MIN_LEN) > 4.0);
    }

    #[test]
    fn random_looking_blobs_are_flagged() {
        let blobs = [
            "Jq8vXw2LmZ4pT9rYk3NbC6dHf1sGa7Ue",
            "q2Wv9+Lx/7HkZp3Rn8Tj1Bc6Ym4Ds0Fa5Ge2Ih9Kl==",
            "mF3-kQ9_xV2zL7wP4rT8yB1nC6hJ5sD0gA3eU9iO",
        ];
        for blob in blobs {
            assert!(flagged(blob), "{blob}");
            assert!(flagged(&format!("value: {blob}.")), "{blob}");
        }
    }

    #[test]
    fn hex_identifiers_paths_and_prose_are_not_flagged() {
        let fine = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "6f1c2d3a-9b8e-4f7d-a6c5-b4e3d2c1f0a9",
            "AbstractSingletonProxyFactoryBean2x",
            "ThisIsMyVeryLongCamelCaseFunctionNameV2Beta",
            "this_is_a_very_long_identifier_name_for_tests",
            "art_5__para_2__point_a__and_more_stuff_x1",
            "/usr/local/lib/python3/site-packages/SomeModule/sub/dir",
            "runs/2024-05-01/cutplan/evidence/structural_verify/report",
            "Users/Nguyen/Documents/HienPhap2013/BanGoc/V2", // dense slashes
            "CONSTITUTION_OF_THE_SOCIALIST_REPUBLIC_OF_VIETNAM_2013",
            "Jq8vXw2LmZ4pT9rYk3NbC6dHf1sGa7U", // 31 characters
        ];
        for text in fine {
            assert!(!flagged(text), "{text}");
        }
    }

    #[test]
    fn a_random_segment_inside_a_path_is_flagged() {
        assert!(flagged("/a/b/c/d/Jq8vXw2LmZ4pT9rYk3NbC6dHf1sGa7Ue/e"));
        assert!(flagged("runs/Jq8vXw2LmZ4pT9rYk3NbC6dHf1sGa7Ue/state"));
    }

    #[test]
    fn ids_inside_paths_are_not_flagged_but_base64_with_slashes_is() {
        assert!(!flagged("runs/01HZX3Q4R5S6T7V8W9XAYBZC0D/state.json"));
        assert!(!flagged("/tmp/01HZX3Q4R5S6T7V8W9XAYBZC0D/"));
        // An AWS-style secret access key: base64 with slashes.
        let key = ["wJalrXUtnFEMI/K7MDENG/", "bPxRfiCY9QzV4mN2LkEY"].concat();
        assert!(flagged(&key));
        assert!(flagged(&format!("secret {key} end")));
    }
}
