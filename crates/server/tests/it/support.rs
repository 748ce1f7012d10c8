//! Shared fixtures: an engine with a small table of every KQL type, requests through
//! the router in-process, and a real server on an ephemeral loopback port.

use axum::body::Body;
use axum::http::{Request, Response};
use datafusion::arrow::record_batch::RecordBatch;
use engine::types::values_to_array;
use engine::{Col, Engine, KqlType, Value};
use http_body_util::BodyExt;
use serde_json::Value as Json;
use server::{AppState, ServerConfig};
use std::sync::Arc;
use tower::ServiceExt;

/// `2024-03-26T09:39:50.7688641Z` in ns.
pub const T0: i64 = 1_711_445_990_768_864_100;
pub const DAY: i64 = 86_400_000_000_000;

/// The `Clicks` table: one column per KQL type, three rows (the last mostly null).
pub fn clicks() -> (Vec<Col>, RecordBatch) {
    let cols = vec![
        Col::new("Timestamp", KqlType::DateTime),
        Col::new("Url", KqlType::String),
        Col::new("IsClickedThrough", KqlType::Bool),
        Col::new("Clicks", KqlType::Int),
        Col::new("Bytes", KqlType::Long),
        Col::new("Score", KqlType::Real),
        Col::new("Price", KqlType::Decimal),
        Col::new("Duration", KqlType::TimeSpan),
        Col::new("Id", KqlType::Guid),
        Col::new("Details", KqlType::Dynamic),
    ];
    let rows: Vec<Vec<Value>> = vec![
        vec![
            Value::DateTime(T0),
            Value::string("https://a.example/x"),
            Value::Bool(true),
            Value::Int(3),
            Value::Long(5_000_000_000),
            Value::Real(1.5),
            Value::Decimal(12.5),
            Value::TimeSpan(93_784_500_000_000),
            Value::Guid("74be27de-1e4e-49d9-b579-fe0b331d3642".into()),
            Value::Dynamic(serde_json::json!({"a": [1, 2], "b": "x"})),
        ],
        vec![
            Value::DateTime(T0 - 40 * DAY),
            Value::string("https://b.example/y"),
            Value::Bool(false),
            Value::Int(-1),
            Value::Long(7),
            Value::Real(f64::NAN),
            Value::Decimal(0.25),
            Value::TimeSpan(-1_000_000_000),
            Value::Guid("00000000-0000-0000-0000-000000000001".into()),
            Value::Dynamic(serde_json::json!([1, "two"])),
        ],
        vec![
            Value::Null,
            Value::string(""),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ],
    ];
    let arrays = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let values: Vec<Value> = rows.iter().map(|r| r[i].clone()).collect();
            values_to_array(&values, c.ty)
        })
        .collect();
    let batch = RecordBatch::try_new(Engine::arrow_schema(&cols), arrays).unwrap();
    (cols, batch)
}

pub fn engine() -> Arc<Engine> {
    let engine = Engine::new();
    let (cols, batch) = clicks();
    engine
        .register_batches("Clicks", cols, vec![batch])
        .unwrap();
    Arc::new(engine)
}

/// `Big(x: long)`: 1..=rows in batches of 8192, for queries that run long.
pub fn register_big(engine: &Engine, rows: i64) {
    use datafusion::arrow::array::Int64Array;
    let cols = vec![Col::new("x", KqlType::Long)];
    let schema = Engine::arrow_schema(&cols);
    let batches = (0..rows)
        .step_by(8192)
        .map(|start| {
            let end = (start + 8192).min(rows);
            let array = Int64Array::from_iter_values(start + 1..=end);
            RecordBatch::try_new(schema.clone(), vec![Arc::new(array)]).unwrap()
        })
        .collect();
    engine.register_batches("Big", cols, batches).unwrap();
}

/// A query over `Big` that runs for minutes, yielding to the runtime between batches.
pub const SLOW: &str =
    "Big | extend k = x % 1000 | join kind=inner (Big | extend k = x % 1000) on k | count";

/// A server state whose engine also has `Big` (one million rows).
pub fn slow_state(config: ServerConfig) -> AppState {
    let engine = engine();
    register_big(&engine, 1_000_000);
    AppState::new(engine, None, config).unwrap()
}

pub fn state(config: ServerConfig) -> AppState {
    AppState::new(engine(), None, config).unwrap()
}

pub fn open_state() -> AppState {
    state(ServerConfig {
        rate_limit_per_minute: None,
        ..Default::default()
    })
}

/// A finished response: status, headers and body.
pub struct Reply {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Json {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub async fn send(state: &AppState, req: Request<Body>) -> Reply {
    let resp: Response<Body> = state.router().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub fn post_json(path: &str, body: &Json) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json; charset=utf-8")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub fn post_json_auth(path: &str, body: &Json, key: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json; charset=utf-8")
        .header("authorization", format!("Bearer {key}"))
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub async fn post(state: &AppState, path: &str, body: Json) -> Reply {
    send(state, post_json(path, &body)).await
}

/// Serves `state` on an ephemeral loopback port until the returned sender is dropped
/// or fired.
pub async fn spawn_server(
    state: AppState,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = server::serve(listener, state, async {
            let _ = rx.await;
        })
        .await;
    });
    (addr, tx)
}
