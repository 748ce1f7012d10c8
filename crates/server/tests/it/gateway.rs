//! The Safe Links gateway end to end: rewrite a message, click its links as a browser
//! would, continue past a warning, then hunt the clicks; tampered links; SSRF through
//! redirects; roles.

use crate::support::*;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use engine::Engine;
use serde_json::{json, Value as Json};
use server::auth::{keys_path, KeyFile, Role};
use server::{AppState, ServerConfig};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use store::storage::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const MESSAGE_ID: &str = "e51ba906-ca62-4fba-cf21-08dbfc9c5192";
const PUBLIC: &str = "https://gw.test";

/// A server over a store in a fresh data directory holding `policy` and a phish feed.
fn gateway_state(policy: &str, keys: Option<std::path::PathBuf>) -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("feeds")).unwrap();
    std::fs::write(
        dir.path().join("feeds/phish.txt"),
        "# reported phish\nphish.example\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("safelinks.toml"), policy).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let engine = Arc::new(Engine::new());
    store.register_into(&engine);
    let st = AppState::new(
        engine,
        Some(store),
        ServerConfig {
            data_dir: Some(dir.path().to_path_buf()),
            rate_limit_per_minute: None,
            keys_path: keys,
            ..Default::default()
        },
    )
    .unwrap();
    (dir, st)
}

fn policy(allow_networks: &str) -> String {
    format!(
        r#"
[[Policy]]
Name = "Everyone"
Priority = 0
AllowClickThrough = true

[[TenantAllowBlockList]]
Value = "blocked.example"
Action = "Block"
Notes = "reported by SOC"

[[ThreatFeed]]
Path = "feeds/phish.txt"
ThreatType = "Phish"
DetectionMethod = "URL malicious reputation"

[Gateway]
PublicUrl = "{PUBLIC}"
AllowPrivateNetworks = [{allow_networks}]
ScanWaitMs = 2000
ResolveTimeoutMs = 4000
TrustedProxies = ["10.9.0.0/16"]
"#
    )
}

/// A web site on `ip`: each path answers (status, Location); `/slow` never answers.
/// Counts the connections it accepts.
async fn target(
    ip: &str,
    routes: Vec<(&'static str, u16, String)>,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let l = TcpListener::bind((ip, 0)).await.unwrap();
    let addr = l.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            c.fetch_add(1, Ordering::SeqCst);
            let routes = routes.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split(' ').nth(1).unwrap_or("/").to_string();
                if path == "/slow" {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                let (status, loc) = routes
                    .iter()
                    .find(|(p, _, _)| *p == path)
                    .map(|(_, s, l)| (*s, l.clone()))
                    .unwrap_or((404, String::new()));
                let loc = if loc.is_empty() {
                    String::new()
                } else {
                    format!("Location: {loc}\r\n")
                };
                let resp = format!(
                    "HTTP/1.1 {status} X\r\n{loc}Content-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    (addr, count)
}

async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a
}

/// A browser's GET of `link` (absolute or relative) from `peer`.
async fn browse(st: &AppState, link: &str, peer: &str, forwarded: Option<&str>) -> Reply {
    let path = link.strip_prefix(PUBLIC).unwrap_or(link);
    let mut req = Request::get(path).header("accept", "text/html");
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    send(st, req).await
}

/// The wrapped links of a rewritten HTML body, in order.
fn wrapped_links(body: &str) -> Vec<String> {
    let prefix = format!("{PUBLIC}/safelinks/v1/click?");
    body.match_indices(&prefix)
        .map(|(i, _)| {
            let rest = &body[i..];
            let end = rest.find(['"', ' ', '<', '\n']).unwrap_or(rest.len());
            rest[..end].replace("&amp;", "&")
        })
        .collect()
}

fn continue_href(page: &str) -> String {
    let marker = "href=\"";
    let i = page
        .match_indices(marker)
        .map(|(i, _)| i + marker.len())
        .find(|&i| page[i..].starts_with("/safelinks/v1/continue"))
        .expect("a Continue anyway link");
    let end = page[i..].find('"').unwrap();
    page[i..i + end].replace("&amp;", "&")
}

async fn hunt(st: &AppState, query: &str) -> Vec<Json> {
    let r = post(st, "/api/advancedhunting/run", json!({ "Query": query })).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["Results"].as_array().unwrap().clone()
}

async fn rewrite(st: &AppState, body: &str, content_type: &str, message_id: &str) -> Reply {
    post(
        st,
        "/api/safelinks/rewrite",
        json!({
            "body": body, "contentType": content_type, "recipient": "Alice@Contoso.com",
            "networkMessageId": message_id, "sender": "news@fabrikam.example",
        }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_click_continue_then_hunt_the_clicks() {
    let (site, _) = target(
        "127.0.0.1",
        vec![
            ("/r1", 302, "/r2".into()),
            ("/r2", 301, "/ok".into()),
            ("/ok", 200, String::new()),
        ],
    )
    .await;
    let down = closed_port().await;
    let (_dir, st) = gateway_state(&policy("\"127.0.0.0/8\""), None);
    let html = format!(
        r#"<html><body><p>Hello,</p>
<p><a href="http://{site}/r1">Your invoice</a></p>
<p><a href='https://blocked.example/login'>Sign in</a></p>
<p>Pay at https://phish.example/pay?x=1&amp;y=2 today.</p>
<p><a href="http://{site}/slow">Report</a> and <a href="http://{down}/">archive</a></p>
</body></html>"#
    );
    let r = rewrite(&st, &html, "text/html", MESSAGE_ID).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["wrappedLinks"], 5);
    let body = v["body"].as_str().unwrap();
    assert!(!body.contains("https://blocked.example/login'"), "{body}");
    let links = wrapped_links(body);
    assert_eq!(links.len(), 5, "{body}");

    // Allowed: a 302 to the original URL after following its redirect chain.
    let r = browse(&st, &links[0], "203.0.113.7:50000", None).await;
    assert_eq!(r.status, 302, "{}", r.text());
    assert_eq!(r.headers["location"], format!("http://{site}/r1"));
    assert_eq!(r.headers["referrer-policy"], "no-referrer");

    // Tenant-blocked: the blocked URL page, no way through. Through a trusted proxy.
    let r = browse(&st, &links[1], "10.9.0.1:40000", Some("198.51.100.23")).await;
    assert_eq!(r.status, 403);
    let page = r.text();
    assert!(page.contains("<h1>Blocked URL warning</h1>"), "{page}");
    assert!(!page.contains("Continue anyway"));
    assert!(r.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));

    // Phish-blocked: the phishing page with "Continue anyway" (the policy allows it).
    // An untrusted peer's X-Forwarded-For is ignored.
    let r = browse(&st, &links[2], "203.0.113.8:50000", Some("6.6.6.6")).await;
    assert_eq!(r.status, 403);
    let page = r.text();
    assert!(page.contains("<h1>Phishing attempt warning</h1>"), "{page}");
    assert!(page.contains("https://phish.example/pay?x=1&amp;y=2"));
    let cont = continue_href(&page);
    let r = browse(&st, &cont, "203.0.113.8:50001", None).await;
    assert_eq!(r.status, 302, "{}", r.text());
    assert_eq!(r.headers["location"], "https://phish.example/pay?x=1&y=2");

    // Scan pending: the target never answers within ScanWaitMs.
    let r = browse(&st, &links[3], "203.0.113.7:50002", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.text();
    assert!(page.contains("<h1>Scan in progress</h1>"), "{page}");
    assert!(page.contains(">Try again</a>"));

    // Unreachable: nothing listens there.
    let r = browse(&st, &links[4], "203.0.113.7:50003", None).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(r.text().contains("<h1>Error</h1>"));

    let rows = hunt(
        &st,
        &format!(
            "UrlClickEvents | where NetworkMessageId == \"{MESSAGE_ID}\" | order by Timestamp asc"
        ),
    )
    .await;
    assert_eq!(rows.len(), 6, "{rows:#?}");
    let col = |i: usize, c: &str| rows[i][c].clone();
    let actions: Vec<Json> = (0..6).map(|i| col(i, "ActionType")).collect();
    assert_eq!(
        actions,
        [
            "ClickAllowed",
            "ClickBlockedByTenantPolicy",
            "ClickBlocked",
            "ClickBlocked",
            "UrlScanInProgress",
            "UrlErrorPage"
        ]
    );
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.as_object().unwrap().len(), 15, "{row:#?}");
        assert_eq!(col(i, "AccountUpn"), "alice@contoso.com");
        assert_eq!(col(i, "Workload"), "Email");
        assert_eq!(col(i, "AppName"), "Mail");
        assert_eq!(col(i, "AppVersion"), "0.0.0000");
        assert_eq!(col(i, "SourceId"), MESSAGE_ID);
        assert!(uuid::Uuid::parse_str(col(i, "ReportId").as_str().unwrap()).is_ok());
        let chain: Vec<String> =
            serde_json::from_str(col(i, "UrlChain").as_str().unwrap()).unwrap();
        assert_eq!(chain[0], col(i, "Url").as_str().unwrap());
    }
    // The allowed click's redirect chain.
    assert_eq!(col(0, "Url"), format!("http://{site}/r1"));
    assert_eq!(
        col(0, "UrlChain"),
        json!([
            format!("http://{site}/r1"),
            format!("http://{site}/r2"),
            format!("http://{site}/ok")
        ])
        .to_string()
    );
    assert_eq!(col(0, "IPAddress"), "203.0.113.7");
    assert_eq!(col(0, "ThreatTypes"), "");
    assert_eq!(col(1, "IPAddress"), "198.51.100.23");
    assert_eq!(col(2, "IPAddress"), "203.0.113.8");
    // The click-through: two rows, one ReportId.
    assert_eq!(col(2, "Url"), "https://phish.example/pay?x=1&y=2");
    assert_eq!(col(2, "ThreatTypes"), "Phish");
    assert_eq!(
        col(2, "DetectionMethods"),
        r#"{"Phish":["URL malicious reputation"]}"#
    );
    assert_eq!(col(2, "IsClickedThrough"), false);
    assert_eq!(col(3, "IsClickedThrough"), true);
    assert_eq!(col(2, "ReportId"), col(3, "ReportId"));
    assert_eq!(col(3, "DetectionMethods"), col(2, "DetectionMethods"));
    let ids: std::collections::HashSet<Json> = (0..6).map(|i| col(i, "ReportId")).collect();
    assert_eq!(ids.len(), 5);
    // Timestamps carry 100 ns ticks.
    let ts = col(0, "Timestamp");
    assert!(ts.as_str().unwrap().ends_with('Z'), "{ts}");

    let n = hunt(
        &st,
        &format!("EmailUrlInfo | where NetworkMessageId == \"{MESSAGE_ID}\" | summarize n = count(), d = dcount(UrlDomain)"),
    )
    .await;
    assert_eq!(n[0]["n"], 5);
    assert_eq!(n[0]["d"], 3);
}

#[tokio::test]
async fn tampered_links_never_redirect() {
    let (_dir, st) = gateway_state(&policy(""), None);
    let r = rewrite(
        &st,
        "See https://contoso.example/report now",
        "text/plain",
        MESSAGE_ID,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json()["body"].as_str().unwrap().to_string();
    let link = body
        .split_whitespace()
        .find(|w| w.starts_with(PUBLIC))
        .unwrap()
        .to_string();
    let evil = link.replace("contoso.example", "evil.example");
    let other_user = link.replace("alice%40contoso.com", "bob%40contoso.com");
    let truncated = link[..link.len() - 4].to_string();
    let other_message = link.replace(MESSAGE_ID, "00000000-0000-0000-0000-000000000000");
    let unsigned = link.split("&sig=").next().unwrap().to_string();
    let forged_continue =
        "/safelinks/v1/continue?c=eyJ1cmwiOiJodHRwczovL2V2aWwuZXhhbXBsZS8ifQ&sig=AAAA".to_string();
    for (name, l) in [
        ("changed URL", evil),
        ("changed user", other_user),
        ("truncated signature", truncated),
        ("other message id", other_message),
        ("no signature", unsigned),
        ("forged continue", forged_continue),
    ] {
        assert_ne!(l, link, "{name}");
        let r = browse(&st, &l, "203.0.113.7:1", None).await;
        assert_eq!(r.status, 400, "{name}: {}", r.text());
        assert!(r.headers.get("location").is_none(), "{name}");
        assert!(r.text().contains("This link is not valid"), "{name}");
    }
    let rows = hunt(&st, "UrlClickEvents | count").await;
    assert_eq!(rows[0]["Count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_private_addresses_are_not_followed() {
    // The internal service the attacker wants the gateway to reach.
    let (internal, internal_hits) = target("127.0.0.2", vec![("/", 200, String::new())]).await;
    let (site, _) = target(
        "127.0.0.1",
        vec![
            ("/to-internal", 302, format!("http://{internal}/")),
            (
                "/to-metadata",
                302,
                "http://169.254.169.254/latest/meta-data/".into(),
            ),
            (
                "/to-localhost",
                302,
                format!("http://localhost:{}/", internal.port()),
            ),
        ],
    )
    .await;
    // Only the public-facing test site is allow-listed, not the rest of loopback.
    let (_dir, st) = gateway_state(&policy("\"127.0.0.1/32\""), None);
    for path in ["/to-internal", "/to-metadata", "/to-localhost"] {
        let url = format!("http://{site}{path}");
        let r = post(
            &st,
            "/api/safelinks/check",
            json!({"url": url, "accountUpn": "bob@contoso.com", "workload": "Teams",
                   "appName": "Teams", "appVersion": "1.0", "ipAddress": "203.0.113.9"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let chain: Vec<String> = serde_json::from_str(v["urlChain"].as_str().unwrap()).unwrap();
        assert_eq!(chain.len(), 2, "{path}: {chain:?}");
        assert_eq!(v["actionType"], "ClickAllowed", "{path}");
    }
    assert_eq!(
        internal_hits.load(Ordering::SeqCst),
        0,
        "the gateway connected to the internal address"
    );
    // The check API's event: Teams workload, app name and version, source id.
    let rows = hunt(&st, "UrlClickEvents | where Workload == \"Teams\" | project AppName, AppVersion, IPAddress, SourceId, NetworkMessageId | take 1").await;
    assert_eq!(rows[0]["AppName"], "Teams");
    assert_eq!(rows[0]["AppVersion"], "1.0");
    assert_eq!(rows[0]["IPAddress"], "203.0.113.9");
}

#[tokio::test]
async fn check_api_verdicts_and_roles() {
    let keys_dir = tempfile::tempdir().unwrap();
    let path = keys_path(keys_dir.path());
    let mut f = KeyFile::default();
    let (_, reader) = f.create(Role::Reader, None).unwrap();
    let (_, gateway) = f.create(Role::Gateway, None).unwrap();
    let (_, ingestor) = f.create(Role::Ingestor, None).unwrap();
    let (_, admin) = f.create(Role::Admin, None).unwrap();
    f.save(&path).unwrap();
    let (dir, st) = gateway_state(&policy(""), Some(path));
    let check = json!({"url": "https://www.phish.example/a", "accountUpn": "Bob@Contoso.com",
        "workload": "teams", "appName": "Teams", "appVersion": "25.1", "ipAddress": "2001:db8::7",
        "sourceId": "19:abc@thread.v2"});
    let r = post(&st, "/api/safelinks/check", check.clone()).await;
    assert_eq!(r.status, 401);
    let r = send(&st, post_json_auth("/api/safelinks/check", &check, &reader)).await;
    assert_eq!(r.status, 403);
    for key in [&gateway, &ingestor, &admin] {
        let r = send(&st, post_json_auth("/api/safelinks/check", &check, key)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["actionType"], "ClickBlocked");
        assert_eq!(v["threatTypes"], "Phish");
        assert_eq!(
            v["detectionMethods"],
            r#"{"Phish":["URL malicious reputation"]}"#
        );
        assert!(uuid::Uuid::parse_str(v["reportId"].as_str().unwrap()).is_ok());
        assert!(v["continueUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://gw.test/safelinks/v1/continue?"));
    }
    let bad = json!({"url": "javascript:alert(1)", "accountUpn": "b@c.com", "workload": "Teams"});
    let r = send(&st, post_json_auth("/api/safelinks/check", &bad, &gateway)).await;
    assert_eq!(r.status, 400);
    let r = send(&st, post_json_auth("/api/safelinks/rewrite", &json!({"body": "x", "contentType": "text/html", "recipient": "a@b.c", "networkMessageId": "m"}), &reader)).await;
    assert_eq!(r.status, 403);
    // The click endpoint needs no key: its signature protects it.
    let r = browse(
        &st,
        "/safelinks/v1/click?url=https%3A%2F%2Fx.example&r=a&m=b&t=1&sig=AAAA",
        "203.0.113.1:1",
        None,
    )
    .await;
    assert_eq!(r.status, 400);

    // The policy admin API: a bad policy is refused with its line and changes nothing.
    let put = |text: &str, key: &str| {
        Request::put("/api/safelinks/policy")
            .header("authorization", format!("Bearer {key}"))
            .body(Body::from(text.to_string()))
            .unwrap()
    };
    let r = send(
        &st,
        put(
            "[[TenantAllowBlockList]]\nValue = \"contoso.com:443\"\nAction = \"Block\"\n",
            &admin,
        ),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["issues"][0]["line"], 2);
    assert!(std::fs::read_to_string(dir.path().join("safelinks.toml"))
        .unwrap()
        .contains("phish.txt"));
    let r = send(&st, put("", &gateway)).await;
    assert_eq!(r.status, 403);
    let r = send(
        &st,
        put(
            "[[Policy]]\nName = \"Strict\"\nTrackClicks = false\nScanUrls = false\n",
            &admin,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["policies"][0]["name"], "Strict");
    let r = send(
        &st,
        post_json_auth("/api/safelinks/check", &check, &gateway),
    )
    .await;
    assert_eq!(
        r.json()["actionType"],
        "ClickAllowed",
        "the feed is gone with the old policy"
    );
    assert_eq!(r.json()["recorded"], false, "TrackClicks is off");
}

#[tokio::test]
async fn in_memory_server_rewrites_with_defaults() {
    let st = open_state();
    let r = rewrite(
        &st,
        "<a href=\"https://a.example/\">a</a>",
        "text/html",
        "m-1",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["wrappedLinks"], 1);
    assert_eq!(v["recorded"], false);
    assert!(v["body"]
        .as_str()
        .unwrap()
        .contains("/safelinks/v1/click?url=https%3A%2F%2Fa.example%2F"));
}
