//! The Safe Links gateway over HTTP (issue 5). The logic is the `safelinks` crate;
//! this module is its doors and its events.
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/safelinks/rewrite` | gateway, ingestor or admin key | wrap a message's links; EmailUrlInfo rows |
//! | `POST /api/safelinks/check` | gateway, ingestor or admin key | verdict for apps that do not rewrite (Teams, Office) |
//! | `GET /safelinks/v1/click` | anyone, by the link's signature | verdict, page or redirect; a UrlClickEvents row |
//! | `GET /safelinks/v1/continue` | anyone, by the link's signature | "Continue anyway": second row, same ReportId |
//! | `GET`/`PUT /api/safelinks/policy` | admin key | the configuration in force / replace `safelinks.toml` |
//!
//! Without a data directory the gateway still works (a secret that lives as long as
//! the process, the built-in policy) but records nothing: there is no store.
//! The policy file and feeds are re-read when they change (checked at most every
//! `[Gateway] ReloadIntervalMs` as requests arrive); a bad file keeps the last good one.

mod events;

use crate::app::{json_response, AppState, Shared};
use crate::auth::Permission;
use crate::failure::Failure;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use events::{now_ticks_ns, ClickRow, EventSink, UrlInfoRow};
use safelinks::pages::{render, PageKind, PageLinks, PAGE_CSP};
use safelinks::{
    ActionType, BodyKind, CanonicalUrl, ContinueToken, Gateway, PolicySettings, RewriteRequest,
    Verdict,
};
use serde::Deserialize;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use store::storage::Store;

/// How long a "Continue anyway" link stays valid.
const CONTINUE_TTL_SECS: i64 = 3600;

/// The gateway's share of the server state.
pub(crate) struct GatewayState {
    gw: Gateway,
    events: EventSink,
    /// When the policy files were last checked for changes (ms since the epoch).
    last_poll_ms: AtomicI64,
    /// Distinguishes EmailUrlInfo report ids made in the same nanosecond.
    url_counter: AtomicU64,
}

impl GatewayState {
    /// Opens the gateway in `data_dir` (creating its secret on first start).
    pub fn new(data_dir: Option<&Path>, store: Option<Store>) -> std::io::Result<GatewayState> {
        let gw = Gateway::open(data_dir)
            .map_err(|e| std::io::Error::other(format!("Safe Links gateway: {e}")))?;
        if let Some(e) = gw.last_error() {
            tracing::error!("Safe Links policy not loaded, the built-in policy applies:\n{e}");
        }
        Ok(GatewayState {
            gw,
            events: EventSink::new(store),
            last_poll_ms: AtomicI64::new(chrono::Utc::now().timestamp_millis()),
            url_counter: AtomicU64::new(0),
        })
    }

    /// Re-reads the policy and feeds if they changed (at most once per interval).
    fn refresh(&self) {
        let now = chrono::Utc::now().timestamp_millis();
        let interval = self.gw.current().config.gateway.reload_interval.as_millis() as i64;
        let last = self.last_poll_ms.load(Ordering::Relaxed);
        if now - last < interval
            || self
                .last_poll_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        match self.gw.poll() {
            Some(Ok(())) => tracing::info!("Safe Links policy reloaded"),
            Some(Err(e)) => {
                tracing::error!("Safe Links policy not reloaded, the last good one stays:\n{e}")
            }
            None => {}
        }
    }
}

/// The gateway's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/safelinks/rewrite", post(rewrite))
        .route("/api/safelinks/check", post(check))
        .route("/api/safelinks/policy", get(policy_get).put(policy_put))
        .route(safelinks::CLICK_PATH, get(click))
        .route(safelinks::CONTINUE_PATH, get(continue_anyway))
}

fn json_failure(f: &Failure) -> Response {
    let body = json!({"error": {"code": f.outcome(), "message": f.message()}});
    let mut r = json_response(
        StatusCode::from_u16(f.status()).unwrap_or(StatusCode::BAD_REQUEST),
        body.to_string().into_bytes(),
    );
    crate::app::set_retry_after(&mut r, f);
    r
}

fn json_ok(body: serde_json::Value) -> Response {
    json_response(StatusCode::OK, body.to_string().into_bytes())
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body)
        .map_err(|e| Failure::BadRequest(format!("the request body is not valid: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RewriteBody {
    body: String,
    content_type: String,
    recipient: String,
    network_message_id: String,
    #[serde(default)]
    sender: String,
}

async fn rewrite(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match rewrite_inner(&st.shared, &headers, &body).await {
        Ok(v) => json_ok(v),
        Err(f) => json_failure(&f),
    }
}

async fn rewrite_inner(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, Failure> {
    shared.admit(headers, Permission::Gateway)?;
    let g = &shared.gateway;
    g.refresh();
    let req: RewriteBody = parse_json(body)?;
    let media = req
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let kind = match media.as_str() {
        "text/html" => BodyKind::Html,
        "text/plain" => BodyKind::Text,
        _ => {
            return Err(Failure::BadRequest(format!(
                "contentType must be text/html or text/plain, not '{}'",
                req.content_type
            )))
        }
    };
    if !req.recipient.contains('@') {
        return Err(Failure::BadRequest(format!(
            "recipient '{}' is not an email address",
            req.recipient
        )));
    }
    if req.network_message_id.trim().is_empty() {
        return Err(Failure::BadRequest("networkMessageId is empty".into()));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or(&shared.config.address);
    let base = g.gw.base_url(&format!("http://{host}"));
    let out = g.gw.rewrite(
        &RewriteRequest {
            body: &req.body,
            kind,
            recipient: &req.recipient,
            network_message_id: req.network_message_id.trim(),
            sender: &req.sender,
        },
        &base,
        chrono::Utc::now(),
    );
    let ts = now_ticks_ns();
    let rows: Vec<UrlInfoRow> = out
        .urls
        .iter()
        .map(|u| {
            let n = g.url_counter.fetch_add(1, Ordering::Relaxed);
            UrlInfoRow {
                timestamp: ts,
                network_message_id: req.network_message_id.trim().to_string(),
                url: u.clone(),
                url_domain: CanonicalUrl::parse(u).map(|c| c.host).unwrap_or_default(),
                report_id: format!("{}-{}", req.network_message_id.trim(), ts / 100 + n as i64),
            }
        })
        .collect();
    let recorded =
        g.events.record_urls(rows).await.map_err(|e| {
            Failure::Internal(format!("the message's URLs could not be recorded: {e}"))
        })?;
    Ok(json!({
        "body": out.body,
        "wrappedLinks": out.wrapped,
        "urls": out.urls.len(),
        "recorded": recorded,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckBody {
    url: String,
    account_upn: String,
    workload: String,
    #[serde(default)]
    app_name: String,
    #[serde(default)]
    app_version: String,
    #[serde(default)]
    ip_address: String,
    /// The message or conversation the link came from, when the app knows it.
    #[serde(default)]
    network_message_id: String,
    #[serde(default)]
    source_id: String,
}

/// The workload's canonical name and whether the policy covers it.
fn workload_enabled(workload: &str, s: &PolicySettings) -> Option<(&'static str, bool)> {
    match workload.trim().to_ascii_lowercase().as_str() {
        "email" => Some(("Email", s.enable_safe_links_for_email)),
        "teams" => Some(("Teams", s.enable_safe_links_for_teams)),
        "office" => Some(("Office", s.enable_safe_links_for_office)),
        // Microsoft 365 Copilot links are Office-app links for the policy.
        "copilot" => Some(("Copilot", s.enable_safe_links_for_office)),
        _ => None,
    }
}

async fn check(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match check_inner(&st.shared, &headers, &body).await {
        Ok(v) => json_ok(v),
        Err(f) => json_failure(&f),
    }
}

async fn check_inner(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, Failure> {
    shared.admit(headers, Permission::Gateway)?;
    let g = &shared.gateway;
    g.refresh();
    let req: CheckBody = parse_json(body)?;
    CanonicalUrl::parse(&req.url).map_err(|e| Failure::BadRequest(format!("url: {e}")))?;
    if !req.ip_address.is_empty() && req.ip_address.trim().parse::<IpAddr>().is_err() {
        return Err(Failure::BadRequest(format!(
            "ipAddress '{}' is not an IP address",
            req.ip_address
        )));
    }
    let account = req.account_upn.trim().to_ascii_lowercase();
    let loaded = g.gw.current();
    let policy = loaded.config.policy_for(&account);
    let settings = policy.settings.clone();
    drop(loaded);
    let Some((workload, enabled)) = workload_enabled(&req.workload, &settings) else {
        return Err(Failure::BadRequest(format!(
            "workload '{}' is not one of Email, Teams, Office, Copilot",
            req.workload
        )));
    };
    let report_id = uuid::Uuid::new_v4().to_string();
    if !enabled {
        return Ok(json!({
            "actionType": ActionType::ClickAllowed.as_str(),
            "reportId": report_id,
            "threatTypes": "",
            "detectionMethods": "",
            "urlChain": serde_json::to_string(&[&req.url]).unwrap_or_default(),
            "protected": false,
            "recorded": false,
        }));
    }
    let verdict = g.gw.decide(&req.url, &settings).await;
    let row = ClickRow {
        timestamp: now_ticks_ns(),
        url: req.url.clone(),
        action_type: verdict.action.as_str().to_string(),
        account_upn: account,
        workload: workload.to_string(),
        network_message_id: req.network_message_id.clone(),
        threat_types: verdict.threat_types(),
        detection_methods: verdict.detection_methods(),
        ip_address: req.ip_address.trim().to_string(),
        is_clicked_through: false,
        url_chain: verdict.url_chain(),
        report_id: report_id.clone(),
        app_name: req.app_name.clone(),
        app_version: req.app_version.clone(),
        source_id: if req.source_id.is_empty() {
            req.network_message_id.clone()
        } else {
            req.source_id.clone()
        },
    };
    let continue_url = (settings.allow_click_through && can_continue(verdict.action)).then(|| {
        g.gw.signer()
            .continue_link(&g.gw.base_url(""), &continue_token(&row))
    });
    let recorded = if settings.track_clicks {
        g.events
            .record_click(row)
            .await
            .map_err(|e| Failure::Internal(format!("the click could not be recorded: {e}")))?
    } else {
        false
    };
    Ok(json!({
        "actionType": verdict.action.as_str(),
        "reportId": report_id,
        "threatTypes": verdict.threat_types(),
        "detectionMethods": verdict.detection_methods(),
        "urlChain": verdict.url_chain(),
        "protected": true,
        "recorded": recorded,
        "continueUrl": continue_url,
    }))
}

fn can_continue(action: ActionType) -> bool {
    matches!(
        action,
        ActionType::ClickBlocked | ActionType::UrlScanInProgress
    )
}

fn continue_token(row: &ClickRow) -> ContinueToken {
    ContinueToken {
        url: row.url.clone(),
        action_type: row.action_type.clone(),
        account_upn: row.account_upn.clone(),
        workload: row.workload.clone(),
        network_message_id: row.network_message_id.clone(),
        threat_types: row.threat_types.clone(),
        detection_methods: row.detection_methods.clone(),
        url_chain: row.url_chain.clone(),
        report_id: row.report_id.clone(),
        app_name: row.app_name.clone(),
        app_version: row.app_version.clone(),
        source_id: row.source_id.clone(),
        expires: chrono::Utc::now().timestamp() + CONTINUE_TTL_SECS,
    }
}

/// The client's address: the peer, or `X-Forwarded-For` from a trusted proxy.
fn client_address(shared: &Shared, req: &Request) -> String {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(peer) = peer else {
        return String::new();
    };
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let trusted = &shared.gateway.gw.current().config.gateway.trusted_proxies;
    safelinks::client_ip(peer, &forwarded, trusted).to_string()
}

fn page_kind(v: &Verdict) -> PageKind {
    use safelinks::feeds::ThreatType;
    match v.action {
        ActionType::ClickBlockedByTenantPolicy => PageKind::BlockedUrl,
        ActionType::UrlScanInProgress => PageKind::ScanInProgress,
        ActionType::UrlErrorPage => PageKind::Error,
        _ if v.threats.contains_key(&ThreatType::Malware) => PageKind::MaliciousWebsite,
        _ if v.threats.contains_key(&ThreatType::Phish) => PageKind::PhishingAttempt,
        _ => PageKind::SuspiciousMessage,
    }
}

/// A page response with the headers every gateway page carries.
fn page_response(kind: PageKind, url: Option<&str>, detail: &str, links: &PageLinks) -> Response {
    let html = render(kind, url, detail, links);
    let mut r = (
        StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::FORBIDDEN),
        html,
    )
        .into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    secure_headers(h);
    r
}

fn secure_headers(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// A 302 to `url` (written in its ASCII form), or the error page if it cannot be.
fn redirect(url: &str) -> Response {
    let target = url::Url::parse(url)
        .ok()
        .filter(|u| u.scheme() == "http" || u.scheme() == "https")
        .and_then(|u| HeaderValue::from_str(u.as_str()).ok());
    let Some(target) = target else {
        return page_response(
            PageKind::Error,
            Some(url),
            "The address cannot be opened.",
            &PageLinks::default(),
        );
    };
    let mut r = StatusCode::FOUND.into_response();
    r.headers_mut().insert(header::LOCATION, target);
    secure_headers(r.headers_mut());
    r
}

fn invalid_link(e: &safelinks::LinkError) -> Response {
    page_response(
        PageKind::InvalidLink,
        None,
        &format!("Reason: {e}."),
        &PageLinks::default(),
    )
}

async fn click(State(st): State<AppState>, req: Request) -> Response {
    let shared = &st.shared;
    let g = &shared.gateway;
    g.refresh();
    let query = req.uri().query().unwrap_or("");
    let ctx = match g.gw.signer().verify_click(query) {
        Ok(c) => c,
        Err(e) => {
            tracing::info!("refused a Safe Links click: {e}");
            return invalid_link(&e);
        }
    };
    let ip = client_address(shared, &req);
    let settings =
        g.gw.current()
            .config
            .policy_for(&ctx.recipient)
            .settings
            .clone();
    let verdict = g.gw.decide(&ctx.url, &settings).await;
    let row = ClickRow {
        timestamp: now_ticks_ns(),
        url: ctx.url.clone(),
        action_type: verdict.action.as_str().to_string(),
        account_upn: ctx.recipient.clone(),
        workload: "Email".into(),
        network_message_id: ctx.network_message_id.clone(),
        threat_types: verdict.threat_types(),
        detection_methods: verdict.detection_methods(),
        ip_address: ip,
        is_clicked_through: false,
        url_chain: verdict.url_chain(),
        report_id: uuid::Uuid::new_v4().to_string(),
        app_name: "Mail".into(),
        app_version: "0.0.0000".into(),
        source_id: ctx.network_message_id.clone(),
    };
    let links = PageLinks {
        continue_href: (settings.allow_click_through && can_continue(verdict.action))
            .then(|| g.gw.signer().continue_link("", &continue_token(&row))),
        retry_href: (verdict.action == ActionType::UrlScanInProgress)
            .then(|| format!("{}?{query}", safelinks::CLICK_PATH)),
    };
    if settings.track_clicks {
        if let Err(e) = g.events.record_click(row).await {
            // The user still gets the verdict; the failure is loud in the log.
            tracing::error!("a Safe Links click was not recorded: {e}");
        }
    }
    if verdict.shows_page() {
        page_response(page_kind(&verdict), Some(&ctx.url), "", &links)
    } else {
        redirect(&ctx.url)
    }
}

async fn continue_anyway(State(st): State<AppState>, req: Request) -> Response {
    let shared = &st.shared;
    let g = &shared.gateway;
    g.refresh();
    let query = req.uri().query().unwrap_or("");
    let token = match g
        .gw
        .signer()
        .verify_continue(query, chrono::Utc::now().timestamp())
    {
        Ok(t) => t,
        Err(e) => {
            tracing::info!("refused a Safe Links continue link: {e}");
            return invalid_link(&e);
        }
    };
    let settings =
        g.gw.current()
            .config
            .policy_for(&token.account_upn)
            .settings
            .clone();
    if !settings.allow_click_through {
        return page_response(
            PageKind::BlockedUrl,
            Some(&token.url),
            "Your organization no longer lets you continue to this site.",
            &PageLinks::default(),
        );
    }
    let ip = client_address(shared, &req);
    let row = ClickRow {
        timestamp: now_ticks_ns(),
        url: token.url.clone(),
        action_type: token.action_type,
        account_upn: token.account_upn,
        workload: token.workload,
        network_message_id: token.network_message_id,
        threat_types: token.threat_types,
        detection_methods: token.detection_methods,
        ip_address: ip,
        is_clicked_through: true,
        url_chain: token.url_chain,
        report_id: token.report_id,
        app_name: token.app_name,
        app_version: token.app_version,
        source_id: token.source_id,
    };
    if settings.track_clicks {
        if let Err(e) = g.events.record_click(row).await {
            tracing::error!("a Safe Links click-through was not recorded: {e}");
        }
    }
    redirect(&token.url)
}

async fn policy_get(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(f) = st.shared.admit(&headers, Permission::Manage) {
        return json_failure(&f);
    }
    st.shared.gateway.refresh();
    let mut status = st.shared.gateway.gw.status();
    status["recordsEvents"] = json!(st.shared.gateway.events.durable());
    json_ok(status)
}

async fn policy_put(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(f) = st.shared.admit(&headers, Permission::Manage) {
        return json_failure(&f);
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return json_failure(&Failure::BadRequest("the policy is not UTF-8 text".into()));
    };
    match st.shared.gateway.gw.replace_policy(text) {
        Ok(()) => json_ok(st.shared.gateway.gw.status()),
        Err(e) => json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "BadRequest", "message": e.to_string(), "issues": e.issues}})
                .to_string()
                .into_bytes(),
        ),
    }
}
