//! Safe Links click-time protection, without the query engine (no DataFusion: this
//! crate builds and tests in seconds). The server (`crates/server/src/gateway/`) puts
//! it behind HTTP and writes the events to the store.
//!
//! Rooms, in the order a message meets them:
//! - `policy`: `<data dir>/safelinks.toml` (policies, recipient filters, priority,
//!   Tenant Allow/Block List entries, feeds, gateway settings), errors with lines.
//! - `tabl`: Tenant Allow/Block List URL syntax, validation and matching.
//! - `feeds`: threat-intelligence indicator files and their index.
//! - `canonical`: the one URL form every list matches against.
//! - `rewrite`: finding and wrapping links in HTML and plain text.
//! - `signing`: the per-installation secret and HMAC-SHA256 signed links.
//! - `chain`: the redirect resolver with its SSRF guard.
//! - `verdict`: the click decision and the event fields it fills.
//! - `pages`: warning, scan and error pages.
//! - `gateway`: all of it together, with hot reload and the scan cache.
//!
//! Invariants: nothing here panics on any input (property tests drive the parsers);
//! a link is followed only if its signature checks; the resolver never connects to a
//! non-public address unless the allow-list names it.

pub mod canonical;
pub mod chain;
pub mod feeds;
pub mod gateway;
pub mod pages;
pub mod policy;
pub mod rewrite;
pub mod signing;
pub mod tabl;
pub mod verdict;

pub use canonical::CanonicalUrl;
pub use gateway::{client_ip, BodyKind, Gateway, RewriteRequest, Rewritten};
pub use policy::{Config, ConfigError, PolicySettings};
pub use signing::{ClickContext, ContinueToken, LinkError, LinkSigner, CLICK_PATH, CONTINUE_PATH};
pub use verdict::{ActionType, Verdict};
