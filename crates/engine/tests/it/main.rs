//! The engine's one integration-test binary.

mod arg_extreme;
mod conformance;
mod limits;
mod native_paths;
mod robustness;
