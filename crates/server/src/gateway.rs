//! The Safe Links gateway routes (rewrite, check, click). Filled in by issue 5.

use crate::app::AppState;
use axum::Router;

/// The gateway's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
