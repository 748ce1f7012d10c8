//! The web hunting page: its files and headers, schema, query and saved-query endpoints.

use crate::support::*;
use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use server::ServerConfig;

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn get_auth(path: &str, key: &str) -> Request<Body> {
    Request::get(path)
        .header("authorization", format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn page_is_served_with_a_strict_policy_and_a_fresh_nonce() {
    let st = open_state();
    let r = send(&st, get("/")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(r.headers["referrer-policy"], "no-referrer");
    let csp = r.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    let html = r.text();
    assert!(
        !html.contains("__CSP_NONCE__"),
        "the placeholder is replaced"
    );
    // The nonce in the policy is the one in the page, and it changes per load.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a style nonce")
        .to_string();
    assert!(html.contains(&format!("content=\"{nonce}\"")));
    let again = send(&st, get("/")).await;
    assert!(!again.text().contains(&nonce));
    // No inline script: every <script> has a src.
    for tag in html.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap();
        assert!(open.contains("src="), "inline script: <script{open}>");
    }
}

#[tokio::test]
async fn assets_have_types_and_long_caching() {
    let st = open_state();
    let html = send(&st, get("/")).await.text();
    let script = html
        .split("src=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .expect("the page loads a script from /assets/");
    let r = send(&st, get(script)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "text/javascript; charset=utf-8");
    assert!(r.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    let missing = send(&st, get("/assets/nope.js")).await;
    assert_eq!(missing.status, 404);
    let icon = send(&st, get("/favicon.svg")).await;
    assert_eq!(icon.status, 200);
    assert_eq!(icon.headers["content-type"], "image/svg+xml");
}

#[tokio::test]
async fn schema_lists_tables_with_row_counts_columns_and_functions() {
    let st = open_state();
    let r = send(&st, get("/api/web/schema")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let tables = v["tables"].as_array().unwrap();
    let clicks = tables.iter().find(|t| t["name"] == "Clicks").unwrap();
    assert_eq!(clicks["rows"], 3);
    assert_eq!(
        clicks["columns"][0],
        json!({"name": "Timestamp", "type": "datetime"})
    );
    assert_eq!(
        clicks["columns"][9],
        json!({"name": "Details", "type": "dynamic"})
    );
    let url_clicks = tables
        .iter()
        .find(|t| t["name"] == "UrlClickEvents")
        .unwrap();
    assert_eq!(url_clicks["rows"], 0);
    let functions: Vec<&str> = v["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert!(functions.contains(&"strlen") && functions.contains(&"count"));
    assert_eq!(v["rowLimit"], 100_000);
}

#[tokio::test]
async fn query_answers_rows_render_hint_and_time() {
    let st = open_state();
    let r = post(
        &st,
        "/api/web/query",
        json!({"query": "Clicks | where isnotnull(Timestamp) | project Timestamp, Url, Details | order by Timestamp asc\n| render timechart with (title=\"Clicks\", ycolumns=Score, kind=stacked)"}),
    )
    .await;
    // `Score` was not projected: a render property is not checked against the columns.
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["columns"],
        json!([
            {"name": "Timestamp", "type": "datetime"},
            {"name": "Url", "type": "string"},
            {"name": "Details", "type": "dynamic"},
        ])
    );
    assert_eq!(v["rowCount"], 2);
    assert_eq!(
        v["rows"][1],
        json!(["2024-03-26T09:39:50.7688641Z", "https://a.example/x", {"a": [1, 2], "b": "x"}])
    );
    assert_eq!(v["render"]["kind"], "timechart");
    assert_eq!(v["render"]["properties"]["title"], "Clicks");
    assert_eq!(v["render"]["properties"]["kind"], "stacked");
    assert_eq!(v["truncated"], false);
    assert!(v["elapsedMs"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["window"], serde_json::Value::Null);

    // A list property (`ycolumns=a, b`) comes back as an array.
    let list = post(
        &st,
        "/api/web/query",
        json!({"query": "print a = 1, b = 2, c = \"x\" | render columnchart with (ycolumns=a, b, Series=c)"}),
    )
    .await;
    let props = &list.json()["render"]["properties"];
    assert_eq!(props["ycolumns"], json!(["a", "b"]), "{props}");
    assert_eq!(props["series"], "c", "{props}");

    let plain = post(&st, "/api/web/query", json!({"query": "print x = 1"})).await;
    assert_eq!(plain.json()["render"], serde_json::Value::Null);
}

#[tokio::test]
async fn query_timespan_filters_like_graph() {
    let st = open_state();
    // One row of Clicks is in the week before T0; the other is 40 days older.
    let window = "2024-03-20T00:00:00Z/2024-03-27T00:00:00Z";
    let r = post(
        &st,
        "/api/web/query",
        json!({"query": "Clicks | count", "timespan": window}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["rows"], json!([[1]]));
    assert_eq!(v["window"][0], "2024-03-20T00:00:00.0000000Z");
    let bad = post(
        &st,
        "/api/web/query",
        json!({"query": "Clicks | count", "timespan": "last week"}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Invalid Timespan"));
}

#[tokio::test]
async fn query_errors_carry_line_and_column_of_the_users_text() {
    let st = open_state();
    let r = post(
        &st,
        "/api/web/query",
        json!({"query": "Clicks\n| where Urll == \"x\"", "timespan": "P30D"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let e = &r.json()["error"];
    assert_eq!(e["code"], "semantic_error");
    assert_eq!(e["line"], 2, "{e}");
    assert_eq!(e["column"], 9, "{e}");
    assert!(e["message"].as_str().unwrap().contains("Urll"), "{e}");
    assert!(
        e["help"].as_str().unwrap_or("").contains("Url"),
        "did you mean: {e}"
    );
    let body = post(&st, "/api/web/query", json!({"Query": "print 1"})).await;
    assert_eq!(body.status, 400);
    assert_eq!(body.json()["error"]["code"], "bad_request");
}

#[tokio::test]
async fn query_is_cut_at_the_row_limit_with_a_flag() {
    let st = state(ServerConfig {
        rate_limit_per_minute: None,
        defender_max_rows: 1000,
        ..Default::default()
    });
    let r = post(
        &st,
        "/api/web/query",
        json!({"query": "range x from 1 to 5000 step 1"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["rowCount"], 1000);
    assert_eq!(v["rows"].as_array().unwrap().len(), 1000);
    assert_eq!(v["truncated"], true);
    assert_eq!(v["rowLimit"], 1000);
    let over_bytes = state(ServerConfig {
        rate_limit_per_minute: None,
        defender_max_bytes: 1000,
        ..Default::default()
    });
    let r = post(
        &over_bytes,
        "/api/web/query",
        json!({"query": "range x from 1 to 5000 step 1"}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "result_too_large");
}

#[tokio::test]
async fn saved_queries_round_trip_and_persist_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let config = || ServerConfig {
        rate_limit_per_minute: None,
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let st = state(config());
    let created = post(
        &st,
        "/api/web/saved",
        json!({"name": "  Phish click-throughs ", "query": "Clicks | take 1", "timespan": "P7D"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let q = created.json();
    let id = q["id"].as_str().unwrap().to_string();
    assert_eq!(q["name"], "Phish click-throughs");
    assert_eq!(q["author"], "anonymous");
    assert!(dir.path().join("saved-queries.json").exists());

    // A new server over the same directory sees it.
    let st = state(config());
    let list = send(&st, get("/api/web/saved")).await.json();
    assert_eq!(list["queries"][0]["id"], id.as_str());
    let one = send(&st, get(&format!("/api/web/saved/{id}"))).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["query"], "Clicks | take 1");
    assert_eq!(one.json()["timespan"], "P7D");

    let put = Request::put(format!("/api/web/saved/{id}"))
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"name": "Renamed", "query": "Clicks | take 2"}).to_string(),
        ))
        .unwrap();
    let updated = send(&st, put).await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(updated.json()["name"], "Renamed");
    assert_eq!(updated.json()["timespan"], serde_json::Value::Null);

    let bad = post(&st, "/api/web/saved", json!({"name": "", "query": "x"})).await;
    assert_eq!(bad.status, 400);
    let del = Request::delete(format!("/api/web/saved/{id}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&st, del).await.status, 204);
    assert_eq!(
        send(&st, get(&format!("/api/web/saved/{id}"))).await.status,
        404
    );
    let list = send(&st, get("/api/web/saved")).await.json();
    assert_eq!(list["queries"], json!([]));
}

#[tokio::test]
async fn with_keys_the_page_loads_but_its_api_needs_a_reader_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    let mut file = server::auth::KeyFile::default();
    let (_, reader) = file.create(server::auth::Role::Reader, None).unwrap();
    let (_, ingestor) = file.create(server::auth::Role::Ingestor, None).unwrap();
    file.save(&keys).unwrap();
    let st = state(ServerConfig {
        rate_limit_per_minute: None,
        keys_path: Some(keys),
        ..Default::default()
    });
    assert_eq!(send(&st, get("/")).await.status, 200);
    for path in ["/api/web/schema", "/api/web/saved"] {
        let r = send(&st, get(path)).await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.json()["error"]["code"], "unauthenticated");
        assert_eq!(send(&st, get_auth(path, &ingestor)).await.status, 403);
        assert_eq!(send(&st, get_auth(path, &reader)).await.status, 200);
    }
    let q = json!({"query": "print 1"});
    assert_eq!(post(&st, "/api/web/query", q.clone()).await.status, 401);
    let ok = send(&st, post_json_auth("/api/web/query", &q, &reader)).await;
    assert_eq!(ok.status, 200);
    let saved = send(
        &st,
        post_json_auth(
            "/api/web/saved",
            &json!({"name": "n", "query": "print 1"}),
            &reader,
        ),
    )
    .await;
    assert_eq!(saved.status, 201);
    assert_ne!(saved.json()["author"], "anonymous");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_counts_store_tables_from_the_manifest_and_memtable() {
    let dir = tempfile::tempdir().unwrap();
    let store = store::storage::Store::open(dir.path()).unwrap();
    let engine = std::sync::Arc::new(engine::Engine::new());
    store.register_into(&engine);
    let st = server::AppState::new(
        engine,
        Some(store),
        ServerConfig {
            rate_limit_per_minute: None,
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        },
    )
    .unwrap();
    let lines = (0..3)
        .map(|i| json!({"Timestamp": format!("2024-03-26T09:0{i}:00Z"), "Url": "https://a.example/", "ActionType": "ClickAllowed"}).to_string())
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
    let v = send(&st, get("/api/web/schema")).await.json();
    let rows_of = |name: &str| {
        v["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["rows"].clone())
            .unwrap()
    };
    assert_eq!(rows_of("UrlClickEvents"), 3);
    assert_eq!(rows_of("EmailEvents"), 0);
}
