//! The web hunting page and its API (schema, saved queries). Filled in by issue 6.

use crate::app::AppState;
use axum::Router;

/// The web page's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
