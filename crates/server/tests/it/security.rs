//! API keys, roles, rate limits, concurrency, timeouts, origins, health and metrics.

use crate::support::*;
use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use server::auth::{keys_path, KeyFile, Role};
use server::ServerConfig;
use std::time::Duration;

struct Keys {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    reader: String,
    ingestor: String,
    admin: String,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let path = keys_path(dir.path());
    let mut f = KeyFile::default();
    let (_, reader) = f.create(Role::Reader, None).unwrap();
    let (_, ingestor) = f.create(Role::Ingestor, None).unwrap();
    let (_, admin) = f.create(Role::Admin, Some("ops".into())).unwrap();
    f.save(&path).unwrap();
    Keys {
        _dir: dir,
        path,
        reader,
        ingestor,
        admin,
    }
}

#[tokio::test]
async fn keys_gate_every_api() {
    let k = keys();
    let st = state(ServerConfig {
        keys_path: Some(k.path.clone()),
        rate_limit_per_minute: None,
        ..Default::default()
    });
    let q = json!({"csl": "print 1"});
    // No key: 401 in each API's own error shape.
    let r = post(&st, "/v2/rest/query", q.clone()).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "Unauthorized");
    let r = post(&st, "/api/advancedhunting/run", json!({"Query": "print 1"})).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "Unauthorized");
    let r = post(
        &st,
        "/v1.0/security/runHuntingQuery",
        json!({"Query": "print 1"}),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "InvalidAuthenticationToken");
    // A wrong key.
    let r = send(&st, post_json_auth("/v2/rest/query", &q, "chk_wrong")).await;
    assert_eq!(r.status, 401);
    // Reader: queries and .show, not other commands, not ingest.
    let r = send(&st, post_json_auth("/v2/rest/query", &q, &k.reader)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        &st,
        post_json_auth("/v1/rest/mgmt", &json!({"csl": ".show tables"}), &k.reader),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = send(
        &st,
        post_json_auth(
            "/v1/rest/mgmt",
            &json!({"csl": ".drop table Clicks"}),
            &k.reader,
        ),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["code"], "Forbidden");
    let r = send(
        &st,
        Request::post("/api/ingest?table=Clicks")
            .header("authorization", format!("Bearer {}", k.reader))
            .body(Body::from("a,b\n"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 403);
    // Ingestor cannot query.
    let r = send(&st, post_json_auth("/v2/rest/query", &q, &k.ingestor)).await;
    assert_eq!(r.status, 403);
    // Admin can do management (here refused for lack of a store, not of rights).
    let r = send(
        &st,
        post_json_auth(
            "/v1/rest/mgmt",
            &json!({"csl": ".drop table Clicks"}),
            &k.admin,
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    // Health stays open; metrics need a key.
    let r = send(&st, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, 200);
    let r = send(&st, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, 401);
    let r = send(
        &st,
        Request::get("/metrics")
            .header("authorization", format!("Bearer {}", k.reader))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(
        text.contains("clickhunt_rejections_total{reason=\"unauthenticated\"}"),
        "{text}"
    );
    assert!(
        text.contains("clickhunt_rejections_total{reason=\"forbidden\"}"),
        "{text}"
    );
}

#[tokio::test]
async fn keys_created_while_running_take_effect() {
    let dir = tempfile::tempdir().unwrap();
    let path = keys_path(dir.path());
    let st = state(ServerConfig {
        keys_path: Some(path.clone()),
        ..Default::default()
    });
    let q = json!({"csl": "print 1"});
    assert_eq!(post(&st, "/v2/rest/query", q.clone()).await.status, 200);
    let mut f = KeyFile::load(&path).unwrap();
    let (_, key) = f.create(Role::Reader, None).unwrap();
    f.save(&path).unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(post(&st, "/v2/rest/query", q.clone()).await.status, 401);
    assert_eq!(
        send(&st, post_json_auth("/v2/rest/query", &q, &key))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn public_listener_without_keys_refuses_requests() {
    let st = state(ServerConfig {
        public: true,
        ..Default::default()
    });
    let r = post(&st, "/v2/rest/query", json!({"csl": "print 1"})).await;
    assert_eq!(r.status, 401);
    assert!(r.text().contains("clickhunt keys create"), "{}", r.text());
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let st = state(ServerConfig {
        rate_limit_per_minute: Some(2),
        ..Default::default()
    });
    let q = json!({"Query": "print 1"});
    assert_eq!(
        post(&st, "/api/advancedhunting/run", q.clone())
            .await
            .status,
        200
    );
    assert_eq!(
        post(&st, "/api/advancedhunting/run", q.clone())
            .await
            .status,
        200
    );
    let r = post(&st, "/api/advancedhunting/run", q.clone()).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"]["code"], "TooManyRequests");
    let secs: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(secs >= 1);
    let r = post(&st, "/v2/rest/query", json!({"csl": "print 1"})).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"]["code"], "LimitsExceeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_time_out() {
    let st = slow_state(ServerConfig {
        query_timeout: Duration::from_millis(200),
        ..Default::default()
    });
    let t = std::time::Instant::now();
    let r = post(&st, "/api/advancedhunting/run", json!({"Query": SLOW})).await;
    eprintln!("timeout answered after {:?}", t.elapsed());
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["message"],
        "Query exceeded the timeout period."
    );
    // A client's servertimeout can only shorten the server's limit.
    let st = slow_state(ServerConfig::default());
    let started = std::time::Instant::now();
    let r = post(
        &st,
        "/v2/rest/query",
        json!({"csl": SLOW, "properties": {"Options": {"servertimeout": "00:00:00.2"}}}),
    )
    .await;
    assert_eq!(r.status, 504);
    assert_eq!(
        r.json()["error"]["@message"],
        "Query exceeded the timeout period."
    );
    eprintln!("servertimeout answered after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_cap_queues_then_refuses() {
    let st = slow_state(ServerConfig {
        max_concurrent_queries: 1,
        queue_timeout: Duration::from_millis(100),
        query_timeout: Duration::from_secs(3),
        rate_limit_per_minute: None,
        ..Default::default()
    });
    let slow = {
        let st = st.clone();
        tokio::spawn(async move { post(&st, "/v2/rest/query", json!({"csl": SLOW})).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let r = post(&st, "/v2/rest/query", json!({"csl": "print 1"})).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.headers.contains_key("retry-after"));
    slow.abort();
}

#[tokio::test]
async fn cross_site_browser_requests_are_refused() {
    let st = open_state();
    let req = |origin: &str| {
        Request::post("/v1/rest/mgmt")
            .header("content-type", "text/plain")
            .header("origin", origin)
            .header("host", "127.0.0.1:8080")
            .body(Body::from(json!({"csl": ".show tables"}).to_string()))
            .unwrap()
    };
    assert_eq!(send(&st, req("https://evil.example")).await.status, 403);
    assert_eq!(send(&st, req("http://127.0.0.1:8080")).await.status, 200);
    let r = send(&st, req("https://dataexplorer.azure.com")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://dataexplorer.azure.com"
    );
}

#[tokio::test]
async fn metrics_count_queries() {
    let st = open_state();
    post(&st, "/v2/rest/query", json!({"csl": "Clicks"})).await;
    post(&st, "/v2/rest/query", json!({"csl": "Clicks | where"})).await;
    let r = send(&st, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    let text = r.text();
    assert!(
        text.contains("clickhunt_queries_total{api=\"kusto_v2\",outcome=\"ok\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("clickhunt_queries_total{api=\"kusto_v2\",outcome=\"syntax_error\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("clickhunt_rows_returned_total{api=\"kusto_v2\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("clickhunt_query_duration_seconds_count{api=\"kusto_v2\"} 2"),
        "{text}"
    );
    assert!(text.contains("clickhunt_queries_in_flight 0"), "{text}");
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let st = open_state();
    let r = send(&st, Request::get("/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, 404);
}

/// Sends a raw HTTP/1.1 POST and returns the stream (to read or to drop).
async fn raw_post(addr: std::net::SocketAddr, path: &str, body: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_cancels_the_query() {
    use tokio::io::AsyncReadExt;
    let st = slow_state(ServerConfig {
        max_concurrent_queries: 1,
        queue_timeout: Duration::from_secs(10),
        ..Default::default()
    });
    let (addr, _stop) = spawn_server(st.clone()).await;
    let in_flight = |st: server::AppState| async move {
        let r = send(&st, Request::get("/metrics").body(Body::empty()).unwrap()).await;
        r.text()
            .lines()
            .find_map(|l| l.strip_prefix("clickhunt_queries_in_flight "))
            .unwrap()
            .to_string()
    };
    let slow = raw_post(addr, "/v2/rest/query", &json!({"csl": SLOW}).to_string()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        in_flight(st.clone()).await,
        "1",
        "the slow query is running"
    );
    drop(slow);
    // The only query slot comes free once the abandoned query has stopped.
    let started = std::time::Instant::now();
    let mut next = raw_post(
        addr,
        "/v2/rest/query",
        &json!({"csl": "print 1"}).to_string(),
    )
    .await;
    let mut reply = String::new();
    next.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(started.elapsed() < Duration::from_secs(10));
    eprintln!("slot free after {:?}", started.elapsed());
    assert_eq!(in_flight(st).await, "0");
}
