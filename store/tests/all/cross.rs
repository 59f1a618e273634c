//! The same content gives the same digest on both backends.

use phasehost_store::StoreBackend;
use serde_json::json;

use crate::support::*;

#[test]
fn document_digest_is_equal_across_backends() {
    let sqlite = SqliteHarness::new();
    let pg = PgHarness::new();
    let mut a = sqlite.open();
    let mut b = pg.open();
    let stores: [&mut dyn StoreBackend; 2] = [a.as_mut(), b.as_mut()];
    let mut digests = Vec::new();
    for store in stores {
        seed(store, "d1");
        // Keys that sort differently under a locale collation than bytewise,
        // non-ASCII text, negative and large integers, nulls and non-nulls.
        let s = scope("d1");
        store.begin().expect("begin");
        let mut extra = vec![
            unit("v2", "a", 3, "ä"),
            unit("v2", "B", 2, "b"),
            unit("v2", "_z", 1, "\u{1F600} emoji"),
            unit("v2", "é", -7, ""),
        ];
        extra[1].insert("parent_eid".into(), json!("a"));
        extra[3].insert("ordinal".into(), json!(i64::MAX));
        store.insert("units", &s, &extra).expect("insert");
        store
            .insert("envelopes", &s, &[envelope("Z", "a"), envelope("a", "B")])
            .expect("insert");
        store.commit().expect("commit");
        digests.push(store.document_digest("d1").expect("digest"));
    }
    assert_eq!(digests[0], digests[1]);
    // Select order agrees too.
    let s = scope("d1");
    let mut orders = Vec::new();
    for store in [a.as_mut(), b.as_mut()] {
        store.begin().expect("begin");
        orders.push((
            store.select("units", &s, &[]).expect("select"),
            store.select("envelopes", &s, &[]).expect("select"),
        ));
        store.rollback().expect("rollback");
    }
    assert_eq!(orders[0], orders[1]);
}
