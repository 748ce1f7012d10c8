//! The Defender advanced hunting API and Microsoft Graph runHuntingQuery shapes.

use crate::support::*;
use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use server::ServerConfig;

#[tokio::test]
async fn defender_run_shape() {
    let st = open_state();
    let r = post(
        &st,
        "/api/advancedhunting/run",
        json!({"Query": "Clicks | take 1 | project Timestamp, Url, IsClickedThrough, Clicks, Bytes, Score, Price, Duration, Id, Details"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Stats", "Schema", "Results"]);
    assert!(v["Stats"]["ExecutionTime"].is_number());
    assert_eq!(v["Stats"]["dataset_statistics"][0]["table_row_count"], 1);
    assert!(v["Stats"]["dataset_statistics"][0]["table_size"].is_number());
    assert!(v["Stats"]["resource_usage"]["cpu"]["total cpu"].is_string());
    assert_eq!(
        v["Schema"],
        json!([
            {"Name": "Timestamp", "Type": "DateTime"},
            {"Name": "Url", "Type": "String"},
            {"Name": "IsClickedThrough", "Type": "Boolean"},
            {"Name": "Clicks", "Type": "Int32"},
            {"Name": "Bytes", "Type": "Int64"},
            {"Name": "Score", "Type": "Double"},
            {"Name": "Price", "Type": "Decimal"},
            {"Name": "Duration", "Type": "TimeSpan"},
            {"Name": "Id", "Type": "Guid"},
            {"Name": "Details", "Type": "Object"},
        ])
    );
    assert_eq!(
        v["Results"],
        json!([{
            "Timestamp": "2024-03-26T09:39:50.7688641Z",
            "Url": "https://a.example/x",
            "IsClickedThrough": true,
            "Clicks": 3,
            "Bytes": 5_000_000_000i64,
            "Score": 1.5,
            "Price": "12.5",
            "Duration": "1.02:03:04.5000000",
            "Id": "74be27de-1e4e-49d9-b579-fe0b331d3642",
            "Details": {"a": [1, 2], "b": "x"},
        }])
    );
    // The MDE alias answers the same way.
    let r = post(
        &st,
        "/api/advancedqueries/run",
        json!({"Query": "print x=1"}),
    )
    .await;
    assert_eq!(r.json()["Results"], json!([{"x": 1}]));
}

#[tokio::test]
async fn defender_errors() {
    let st = open_state();
    let r = post(&st, "/api/advancedhunting/run", json!({"query": "print 1"})).await;
    assert_eq!(r.status, 400);
    let e = &r.json()["error"];
    assert_eq!(e["code"], "InvalidRequestBody");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .starts_with("Request body is incorrect"));
    assert!(uuid::Uuid::parse_str(e["target"].as_str().unwrap()).is_ok());

    let r = send(
        &st,
        Request::post("/api/advancedhunting/run")
            .header("content-type", "application/json")
            .body(Body::from("nope"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.json()["error"]["code"], "InvalidRequestBody");

    let r = post(
        &st,
        "/api/advancedhunting/run",
        json!({"Query": "Clicks | project x"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let e = &r.json()["error"];
    assert_eq!(e["code"], "BadRequest");
    let m = e["message"].as_str().unwrap();
    assert!(
        m.contains("'x'") && m.contains("[line:position=1:18]"),
        "{m}"
    );
    let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["code", "message", "target"]);
}

#[tokio::test]
async fn defender_result_limit() {
    let st = state(ServerConfig {
        defender_max_rows: 100,
        rate_limit_per_minute: None,
        ..Default::default()
    });
    let ok = post(
        &st,
        "/api/advancedhunting/run",
        json!({"Query": "range x from 1 to 100 step 1"}),
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["Results"].as_array().unwrap().len(), 100);
    for q in [
        "range x from 1 to 101 step 1",
        "set notruncation; range x from 1 to 101 step 1",
    ] {
        let r = post(&st, "/api/advancedhunting/run", json!({"Query": q})).await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json()["error"]["message"],
            "Query execution has exceeded the allowed result size. Optimize your query by limiting the number of results and try again."
        );
    }
}

#[tokio::test]
async fn graph_run_shape_and_default_window() {
    let st = open_state();
    // Row 0 is "now"-ish only relative to query_now; use an explicit window instead of
    // the clock, then check the default 30-day window on data around now.
    let r = post(
        &st,
        "/v1.0/security/runHuntingQuery",
        json!({"Query": "Clicks | project Timestamp, Url", "Timespan": "2024-03-01T00:00:00Z/2024-04-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["@odata.context", "schema", "results"]);
    assert_eq!(
        v["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults"
    );
    assert_eq!(
        v["schema"],
        json!([{"name": "Timestamp", "type": "DateTime"}, {"name": "Url", "type": "String"}])
    );
    assert_eq!(
        v["results"],
        json!([{"Timestamp": "2024-03-26T09:39:50.7688641Z", "Url": "https://a.example/x"}])
    );

    // The second row is 40 days older: inside P90D ending at T0's month end, not P30D.
    for (span, n) in [
        ("P90D/2024-04-01T00:00:00Z", 2),
        ("P30D/2024-04-01T00:00:00Z", 1),
        ("2024-01-01T00:00:00Z/P30D", 0),
    ] {
        let r = post(
            &st,
            "/v1.0/security/runHuntingQuery",
            json!({"Query": "Clicks | count", "Timespan": span}),
        )
        .await;
        assert_eq!(r.json()["results"], json!([{"Count": n}]), "{span}");
    }
    // Default: the last 30 days before now, where this table has no rows.
    let r = post(
        &st,
        "/v1.0/security/runHuntingQuery",
        json!({"Query": "Clicks | count"}),
    )
    .await;
    assert_eq!(r.json()["results"], json!([{"Count": 0}]));
    // Sources that are not tables are not filtered.
    let r = post(
        &st,
        "/v1.0/security/runHuntingQuery",
        json!({"query": "print x = 1"}),
    )
    .await;
    assert_eq!(r.json()["results"], json!([{"x": 1}]));
}

#[tokio::test]
async fn graph_errors() {
    let st = open_state();
    let r = post(
        &st,
        "/v1.0/security/runHuntingQuery",
        json!({"Query": "print 1", "Timespan": "thirty days"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let e = &r.json()["error"];
    assert_eq!(e["code"], "BadRequest");
    assert!(e["message"].as_str().unwrap().contains("Invalid Timespan"));
    assert!(e["innerError"]["request-id"].is_string());

    let r = post(
        &st,
        "/v1.0/security/runHuntingQuery",
        json!({"Query": "Clicks | where"}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("[line:position=1:"));
}
