//! The store's one integration-test binary.
mod catalog;
mod generate;
mod ingest;
mod storage;
