//! The server's integration tests (one binary: every test binary re-links DataFusion).

mod gateway;
mod hunting;
mod ingest;
mod kusto;
mod python_client;
mod security;
mod support;
mod web;
