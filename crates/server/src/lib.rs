//! The clickhunt HTTP hunting service.
//!
//! | route | protocol |
//! |---|---|
//! | `POST /v2/rest/query`, `/v1/rest/query`, `/v1/rest/mgmt` | Kusto REST (azure-kusto-data, Kqlmagic, Grafana, ADX web UI) |
//! | `POST /api/advancedhunting/run` (`/api/advancedqueries/run`) | Defender advanced hunting API |
//! | `POST /v1.0/security/runHuntingQuery` | Microsoft Graph hunting |
//! | `POST /api/ingest`, `/v1/rest/ingest/{db}/{table}` | ingest into the store |
//! | `GET /healthz`, `/metrics` | liveness, Prometheus metrics |
//! | `GET /`, `/api/web/*` | the web hunting page and its API (`web`) |
//!
//! Rooms: `app` (state, routes, layers, serving), `auth` (API keys), `limits`
//! (concurrency, rates), `query` (running a query for any API), `wire` (value formats),
//! `kusto/` (Kusto frames, errors, management commands), `hunting` (Defender, Graph),
//! `timespan` (Graph's ISO 8601 windows), `ingest`, `metrics`, `failure`, `web/` (the
//! hunting page's files and API).
//!
//! Invariants: HTTP and wire formats live here and nowhere else; the engine is used
//! only through `engine::Engine`; query text and keys are never logged above `debug`.

mod app;
pub mod auth;
mod failure;
mod gateway;
mod hunting;
mod ingest;
mod kusto;
mod limits;
mod metrics;
mod query;
mod timespan;
mod web;
mod wire;

pub use app::{is_loopback, serve, shutdown_signal, AppState, ServerConfig};

/// Structured logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
