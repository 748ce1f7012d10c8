//! DataFusion UDFs that carry KQL semantics.

pub mod arg_extreme;
pub mod bin_time;
pub mod list;
pub mod mv_zip;
pub mod regex_cache;
pub mod sequential;
pub(crate) mod text_scan;
pub mod value_fn;
