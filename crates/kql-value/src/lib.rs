//! Kusto's scalar value model and the semantics of its scalar functions and operators,
//! over plain Rust values. No DataFusion, no Arrow: this crate builds and tests in
//! seconds, and the engine adapts what is here to Arrow arrays.

pub mod convert;
pub mod format;
pub mod functions;
pub mod ops;
pub mod value;

pub use functions::{lookup, EvalContext, ScalarFunction};
pub use value::{compare_for_sort, KqlType, Value};
