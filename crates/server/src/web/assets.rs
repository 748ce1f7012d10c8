//! The page's files, embedded at build time from `web/dist` (see `build.rs`), served with
//! a strict Content-Security-Policy.
//!
//! The policy allows scripts, styles, images and fetches from this origin only. The
//! editor (CodeMirror) writes its styles into a `<style>` element; that element carries
//! a nonce made per page load, which `index.html` hands to the script in a `<meta>`
//! element (`csp-nonce`). Nothing inline runs, and no page may frame this one.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// What `index.html` writes where the per-response nonce goes.
const NONCE_PLACEHOLDER: &str = "__CSP_NONCE__";

/// Files whose names carry a content hash (Vite's `assets/`) never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn find(path: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The policy for the page; `nonce` is the one its `<style>` elements may carry.
pub(crate) fn content_security_policy(nonce: Option<&str>) -> String {
    let style = match nonce {
        Some(n) => format!("style-src 'self' 'nonce-{n}'"),
        None => "style-src 'self'".to_string(),
    };
    format!(
        "default-src 'none'; script-src 'self'; {style}; img-src 'self' data: blob:; \
         font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    )
}

/// The headers every response of the page and its API carries.
pub(crate) fn set_security_headers(headers: &mut HeaderMap, nonce: Option<&str>) {
    if let Ok(v) = HeaderValue::from_str(&content_security_policy(nonce)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
}

fn new_nonce() -> Option<String> {
    use rand::TryRngCore;
    let mut bytes = [0u8; 18];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// `GET /`: the page, with a fresh nonce.
pub(crate) async fn index() -> Response {
    let Some(html) = find("index.html") else {
        return not_built();
    };
    let Some(nonce) = new_nonce() else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "no randomness for the page's nonce",
        )
            .into_response();
    };
    let html = String::from_utf8_lossy(html).replace(NONCE_PLACEHOLDER, &nonce);
    let mut resp = html.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    set_security_headers(h, Some(&nonce));
    resp
}

/// `GET /assets/*` and the other files at the root of `web/dist`.
pub(crate) async fn asset(Path(path): Path<String>) -> Response {
    serve_file(&format!("assets/{path}"), IMMUTABLE)
}

pub(crate) async fn favicon() -> Response {
    serve_file("favicon.svg", "public, max-age=86400")
}

fn serve_file(path: &str, cache: &'static str) -> Response {
    let Some(bytes) = find(path) else {
        let mut resp = (StatusCode::NOT_FOUND, "not found\n").into_response();
        set_security_headers(resp.headers_mut(), None);
        return resp;
    };
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    set_security_headers(h, None);
    resp
}

/// The binary was built without `web/dist`.
fn not_built() -> Response {
    let mut resp = (
        StatusCode::NOT_FOUND,
        "The web hunting page was not built into this binary: run `npm ci && npm run build` in web/ and rebuild.\n",
    )
        .into_response();
    set_security_headers(resp.headers_mut(), None);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        assert_eq!(
            content_type("assets/index-abc.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type("assets/index-abc.css"),
            "text/css; charset=utf-8"
        );
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("x"), "application/octet-stream");
    }

    #[test]
    fn policy_allows_no_inline_script() {
        let p = content_security_policy(Some("abc"));
        assert!(p.contains("script-src 'self';"));
        assert!(p.contains("style-src 'self' 'nonce-abc'"));
        assert!(p.contains("frame-ancestors 'none'"));
        assert!(!p.contains("unsafe"));
    }
}
