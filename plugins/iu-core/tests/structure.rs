//! Marking rules on small, hand-written texts.

mod common;

use common::cut_text;
use iu_core::{RegionKind, reassemble, stored_from_plan, structural_probes};

fn eids(plan: &iu_core::CutPlan) -> Vec<&str> {
    plan.units.iter().map(|u| u.eid.as_str()).collect()
}

const CODE: &str = "\
BỘ LUẬT THỬ

Căn cứ Hiến pháp;

Phần thứ nhất
QUY ĐỊNH CHUNG

Chương I
PHẠM VI

Điều 1. Phạm vi điều chỉnh
Bộ luật này quy định:
a) Việc một;
b) Việc hai.

Chương II
NỘI DUNG

Mục 1. CÁ NHÂN

Tiểu mục 1. NĂNG LỰC

Điều 2. Năng lực
1. Khoản một:
a) điểm a;
b) điểm b;
đ) điểm đ (c, d bị mất);
2. Khoản hai.

Mục 2
PHÁP NHÂN

Điều 3: Pháp nhân
1. Một.
1. Một lần nữa.

Phần thứ hai
ĐIỀU KHOẢN THI HÀNH

Chương III.
HIỆU LỰC

Điều 4
Bộ luật này có hiệu lực.

Bộ luật này đã được Quốc hội khóa XIII thông qua ngày 1 tháng 1 năm 2015.

CHỦ TỊCH QUỐC HỘI
Nguyễn Văn A
";

#[test]
fn hierarchy_and_eids() {
    let (pinned, regions, plan) = cut_text(CODE);
    assert_eq!(
        eids(&plan),
        [
            "preamble",
            "part_1",
            "chp_1",
            "art_1",
            "art_1__point_a",
            "art_1__point_b",
            "chp_2",
            "chp_2__sec_1",
            "chp_2__sec_1__subsec_1",
            "art_2",
            "art_2__para_1",
            "art_2__para_1__point_a",
            "art_2__para_1__point_b",
            "art_2__para_1__point_dd",
            "art_2__para_2",
            "chp_2__sec_2",
            "art_3",
            "art_3__para_1",
            "art_3__para_1_dup2",
            "part_2",
            "chp_3",
            "art_4",
            "conclusions",
        ]
    );
    let get = |eid: &str| plan.units.iter().find(|u| u.eid == eid).unwrap();
    assert_eq!(get("part_1").heading, "QUY ĐỊNH CHUNG");
    assert_eq!(get("part_1").number, "nhất");
    assert_eq!(get("chp_2").parent_eid.as_deref(), Some("part_1"));
    assert_eq!(get("chp_3").parent_eid.as_deref(), Some("part_2"));
    assert_eq!(
        get("chp_3").ordinal,
        1,
        "ordinals restart under each parent"
    );
    assert_eq!(get("chp_3").heading, "HIỆU LỰC");
    assert_eq!(get("chp_2__sec_2").heading, "PHÁP NHÂN");
    assert_eq!(get("chp_2__sec_2").ordinal, 2);
    assert_eq!(
        get("art_2").parent_eid.as_deref(),
        Some("chp_2__sec_1__subsec_1")
    );
    assert_eq!(get("art_3").heading, "Pháp nhân");
    assert_eq!(get("art_4").heading, "");
    assert_eq!(get("art_2__para_1__point_dd").number, "đ");
    assert_eq!(get("art_2__para_1__point_dd").ordinal, 3);
    let dup = get("art_3__para_1_dup2");
    assert_eq!(dup.duplicate_of.as_deref(), Some("art_3__para_1"));
    assert_eq!(dup.ordinal, 2);
    assert_eq!(iu_core::evidence::duplicates(&regions).len(), 1);
    assert!(
        get("conclusions")
            .text
            .starts_with("Bộ luật này đã được Quốc hội")
    );
    assert_eq!(iu_core::evidence::cap_usage(&regions).max_depth, 7);
    assert_eq!(reassemble(&plan.units), pinned.normalized);
    let probes = structural_probes(
        &plan,
        &stored_from_plan(&plan),
        &pinned.normalized_sha256,
        &regions,
    );
    assert!(probes.all_true(), "{:?}", probes.failed());
}

#[test]
fn quoted_amendments_are_text_of_the_amending_clause() {
    let text = "\
LUẬT SỬA ĐỔI

Điều 1. Sửa đổi, bổ sung một số điều của Luật X:
1. Điều 5 được sửa đổi như sau:
“Điều 5. Nguyên tắc
1. Nguyên tắc một;
a) ý a;
2. Nguyên tắc hai.”.
2. Bổ sung Điều 5a như sau:
\"Điều 5a. Mới
1. Một.\"
Điều 2. Hiệu lực thi hành
Luật này có hiệu lực từ ngày 1/1/2020.

Luật này đã được Quốc hội thông qua ngày 1/12/2019.
";
    let (_, _, plan) = cut_text(text);
    assert_eq!(
        eids(&plan),
        [
            "preamble",
            "art_1",
            "art_1__para_1",
            "art_1__para_2",
            "art_2",
            "conclusions"
        ]
    );
    assert!(plan.units[2].text.contains("“Điều 5. Nguyên tắc"));
}

#[test]
fn article_marker_variants_and_cross_references() {
    let text = "\
Luật Y
Ðiều 1. Look-alike ETH letter
Nội dung.
Điều 2 Tên không có dấu chấm
Điều 11 của Luật này là một tham chiếu bị ngắt dòng.
Điền 3. Lỗi đánh máy
Điều 3:Hai chấm
Điều 4..Hai dấu chấm
Điều 4. Lặp số
Điều 2. Số lùi lại là văn bản
Điều 5
  Điều 6. Thụt lề
";
    let (_, regions, plan) = cut_text(text);
    assert_eq!(
        eids(&plan),
        [
            "preamble",
            "art_1",
            "art_2",
            "art_3",
            "art_3_dup2",
            "art_4",
            "art_4_dup2",
            "art_5",
            "art_6"
        ]
    );
    // "Điền 3." (typo) was art_3; "Điều 3:" repeats the number.
    assert_eq!(plan.units[3].heading, "Lỗi đánh máy");
    assert_eq!(plan.units[4].heading, "Hai chấm");
    assert!(plan.units[2].text.contains("Điều 11 của Luật này"));
    assert!(plan.units[6].text.contains("Điều 2. Số lùi lại"));
    assert_eq!(iu_core::evidence::duplicates(&regions).len(), 2);
    assert_eq!(plan.units[8].heading, "Thụt lề");
}

#[test]
fn whitespace_before_first_marker_is_not_a_preamble() {
    let (_, _, plan) = cut_text("\n\nĐiều 1. A\nB\n");
    assert_eq!(eids(&plan), ["art_1"]);
    assert_eq!(plan.units[0].start, 0);
    assert_eq!(plan.units[0].text, "\n\nĐiều 1. A\nB\n");
}

#[test]
fn signature_fallbacks_start_the_closing() {
    let (_, _, plan) = cut_text("Luật\nĐiều 1.\nMột.\n\nHồ Chí Minh\n(Đã ký)\n");
    let last = plan.units.last().unwrap();
    assert_eq!(last.kind, RegionKind::Closing);
    assert_eq!(last.text, "Hồ Chí Minh\n(Đã ký)\n");

    let (_, _, plan) = cut_text("Luật\nĐiều 1.\nMột.\nCHỦ TỊCH QUỐC HỘI\nA\n");
    assert_eq!(plan.units.last().unwrap().text, "CHỦ TỊCH QUỐC HỘI\nA\n");

    let (_, _, plan) = cut_text("Luật\nĐiều 1.\nMột.\n");
    assert_eq!(plan.units.last().unwrap().eid, "art_1");
}

#[test]
fn crlf_and_bom_sources_cut_like_lf_ones() {
    let lf = "Luật\nĐiều 1. A\n1. B\nĐiều 2. C\n";
    let crlf = format!("\u{FEFF}{}", lf.replace('\n', "\r\n"));
    let (p1, _, a) = cut_text(lf);
    let (p2, _, b) = cut_text(&crlf);
    assert_ne!(p1.raw_sha256, p2.raw_sha256);
    assert_eq!(p1.normalized_sha256, p2.normalized_sha256);
    assert_eq!(a.digest, b.digest);
}
