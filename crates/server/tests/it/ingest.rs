//! Ingest over HTTP into a real store, then query what was ingested; management
//! commands the engine does not answer go to the store.

use crate::support::*;
use axum::body::Body;
use axum::http::Request;
use engine::Engine;
use serde_json::json;
use server::{AppState, ServerConfig};
use std::sync::Arc;
use store::storage::Store;

fn stored() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let engine = Arc::new(Engine::new());
    store.register_into(&engine);
    let st = AppState::new(engine, Some(store), ServerConfig::default()).unwrap();
    (dir, st)
}

fn count(reply: &Reply) -> serde_json::Value {
    reply.json()["Results"][0]["Count"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_then_query() {
    let (_dir, st) = stored();
    let lines = [
        json!({"Timestamp": "2024-03-26T09:39:50.7688641Z", "Url": "https://a.example/x", "ActionType": "ClickAllowed", "AccountUpn": "a@contoso.com", "IsClickedThrough": true}),
        json!({"Timestamp": "2024-03-26T10:00:00Z", "Url": "https://b.example/y", "ActionType": "ClickBlocked", "AccountUpn": "b@contoso.com", "IsClickedThrough": false}),
    ]
    .iter()
    .map(|l| l.to_string())
    .collect::<Vec<_>>()
    .join("\n");
    let r = send(
        &st,
        Request::post("/api/ingest?table=UrlClickEvents&format=jsonl")
            .body(Body::from(lines))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["rows"], 2);
    assert_eq!(v["tables"]["UrlClickEvents"], 2);

    // Defender Streaming API (Event Hubs form), routed by category.
    let msg = json!({"records": [{
        "time": "2024-03-26T11:00:00Z",
        "tenantId": "t",
        "operationName": "Publish",
        "category": "AdvancedHunting-UrlClickEvents",
        "properties": {"Timestamp": "2024-03-26T11:00:00Z", "Url": "https://c.example/", "ActionType": "ClickAllowed"}
    }]});
    let r = send(
        &st,
        Request::post("/api/ingest")
            .body(Body::from(msg.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["format"], "defender");

    let r = post(
        &st,
        "/api/advancedhunting/run",
        json!({"Query": "UrlClickEvents | count"}),
    )
    .await;
    assert_eq!(count(&r), 3, "{}", r.text());

    // A bad row rejects the whole request.
    let r = send(
        &st,
        Request::post("/api/ingest?table=UrlClickEvents&format=jsonl")
            .body(Body::from("{\"Timestamp\": \"not a date\"}\n"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());

    let r = send(&st, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert!(r
        .text()
        .contains("clickhunt_rows_ingested_total{table=\"UrlClickEvents\"} 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_management_commands() {
    let (_dir, st) = stored();
    let mgmt = |csl: &str| post(&st, "/v1/rest/mgmt", json!({"csl": csl}));
    let r = mgmt(".create table Notes (At:datetime, Text:string)").await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The new table is queryable and listed at once.
    let r = post(&st, "/v2/rest/query", json!({"csl": "Notes | count"})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = mgmt(".show tables").await.json();
    assert!(v["Tables"][0]["Rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r[0] == "Notes"));
    let r = send(
        &st,
        Request::post("/api/ingest?table=Notes")
            .header("content-type", "text/csv")
            .body(Body::from("At,Text\r\n2024-01-01T00:00:00Z,hello\r\n"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = post(
        &st,
        "/api/advancedhunting/run",
        json!({"Query": "Notes | count"}),
    )
    .await;
    assert_eq!(count(&r), 1);
    let r = mgmt(".create table Notes (").await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn ingest_needs_a_store() {
    let st = open_state();
    let r = send(
        &st,
        Request::post("/api/ingest?table=UrlClickEvents")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("--data"));
}
