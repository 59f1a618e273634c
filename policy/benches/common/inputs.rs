// Adversarial inputs for the secret scanner, shared by the criterion
// benchmark (`benches/scanner.rs`) and the step-count test
// (`src/secrets/tests_linear.rs`, through `include!`). Plain std only.
//
// Each input is about `n` bytes: a unit repeated, aimed at one detector or
// one derived view (the quadratic cases of the review first: a token prefix
// repeated, PEM headers without footers, `eyJ` with dots, `bearer `,
// `a://`, long base64 runs, nested JSON).

/// The token prefixes of the scanner, assembled so that this file does not
/// look like it holds credentials.
pub fn token_prefixes() -> Vec<String> {
    [
        ["AK", "IA"],
        ["AS", "IA"],
        ["gh", "p_"],
        ["gh", "o_"],
        ["gh", "s_"],
        ["gh", "u_"],
        ["gh", "r_"],
        ["github", "_pat_"],
        ["xo", "xa-"],
        ["xo", "xb-"],
        ["xo", "xp-"],
        ["xo", "xr-"],
        ["xo", "xs-"],
        ["AI", "za"],
        ["sk", "_live_"],
        ["rk", "_live_"],
    ]
    .iter()
    .map(|parts| parts.concat())
    .collect()
}

/// `unit` repeated to `n` bytes (cut at a character boundary).
pub fn repeat_to(unit: &str, n: usize) -> String {
    let mut out = unit.repeat(n / unit.len().max(1) + 1);
    let mut cut = n.min(out.len());
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    out
}

/// A small deterministic generator (xorshift64*), for random-looking text.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Lowercase hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every adversarial input of about `n` bytes, with its name.
pub fn adversarial_inputs(n: usize) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |name: &str, text: String| out.push((name.to_owned(), text));
    let prefixes = token_prefixes();
    let github = [&prefixes[2], "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"].concat();
    let aws = [&prefixes[0], "IOSFODNN7Q2WZX4B"].concat();
    let private_key = ["PRIVATE", " KEY"].concat();

    // Token prefixes: each repeated, glued and spaced, and one long body.
    for prefix in &prefixes {
        push(&format!("{prefix} x n"), repeat_to(prefix, n));
        push(
            &format!("{prefix}1 x n"),
            repeat_to(&format!("{prefix}1"), n),
        );
    }
    push("all prefixes", repeat_to(&prefixes.concat(), n));
    push(
        "all prefixes spaced",
        repeat_to(&(prefixes.join(" ") + " "), n),
    );
    push(
        "one long token body",
        format!("{}{}", prefixes[2], repeat_to("a", n)),
    );
    push(
        "tokens and blobs",
        repeat_to(
            &format!("{aws} {github} Jq8vXw2LmZ4pT9rYk3NbC6dHf1sGa7Ue "),
            n,
        ),
    );

    // PEM.
    push(
        "BEGIN RSA KEY x n",
        repeat_to(&format!("-----BEGIN RSA {private_key}-----"), n),
    );
    push(
        "BEGIN RSA KEY + newline x n",
        repeat_to(&format!("-----BEGIN RSA {private_key}-----\n"), n),
    );
    push("BEGIN x n", repeat_to("-----BEGIN ", n));
    push(
        "BEGIN long label x n",
        repeat_to(&format!("-----BEGIN {}", "A".repeat(60)), n),
    );
    push(
        "END x n",
        repeat_to(&format!("-----END RSA {private_key}-----"), n),
    );
    push(
        "BEGIN a END b x n",
        repeat_to(
            &format!("-----BEGIN A {private_key}-----x-----END B {private_key}-----"),
            n,
        ),
    );
    push("dashes x n", repeat_to("-", n));

    // JWT.
    push("eyJ x n", repeat_to("eyJ", n));
    push("eyJ. x n", repeat_to("eyJ.", n));
    push("eyJ header. x n", repeat_to("eyJhbGciOiJIUzI1NiJ9.", n));
    push("eyJ long header", format!("eyJ{}", repeat_to("a", n)));
    push(
        "jwt x n",
        repeat_to("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl ", n),
    );

    // Bearer.
    push("bearer space x n", repeat_to("bearer ", n));
    push("Bearer x n", repeat_to("Bearer", n));
    push("bearer then spaces", format!("bearer{}", repeat_to(" ", n)));
    push(
        "bearer then token",
        format!("Bearer {}", repeat_to("aB1", n)),
    );

    // URL passwords.
    push("a:// x n", repeat_to("a://", n));
    push("a://u:p@ x n", repeat_to("a://u:p@", n));
    push(":// x n", repeat_to("://", n));
    push("scheme then ://", format!("{}://", repeat_to("a", n)));
    push("authority then @", format!("a://{}@", repeat_to("u:", n)));

    // Base64 and hex.
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    push("random base64 run", base64(&rng.bytes(n * 3 / 4)));
    push("A x n", repeat_to("A", n));
    push(
        "base64 of tokens",
        base64(repeat_to(&format!("{github} "), n * 3 / 4).as_bytes()),
    );
    push(
        "base64 of text, runs",
        repeat_to(
            &format!("{} ", base64(format!("a secret: {github}").as_bytes())),
            n,
        ),
    );
    push(
        "hex of tokens",
        hex_encode(repeat_to(&format!("{github} "), n / 2).as_bytes()),
    );
    push(
        "hex of base64 of tokens",
        hex_encode(base64(repeat_to(&format!("{github} "), n * 3 / 8).as_bytes()).as_bytes()),
    );
    push("hex digits x n", repeat_to("0123456789abcdef", n));
    push(
        "digests x n",
        repeat_to(
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
            n,
        ),
    );
    push("base64 chars x n", repeat_to("Zm9v+/-_", n));

    // Nested JSON (as text).
    let depth = n / 6;
    push(
        "nested objects",
        format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)),
    );
    push(
        "nested arrays",
        format!("{}{}", "[".repeat(n / 2), "]".repeat(n / 2)),
    );
    push(
        "secret keys x n",
        repeat_to("{\"password\":\"hunter2\",\"api_key\":[", n),
    );

    // Derived views.
    push("spaced a x n", repeat_to("a ", n));
    push("spaced token x n", repeat_to("g h p _ a b c ", n));
    push("spaced and double", repeat_to("a b c d e f g h  ", n));
    push(
        "reversed prefixes x n",
        repeat_to("_phg-bxoxAIKA//:Jye NIGEB-----reraeb ", n),
    );
    push("fullwidth x n", repeat_to("ｇｈｐ＿ａＢ３", n));
    push("zero-width x n", repeat_to("\u{200B}", n));
    push(
        "zero-width inside x n",
        repeat_to("g\u{200B}h\u{200D}p\u{2060}_\u{FEFF}", n),
    );
    push("bidi x n", repeat_to("\u{202E}a\u{2066}b\u{202C}", n));
    push("decomposed x n", repeat_to("e\u{0301}", n));
    push(
        "combining marks",
        format!("a{}", repeat_to("\u{0301}\u{0316}", n)),
    );
    push(
        "vietnamese x n",
        repeat_to("Điều 5. Nước Cộng hòa xã hội chủ nghĩa Việt Nam. ", n),
    );
    out
}
