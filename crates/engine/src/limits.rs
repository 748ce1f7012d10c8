//! Turning engine failures into the messages hunters see.

use datafusion::error::DataFusionError;

/// A user-facing description of a DataFusion failure.
pub fn describe_datafusion_error(e: &DataFusionError) -> String {
    match e {
        DataFusionError::ResourcesExhausted(_) => {
            "Query execution has exceeded the allowed limits: the query used excessive resource consumption (memory). Narrow the time range or the columns projected.".to_string()
        }
        DataFusionError::Context(_, inner) => describe_datafusion_error(inner),
        DataFusionError::Shared(inner) => describe_datafusion_error(inner),
        other => other.strip_backtrace(),
    }
}
