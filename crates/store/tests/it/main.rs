//! The store's one integration-test binary.
mod ingest;
mod storage;
mod catalog;
mod generate;
