//! The service: shared state, routes, cross-cutting layers (gzip, CORS, origin check,
//! body limits) and serving with graceful shutdown.

use crate::auth::{Denied, KeyRing, Permission, Principal};
use crate::failure::Failure;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::query::RequestIds;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use engine::Engine;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::storage::Store;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::decompression::RequestDecompressionLayer;

/// How the service behaves. `Default` is the documented default of `clickhunt serve`.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The one database the Kusto protocol reports (`hunting`).
    pub database: String,
    /// The longest a query may run (clients may ask for less with `servertimeout`).
    pub query_timeout: Duration,
    /// Queries running at once; more wait in line.
    pub max_concurrent_queries: usize,
    /// How long a query waits for a slot before a 429.
    pub queue_timeout: Duration,
    /// Requests per minute per API key (or per anonymous client); `None` = unlimited.
    pub rate_limit_per_minute: Option<u32>,
    /// The Defender API's result limit (rows); more is an error, as in Defender.
    pub defender_max_rows: u64,
    /// The Defender API's result limit (bytes of result data).
    pub defender_max_bytes: usize,
    /// `keys.json`; `None` means no keys (only allowed on loopback).
    pub keys_path: Option<PathBuf>,
    /// The listener is not loopback-only: requests need keys.
    pub public: bool,
    /// The address shown by `.show cluster`.
    pub address: String,
    /// Largest query request body.
    pub max_body_bytes: usize,
    /// Largest ingest request body.
    pub max_ingest_bytes: usize,
    /// Browser origins allowed to call the API (CORS); same-origin is always allowed.
    pub allowed_origins: Vec<String>,
    /// Threads of the query runtime (0: one per core).
    pub query_threads: usize,
    /// The data directory (`None`: in-memory tables). Holds the gateway's policy and
    /// secret and the saved queries.
    pub data_dir: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            database: "hunting".into(),
            query_timeout: Duration::from_secs(600),
            max_concurrent_queries: 8,
            queue_timeout: Duration::from_secs(30),
            rate_limit_per_minute: Some(600),
            defender_max_rows: 100_000,
            defender_max_bytes: 124 << 20,
            keys_path: None,
            public: false,
            address: "127.0.0.1:8080".into(),
            max_body_bytes: 16 << 20,
            max_ingest_bytes: 1 << 30,
            allowed_origins: vec!["https://dataexplorer.azure.com".into()],
            query_threads: 0,
            data_dir: None,
        }
    }
}

/// What every handler shares.
pub(crate) struct Shared {
    pub engine: Arc<Engine>,
    pub store: Option<Store>,
    pub config: ServerConfig,
    pub keys: KeyRing,
    pub limits: Limits,
    pub metrics: Metrics,
    /// When the server started (ns since the epoch).
    pub started: i64,
    pub query_runtime: QueryRuntime,
    /// The Safe Links gateway (policy, secret, event sink).
    pub gateway: crate::gateway::GatewayState,
    /// The web page's saved queries.
    pub web: crate::web::SavedQueries,
}

/// A tokio runtime of its own for query execution. DataFusion operators can compute
/// for seconds without yielding; on the server's runtime that would stall timers and
/// I/O, so timeouts would answer late. Here the server's threads stay free.
pub(crate) struct QueryRuntime {
    rt: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
}

impl QueryRuntime {
    fn new(threads: usize) -> std::io::Result<QueryRuntime> {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            threads
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("clickhunt-query")
            .enable_all()
            .build()?;
        Ok(QueryRuntime {
            handle: rt.handle().clone(),
            rt: Some(rt),
        })
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Drop for QueryRuntime {
    fn drop(&mut self) {
        // Dropping a runtime inside another one would panic; this never blocks.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The service state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) shared: Arc<Shared>,
}

impl AppState {
    /// A service over `engine` (and `store`, which owns ingest and management commands
    /// when present; its tables should already be registered into `engine`).
    ///
    /// Fails only if the query runtime's threads cannot be started.
    pub fn new(
        engine: Arc<Engine>,
        store: Option<Store>,
        config: ServerConfig,
    ) -> std::io::Result<AppState> {
        let query_runtime = QueryRuntime::new(config.query_threads)?;
        let gateway = crate::gateway::GatewayState::new(config.data_dir.as_deref(), store.clone())?;
        let keys = KeyRing::new(config.keys_path.clone(), config.public);
        let limits = Limits::new(
            config.max_concurrent_queries,
            config.queue_timeout,
            config.rate_limit_per_minute,
        );
        Ok(AppState {
            shared: Arc::new(Shared {
                engine,
                store,
                keys,
                limits,
                metrics: Metrics::default(),
                started: chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0),
                web: crate::web::SavedQueries::open(config.data_dir.as_deref()),
                config,
                query_runtime,
                gateway,
            }),
        })
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.shared.engine
    }

    /// All routes with their layers.
    pub fn router(&self) -> Router {
        let cfg = &self.shared.config;
        let kusto = Router::new()
            .route(
                "/v1/rest/query",
                get(crate::kusto::v1_query).post(crate::kusto::v1_query),
            )
            .route(
                "/v2/rest/query",
                get(crate::kusto::v2_query).post(crate::kusto::v2_query),
            )
            .route(
                "/v1/rest/mgmt",
                get(crate::kusto::v1_mgmt).post(crate::kusto::v1_mgmt),
            )
            .route("/v2/rest/mgmt", post(crate::kusto::v1_mgmt))
            .route(
                "/api/advancedhunting/run",
                post(crate::hunting::defender_run),
            )
            .route(
                "/api/advancedqueries/run",
                post(crate::hunting::defender_run),
            )
            .route(
                "/v1.0/security/runHuntingQuery",
                post(crate::hunting::graph_run),
            )
            .route(
                "/beta/security/runHuntingQuery",
                post(crate::hunting::graph_run),
            )
            .layer(DefaultBodyLimit::max(cfg.max_body_bytes));
        let ingest = Router::new()
            .route("/api/ingest", post(crate::ingest::ingest))
            .route(
                "/v1/rest/ingest/{db}/{table}",
                post(crate::ingest::kusto_streaming_ingest),
            )
            .layer(DefaultBodyLimit::max(cfg.max_ingest_bytes));
        let origins: Vec<HeaderValue> = cfg
            .allowed_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        let cors = CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
            .allow_credentials(true)
            .allow_private_network(true)
            .expose_headers([
                header::HeaderName::from_static("x-ms-client-request-id"),
                header::HeaderName::from_static("x-ms-activity-id"),
            ]);
        Router::new()
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics))
            .merge(kusto)
            .merge(ingest)
            .merge(crate::gateway::routes())
            .merge(crate::web::routes())
            .fallback(not_found)
            .layer(middleware::from_fn_with_state(self.clone(), origin_guard))
            .layer(cors)
            .layer(RequestDecompressionLayer::new())
            .layer(CompressionLayer::new())
            .with_state(self.clone())
    }
}

impl Shared {
    /// Authenticates and authorises a request, then takes one request from the
    /// principal's rate budget.
    pub fn admit(&self, headers: &HeaderMap, perm: Permission) -> Result<Principal, Failure> {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let principal = self.keys.authorize(auth, perm).map_err(|d| match d {
            Denied::Unauthenticated(m) => {
                self.metrics.rejected("unauthenticated");
                Failure::Unauthenticated(m)
            }
            Denied::Forbidden(m) => {
                self.metrics.rejected("forbidden");
                Failure::Forbidden(m)
            }
        })?;
        if perm != Permission::Metrics {
            self.limits.check_rate(&principal.id).inspect_err(|_| {
                self.metrics.rejected("rate_limited");
            })?;
        }
        Ok(principal)
    }

    /// Kusto clients name a database; this server has one (aliases accepted).
    pub fn check_database(&self, db: &str) -> Result<(), Failure> {
        let ours = &self.config.database;
        if db.is_empty()
            || db.eq_ignore_ascii_case(ours)
            || db.eq_ignore_ascii_case("NetDefaultDB")
            || db.eq_ignore_ascii_case("default")
        {
            Ok(())
        } else {
            Err(Failure::BadRequest(format!(
                "Entity ID '{db}' of kind 'Database' was not found: this server has one database, '{ours}'"
            )))
        }
    }

    pub fn cluster_info(&self) -> crate::kusto::mgmt::ClusterInfo<'_> {
        crate::kusto::mgmt::ClusterInfo {
            database: &self.config.database,
            started: self.started,
            address: self.config.address.clone(),
        }
    }
}

/// A JSON response with `status`.
pub(crate) fn json_response(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    let mut r = (status, body.into()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// Echoes the client request id and adds ours (Kusto's response headers).
pub(crate) fn set_request_headers(resp: &mut Response, ids: &RequestIds) {
    if let Ok(v) = HeaderValue::from_str(&ids.client_request_id) {
        resp.headers_mut().insert("x-ms-client-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&ids.activity_id) {
        resp.headers_mut().insert("x-ms-activity-id", v);
    }
}

pub(crate) fn set_retry_after(resp: &mut Response, f: &Failure) {
    if let Some(secs) = f.retry_after() {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics(State(st): State<AppState>, headers: HeaderMap) -> Response {
    match st.shared.admit(&headers, Permission::Metrics) {
        Ok(_) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            st.shared.metrics.render(),
        )
            .into_response(),
        Err(f) => plain_failure(&f),
    }
}

fn plain_failure(f: &Failure) -> Response {
    let body = serde_json::json!({"error": {"code": f.outcome(), "message": f.message()}});
    let mut r = json_response(
        StatusCode::from_u16(f.status()).unwrap_or(StatusCode::BAD_REQUEST),
        body.to_string().into_bytes(),
    );
    set_retry_after(&mut r, f);
    r
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    plain_failure(&Failure::NotFound(format!(
        "No endpoint {method} {}",
        uri.path()
    )))
}

/// Refuses requests a browser sends on behalf of another site: a web page can POST to
/// `localhost` without the user knowing, so a request with an `Origin` that is neither
/// this server nor an allowed origin is rejected before it runs.
async fn origin_guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let same = origin
            .split_once("://")
            .is_some_and(|(_, rest)| !host.is_empty() && rest == host);
        let allowed = st
            .shared
            .config
            .allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin));
        if !same && !allowed {
            st.shared.metrics.rejected("origin");
            return plain_failure(&Failure::Forbidden(format!(
                "requests from the web origin '{origin}' are not allowed"
            )));
        }
    }
    next.run(req).await
}

/// Serves `state` on `listener` until `shutdown` completes, then lets running requests
/// finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = state.router();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Whether a listen address is loopback-only.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
