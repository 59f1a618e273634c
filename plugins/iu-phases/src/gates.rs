//! The gates plans/iu-cut.toml binds to each phase (the predicates of its
//! gate plugin `iu-gates` for that phase, and none of the plan's own): what
//! each phase component declares in its descriptor. A test of `iu-gates`
//! checks these lists against its predicates and the plan.

/// The predicates checked before `phase` runs (empty for an unknown phase).
pub fn before(phase: &str) -> &'static [&'static str] {
    declared(phase).0
}

/// The predicates checked after `phase` ran (empty for an unknown phase).
pub fn after(phase: &str) -> &'static [&'static str] {
    declared(phase).1
}

type Lists = (&'static [&'static str], &'static [&'static str]);

fn declared(phase: &str) -> Lists {
    match phase {
        "source_pin" => (
            &["G-HOST-CONTEXT"],
            &[
                "G-SOURCE-SHA-PINNED",
                "G-SOURCE-NONEMPTY",
                "G-SOURCE-COUNTS-CONSISTENT",
                "G-SOURCE-VERSION-NOT-RETIRED",
                "G-SOURCE-VERSION-BOUND",
            ],
        ),
        "mark" => (
            &[],
            &[
                "G-MARK-SOURCE-MATCHES",
                "G-MARK-CAPS-RESPECTED",
                "G-MARK-HAS-ARTICLES",
                "G-MARK-REGION-COUNT",
                "G-MARK-REGION-DIGEST",
                "G-MARK-NO-ABSORBED-MARKERS",
            ],
        ),
        "cutplan" => (
            &[],
            &[
                "G-PLAN-COVERAGE-100",
                "G-PLAN-UNITS-EQ-REGIONS",
                "G-PLAN-SOURCE-MATCHES",
                "G-PLAN-REGION-DIGEST-MATCHES",
                "G-PLAN-DIGEST-WELLFORMED",
                "G-PLAN-IDENTITY",
                "G-PLAN-NO-BIDI-CONTROLS",
            ],
        ),
        "pre_write_backup" => (
            &["G-PLAN-DIGEST-STABLE"],
            &[
                "G-BACKUP-SHA-PRESENT",
                "G-BACKUP-DRYRUN-MARKER",
                "G-BACKUP-ALL-TABLES",
            ],
        ),
        "grant_probe" => (
            &["G-GRANT-PLAN-NO-DELETE"],
            &[
                "G-GRANT-NONE-MISSING",
                "G-GRANT-NO-UNALLOWED-EXTRA",
                "G-GRANT-MATRIX-COVERS-NEEDS",
            ],
        ),
        "cut_leg_a" => (
            &[
                "G-SG1-PRESENT",
                "G-SG1-BOUND-TO-PLAN",
                "G-BACKUP-BEFORE-WRITE",
            ],
            &["G-LEGA-ROWS-WRITTEN", "G-LEGA-PLAN-BOUND", "G-LEGA-BATCHED"],
        ),
        "structural_verify" => (
            &[],
            &[
                "G-PROBE-COUNT-MATCHES",
                "G-PROBE-EIDS-UNIQUE",
                "G-PROBE-PARENTS-EXIST",
                "G-PROBE-ORDINALS-CONTIGUOUS",
                "G-PROBE-ARTICLE-NUMBERS-INCREASING",
                "G-PROBE-NO-EMPTY-TEXT",
                "G-PROBE-TEXT-SHA-OK",
                "G-PROBE-REGION-SHA-OK",
                "G-PROBE-REASSEMBLY-MATCHES-SOURCE",
                "G-PROBE-ALL-ON-PINNED-VERSION",
                "G-PROBE-NO-OTHER-DOCUMENT",
                "G-PROBE-ROWS-READ",
            ],
        ),
        "leg_b_record" => (&[], &["G-ENVELOPES-EQ-UNITS", "G-ENVELOPE-IDS-DIGEST"]),
        "write_verify" => (
            &[],
            &[
                "G-VERIFY-OK",
                "G-VERIFY-ONCE",
                "G-VERIFY-COUNTS",
                "G-VERIFY-MATCHES-WRITE",
                "G-VERIFY-DIGEST-PRESENT",
            ],
        ),
        "lifecycle_enact" => (
            &[
                "G-SG2-PRESENT",
                "G-SG2-BOUND-TO-VERIFY",
                "G-SG2-REVIEW-DECISION",
                "G-SG2-DISTINCT-APPROVAL",
            ],
            &[
                "G-ENACTED-EQ-UNITS",
                "G-PREVIOUS-RETIRED",
                "G-DIFF-CONSISTENT",
            ],
        ),
        "closeout" => (
            &["G-ALL-PHASES-EVIDENCED"],
            &["G-INDEX-ENTRY-COMPLETE", "G-INDEX-ENTRY-BOUND"],
        ),
        _ => (&[], &[]),
    }
}
