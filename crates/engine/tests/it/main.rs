//! The engine's one integration-test binary.

mod conformance;
mod limits;
mod robustness;
