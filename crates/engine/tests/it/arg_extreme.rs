//! `arg_max`/`arg_min` through KQL: keys of a primitive type run on the one-pass
//! `__kql_arg_max`/`__kql_arg_min` UDAF, other keys on `first_value`, with the same
//! answers (greatest/smallest non-null key, null keys only when nothing else, ties to
//! the first row, all result columns from one row).

use engine::format::result_rows;
use engine::{Engine, EngineConfig, Value};
use std::collections::BTreeMap;

fn engine() -> Engine {
    Engine::with_config(EngineConfig {
        memory_limit: None,
        target_partitions: Some(2),
    })
}

async fn rows(e: &Engine, q: &str) -> Vec<Vec<Value>> {
    let r = e
        .query(q)
        .await
        .unwrap_or_else(|err| panic!("{q}: {err:?}"));
    let mut rows = result_rows(&r).expect("rows");
    rows.sort_by_key(|r| format!("{r:?}"));
    rows
}

fn s(x: &str) -> Value {
    Value::String(x.to_string())
}

const FRUIT: &str = r#"datatable(Fruit: string, Color: string, Version: long, Ripe: bool, Seen: datetime) [
    "Apple", "Red", 1, true, datetime(2024-01-01),
    "Apple", "Green", long(null), false, datetime(2024-01-02),
    "Apple", "Yellow", 1, false, datetime(2024-01-03),
    "Banana", "Yellow", long(null), true, datetime(2024-01-04),
    "Banana", "Green", long(null), false, datetime(2024-01-05),
    "Pear", "Brown", 1, true, datetime(2024-01-06),
    "Pear", "Green", 2, false, datetime(2024-01-07),
]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primitive_keys_plan_the_udaf_and_keep_first_value_semantics() {
    let e = engine();
    let q = format!("{FRUIT} | summarize arg_max(Version, Color, Ripe) by Fruit");
    let explained = e.explain(&q).await.expect("explain");
    assert!(
        explained.logical.contains("__kql_arg_max"),
        "{}",
        explained.logical
    );
    assert!(!explained.logical.contains("first_value"));
    assert_eq!(
        rows(&e, &q).await,
        vec![
            vec![s("Apple"), Value::Long(1), s("Red"), Value::Bool(true)],
            vec![s("Banana"), Value::Null, s("Yellow"), Value::Bool(true)],
            vec![s("Pear"), Value::Long(2), s("Green"), Value::Bool(false)],
        ]
    );
    let q = format!("{FRUIT} | summarize arg_min(Seen, *) by Ripe");
    let got = rows(&e, &q).await;
    assert_eq!(got.len(), 2);
    // Columns: Ripe, Seen, Fruit, Color, Version.
    assert_eq!(got[0][3], s("Green"), "{got:?}");
    assert_eq!(got[1][3], s("Red"), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_keys_keep_first_value() {
    let e = engine();
    let q = format!("{FRUIT} | summarize arg_max(Color, Version) by Fruit");
    let explained = e.explain(&q).await.expect("explain");
    assert!(
        explained.logical.contains("first_value"),
        "{}",
        explained.logical
    );
    assert_eq!(
        rows(&e, &q).await,
        vec![
            vec![s("Apple"), s("Yellow"), Value::Long(1)],
            vec![s("Banana"), s("Yellow"), Value::Null],
            vec![s("Pear"), s("Green"), Value::Long(2)],
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ungrouped_arg_max_and_arg_min() {
    let e = engine();
    let q = format!("{FRUIT} | summarize arg_max(Seen, Color), arg_min(Version, Fruit)");
    let got = rows(&e, &q).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0][1], s("Green"));
    assert_eq!(got[0][2], Value::Long(1));
    assert_eq!(got[0][3], s("Apple"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn computed_and_constant_keys() {
    let e = engine();
    let q = "range i from 1 to 10 step 1 \
             | summarize (m, a) = arg_max(i % 4, i), (c, b) = arg_min(1, i) by even = i % 2 == 0";
    let got = rows(&e, q).await;
    assert_eq!(got.len(), 2, "{got:?}");
    // Ties on `i % 4` go to the first row; a constant key ties everywhere.
    assert_eq!(
        got[0][..4],
        [
            Value::Bool(false),
            Value::Long(3),
            Value::Long(3),
            Value::Long(1)
        ]
    );
    assert_eq!(
        got[1][..4],
        [
            Value::Bool(true),
            Value::Long(2),
            Value::Long(2),
            Value::Long(1)
        ]
    );
    assert!(matches!(got[0][4], Value::Long(i) if i % 2 == 1), "{got:?}");
    assert!(matches!(got[1][4], Value::Long(i) if i % 2 == 0), "{got:?}");
}

/// Many groups over several partitions and batches: every key type KQL has, against
/// the answer computed here. Keys are distinct within a group (no ties to break).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_groups_match_a_direct_computation() {
    let e = engine();
    let n: i64 = 200_000;
    let key = |i: i64| (i * 7919) % 100_003;
    let is_null = |i: i64| i % 13 == 0 || i % 1000 == 5;
    let mut max: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut min: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for i in 0..n {
        if is_null(i) {
            continue;
        }
        let (g, k) = (i % 1000, key(i));
        max.entry(g)
            .and_modify(|b| {
                if k > b.0 {
                    *b = (k, i)
                }
            })
            .or_insert((k, i));
        min.entry(g)
            .and_modify(|b| {
                if k < b.0 {
                    *b = (k, i)
                }
            })
            .or_insert((k, i));
    }
    let base = format!(
        "range i from 0 to {} step 1 \
         | extend g = i % 1000, k = iff(i % 13 == 0 or i % 1000 == 5, long(null), (i * 7919) % 100003) \
         | extend t = datetime(2024-01-01) + k * 1s, d = k * 1ms, r = todouble(k), n = toint(k), label = strcat('row ', i)",
        n - 1
    );
    for key_col in ["k", "t", "d", "r", "n"] {
        let q = format!(
            "{base} | summarize (kmax, imax, label) = arg_max({key_col}, i, label), \
             (kmin, imin) = arg_min({key_col}, i) by g"
        );
        let plan = e.explain(&q).await.expect("explain").logical;
        assert!(
            plan.contains("__kql_arg_max") && plan.contains("__kql_arg_min"),
            "{key_col}: {plan}"
        );
        let got = rows(&e, &q).await;
        assert_eq!(got.len(), 1000, "{key_col}");
        for row in got {
            let Value::Long(g) = row[0] else {
                panic!("{row:?}")
            };
            let (Value::Long(i_max), Value::Long(i_min)) = (&row[2], &row[5]) else {
                panic!("{row:?}")
            };
            match (max.get(&g), min.get(&g)) {
                (Some(mx), Some(mn)) => {
                    assert_eq!((*i_max, *i_min), (mx.1, mn.1), "{key_col} group {g}");
                    assert_eq!(row[3], s(&format!("row {i_max}")), "{key_col}");
                }
                // Only null keys: some row of the group, the same for both columns.
                _ => {
                    assert_eq!(i_max % 1000, g);
                    assert_eq!(row[3], s(&format!("row {i_max}")), "{key_col}");
                    assert!(row[1].is_null() && row[4].is_null());
                }
            }
        }
    }
}
