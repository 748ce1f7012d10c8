//! The KQL hunting engine: binds KQL (parsed by the `kql` crate) to DataFusion
//! `LogicalPlan`s with Kusto's semantics, runs them, and formats results.
//!
//! Kusto wire formats (v1/v2 frames, Defender/Graph JSON) live in the server crate; this
//! crate knows only KQL types and values.

pub mod catalog;
pub mod error;
pub mod format;
mod limits;
pub mod plan;
pub mod session;
pub mod types;
mod udf;

pub use error::{ErrorKind, QueryError};
pub use kql_value::{KqlType, Value};
pub use plan::{Col, RenderHint};
pub use session::{Engine, EngineConfig, Explained, QueryResult};

/// Every function name a query may call (scalar functions and aggregations), for
/// completion in shells and editors.
pub fn completion_functions() -> impl Iterator<Item = &'static str> {
    kql_value::functions::names().chain(plan::aggregate_names())
}
