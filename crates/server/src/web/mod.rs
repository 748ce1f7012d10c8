//! The web hunting page (issue 6): the front end built from `web/` in the repository
//! (embedded from `web/dist` at build time, so the binary needs nothing else at run
//! time) and the API it calls.
//!
//! | route | what |
//! |---|---|
//! | `GET /`, `/assets/*`, `/favicon.svg` | the page (strict CSP, see `assets`) |
//! | `GET /api/web/schema` | tables with row counts and columns, function names |
//! | `POST /api/web/query` | a query with the render hint, run time and truncation flag |
//! | `GET/POST /api/web/saved`, `GET/PUT/DELETE /api/web/saved/{id}` | saved queries |
//!
//! The page itself needs no key; every API call does when the server has keys (the
//! page asks for one on a 401 and keeps it in the tab's `sessionStorage`).

mod api;
mod assets;
mod saved;

use crate::app::AppState;
use axum::routing::get;
use axum::Router;

pub(crate) use saved::SavedQueries;

/// The web page's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{*path}", get(assets::asset))
        .route("/favicon.svg", get(assets::favicon))
        .route("/api/web/schema", get(api::schema))
        .route("/api/web/query", axum::routing::post(api::query))
        .route("/api/web/saved", get(saved::list).post(saved::create))
        .route(
            "/api/web/saved/{id}",
            get(saved::load).put(saved::update).delete(saved::remove),
        )
}
