//! The kql crate's one integration-test binary.

mod corpus;
mod hunting;
mod robustness;
