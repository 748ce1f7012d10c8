//! End-to-end tests of the `clickhunt` binary.

mod ingest;
mod query;
