//! The KQL front end: lexer, parser, AST with byte spans, diagnostics.
//!
//! This crate must never depend on DataFusion: it builds and tests in seconds and is
//! what the fuzzer and property tests drive.

pub mod ast;
pub mod diagnostic;
mod lexer;
mod parser;

pub use diagnostic::{line_col, Diagnostic, LineCol};
pub use parser::parse;
