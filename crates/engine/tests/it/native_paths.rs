//! Comparisons and `bin()` that the planner runs natively instead of value by value:
//! same answers as Kusto's rules, and the plan shows the native form.

use engine::format::result_rows;
use engine::{Engine, Value};

async fn rows(e: &Engine, q: &str) -> Vec<Vec<Value>> {
    let r = e
        .query(q)
        .await
        .unwrap_or_else(|err| panic!("{q}: {err:?}"));
    result_rows(&r).expect("rows")
}

const CLICKS: &str = r#"datatable(Id: long, Through: bool) [1, true, 2, false, 3, bool(null)]"#;

/// `IsClickedThrough != "0"` (the schema page's example): the text is read as a bool,
/// null keeps Kusto's rule (`!=` true, `==` false), and no value-by-value call is left.
#[tokio::test]
async fn bool_compared_with_text_runs_natively() {
    let e = Engine::new();
    let ids = |q: &'static str| {
        let e = &e;
        async move {
            rows(
                e,
                &format!("{CLICKS} | where {q} | project Id | order by Id asc"),
            )
            .await
            .into_iter()
            .map(|r| r[0].clone())
            .collect::<Vec<_>>()
        }
    };
    let l = |v: &[i64]| v.iter().map(|&i| Value::Long(i)).collect::<Vec<_>>();
    assert_eq!(ids(r#"Through != "0""#).await, l(&[1, 3]));
    assert_eq!(ids(r#"Through == "0""#).await, l(&[2]));
    assert_eq!(ids(r#"Through == "true""#).await, l(&[1]));
    assert_eq!(ids(r#""1" == Through"#).await, l(&[1]));
    assert_eq!(ids(r#""False" != Through"#).await, l(&[1, 3]));
    assert_eq!(ids(r#"Through > "0""#).await, l(&[1]));
    // Text that is no bool: never equal (the value-by-value rule).
    assert_eq!(ids(r#"Through == "yes""#).await, l(&[]));
    assert_eq!(ids(r#"Through != "yes""#).await, l(&[1, 2, 3]));

    let plan = e
        .explain(&format!(r#"{CLICKS} | where Through != "0""#))
        .await
        .expect("explain");
    assert!(!plan.logical.contains("!=("), "{}", plan.logical);
}

/// `bin(datetime, timespan)`: floors from 0001-01-01 (7-day bins start on Mondays),
/// before and after 1970, nulls stay null.
#[tokio::test]
async fn bin_of_datetimes_floors_from_year_one() {
    let e = Engine::new();
    let q = r#"datatable(t: datetime) [
        datetime(2026-11-26 13:45:10.1234567), datetime(1969-12-31 23:59:59.9999999),
        datetime(1900-03-04 05:06:07), datetime(null)]
        | extend h = bin(t, 1h), w = bin(t, 7d), m = bin(t, 90m)"#;
    let got: Vec<Vec<String>> = rows(&e, q)
        .await
        .into_iter()
        .map(|r| r.iter().map(|v| v.to_kql_string()).collect())
        .collect();
    let want = [
        [
            "2026-11-26T13:45:10.1234567Z",
            "2026-11-26T13:00:00Z",
            "2026-11-23T00:00:00Z",
            "2026-11-26T13:30:00Z",
        ],
        [
            "1969-12-31T23:59:59.9999999Z",
            "1969-12-31T23:00:00Z",
            "1969-12-29T00:00:00Z",
            "1969-12-31T22:30:00Z",
        ],
        [
            "1900-03-04T05:06:07Z",
            "1900-03-04T05:00:00Z",
            "1900-02-26T00:00:00Z",
            "1900-03-04T04:30:00Z",
        ],
        ["", "", "", ""],
    ];
    assert_eq!(got, want.map(|r| r.map(String::from).to_vec()).to_vec());
    let plan = e.explain(q).await.expect("explain");
    assert!(plan.logical.contains("__kql_bin_time"), "{}", plan.logical);
}
