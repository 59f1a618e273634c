//! Refusals: empty, undecodable, whitespace-only sources; texts without
//! articles; caps; broken region lists given to `cut_plan`.

mod common;

use common::{cut_file, cut_text, raw};
use iu_core::{Cap, Caps, CutError, MarkError, SourceError, cut_plan, mark, pin};

#[test]
fn empty_corpus_file_is_refused() {
    let bytes = raw("luat-ban-hanh-van-ban-quy-pham-phap-luat.txt");
    assert!(bytes.is_empty());
    assert_eq!(pin(&bytes), Err(SourceError::Empty));
}

#[test]
fn invalid_utf8_is_refused_with_its_offset() {
    let mut bytes = raw("hien-phap.txt");
    bytes.insert(100, 0xFF);
    assert_eq!(pin(&bytes), Err(SourceError::NotUtf8 { valid_up_to: 100 }));
    // Latin-1 "Điều" is not UTF-8 either.
    assert!(matches!(
        pin(b"\xD0i\xEAu 1."),
        Err(SourceError::NotUtf8 { valid_up_to: 0 })
    ));
}

#[test]
fn whitespace_only_is_refused() {
    assert_eq!(pin(b"\n\n   \r\n"), Err(SourceError::OnlyWhitespace));
}

#[test]
fn text_without_article_has_no_structure() {
    let p = pin("QUỐC HỘI\n\nChương I\n\nNHỮNG QUY ĐỊNH CHUNG\n".as_bytes()).unwrap();
    assert_eq!(
        mark(&p.normalized, &Caps::default()),
        Err(MarkError::NoStructure)
    );
    let p = pin(b"just some text\n").unwrap();
    assert_eq!(
        mark(&p.normalized, &Caps::default()),
        Err(MarkError::NoStructure)
    );
}

#[test]
fn each_cap_can_be_exceeded() {
    let (pinned, regions, _) = cut_file("hien-phap.txt");
    let usage = iu_core::evidence::cap_usage(&regions);
    assert_eq!(usage.units, regions.len() as u64);
    assert_eq!(usage.max_depth, 3);
    let text = &pinned.normalized;

    let caps = Caps {
        max_units: 100,
        ..Caps::default()
    };
    assert_eq!(
        mark(text, &caps),
        Err(MarkError::CapExceeded {
            cap: Cap::MaxUnits,
            limit: 100,
            actual: usage.units,
            eid: None,
        })
    );

    let caps = Caps {
        max_unit_bytes: 1024,
        ..Caps::default()
    };
    match mark(text, &caps) {
        Err(MarkError::CapExceeded {
            cap: Cap::MaxUnitBytes,
            limit: 1024,
            actual,
            eid: Some(eid),
        }) => {
            let r = regions.iter().find(|r| r.eid == eid).unwrap();
            assert_eq!(actual, (r.end - r.start) as u64);
            assert!(actual > 1024);
        }
        other => panic!("expected max_unit_bytes, got {other:?}"),
    }

    let caps = Caps {
        max_depth: 2,
        ..Caps::default()
    };
    assert!(matches!(
        mark(text, &caps),
        Err(MarkError::CapExceeded {
            cap: Cap::MaxDepth,
            limit: 2,
            actual: 3,
            eid: Some(_),
        })
    ));

    // Exactly at the limits is fine.
    let exact = Caps {
        max_units: usage.units as usize,
        max_unit_bytes: usage.max_unit_bytes as usize,
        max_depth: usage.max_depth as usize,
    };
    assert_eq!(mark(text, &exact).unwrap(), regions);
}

#[test]
fn cut_plan_refuses_broken_region_lists() {
    let (pinned, regions, _) = cut_text("Luật X\nĐiều 1.\n1. Một.\n2. Hai.\nĐiều 2.\nHết.\n");
    let text = &pinned.normalized;
    assert!(cut_plan("doc", "v1", text, &regions).is_ok());

    assert!(matches!(
        cut_plan("", "v1", text, &regions),
        Err(CutError::InvalidId { .. })
    ));
    assert!(matches!(
        cut_plan("doc", "", text, &regions),
        Err(CutError::InvalidId { .. })
    ));

    let mut gap = regions.clone();
    gap.remove(2);
    assert!(matches!(
        cut_plan("doc", "v1", text, &gap),
        Err(CutError::Coverage { .. })
    ));

    let mut short = regions.clone();
    short.pop();
    assert!(matches!(
        cut_plan("doc", "v1", text, &short),
        Err(CutError::Coverage { .. })
    ));

    let mut overlap = regions.clone();
    overlap[2].start -= 1;
    assert!(matches!(
        cut_plan("doc", "v1", text, &overlap),
        Err(CutError::Coverage { .. })
    ));

    let mut bad_sha = regions.clone();
    bad_sha[1].region_sha = "0".repeat(64);
    assert_eq!(
        cut_plan("doc", "v1", text, &bad_sha),
        Err(CutError::RegionSha {
            eid: bad_sha[1].eid.clone()
        })
    );

    let mut dup = regions.clone();
    dup[3].eid = dup[2].eid.clone();
    assert!(matches!(
        cut_plan("doc", "v1", text, &dup),
        Err(CutError::DuplicateEid { .. })
    ));

    let mut orphan = regions.clone();
    orphan[2].parent_eid = Some("art_9".into());
    assert!(matches!(
        cut_plan("doc", "v1", text, &orphan),
        Err(CutError::MissingParent { .. })
    ));

    // A span that splits a multi-byte character.
    let (p2, r2, _) = cut_text("Điều 1.\nĐiều 2.\n");
    let mut split = r2.clone();
    split[0].end = 1;
    split[1].start = 1;
    assert!(matches!(
        cut_plan("doc", "v1", &p2.normalized, &split),
        Err(CutError::Coverage { .. })
    ));
}
