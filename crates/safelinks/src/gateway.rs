//! The gateway: the configuration in force (hot-reloaded, last good kept), the link
//! signer, rewriting a message and deciding a click, with the scan cache.

use crate::canonical::CanonicalUrl;
use crate::chain::{resolve, Chain, ResolverConfig};
use crate::feeds::FeedIndex;
use crate::policy::{load_feeds, Config, ConfigError, ConfigIssue, PolicySettings, POLICY_FILE};
use crate::rewrite::{rewrite_html, rewrite_text};
use crate::signing::{ClickContext, LinkSigner, SecretError, CLICK_PATH};
use crate::verdict::{chain_verdict, list_verdict, unscanned_verdict, Verdict};
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime};
use tokio::sync::watch;

/// Scan results kept at most (older ones are dropped first when full).
const MAX_SCANS: usize = 50_000;

/// A configuration in force with its feeds.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub feeds: FeedIndex,
    pub loaded_at: DateTime<Utc>,
}

/// A message body's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    Html,
    Text,
}

/// A message to rewrite for one recipient.
#[derive(Clone, Debug)]
pub struct RewriteRequest<'a> {
    pub body: &'a str,
    pub kind: BodyKind,
    pub recipient: &'a str,
    pub network_message_id: &'a str,
    pub sender: &'a str,
}

/// The rewritten body and every distinct http(s) URL the message had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewritten {
    pub body: String,
    pub urls: Vec<String>,
    pub wrapped: usize,
}

/// File identity used to notice changes (modification time and length).
type Stamp = Option<(SystemTime, u64)>;

enum ScanSlot {
    Pending(watch::Receiver<Option<Arc<Chain>>>),
    Done(Arc<Chain>, Instant),
}

/// The Safe Links gateway.
pub struct Gateway {
    data_dir: Option<PathBuf>,
    signer: LinkSigner,
    current: RwLock<Arc<Loaded>>,
    last_error: RwLock<Option<ConfigError>>,
    stamps: Mutex<Vec<(PathBuf, Stamp)>>,
    scans: Arc<Mutex<HashMap<String, ScanSlot>>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A gateway over `data_dir` (secret and policy file there), or in memory (a secret
    /// that dies with the process, the built-in policy). A bad policy file does not
    /// stop it: the built-in policy applies and the error is in [`Gateway::last_error`].
    pub fn open(data_dir: Option<&Path>) -> Result<Gateway, SecretError> {
        let signer = match data_dir {
            Some(d) => LinkSigner::load_or_create(d)?,
            None => LinkSigner::ephemeral()?,
        };
        let gw = Gateway {
            data_dir: data_dir.map(Path::to_path_buf),
            signer,
            current: RwLock::new(Arc::new(Loaded {
                config: Config::default(),
                feeds: FeedIndex::default(),
                loaded_at: Utc::now(),
            })),
            last_error: RwLock::new(None),
            stamps: Mutex::new(Vec::new()),
            scans: Arc::new(Mutex::new(HashMap::new())),
        };
        let _ = gw.reload();
        Ok(gw)
    }

    pub fn signer(&self) -> &LinkSigner {
        &self.signer
    }

    /// The configuration in force.
    pub fn current(&self) -> Arc<Loaded> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Why the last load failed, while the previous configuration stays in force.
    pub fn last_error(&self) -> Option<ConfigError> {
        self.last_error
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn policy_path(&self) -> Option<PathBuf> {
        self.data_dir.as_ref().map(|d| d.join(POLICY_FILE))
    }

    /// Reads the policy file and its feeds; on success they replace the configuration
    /// in force, on failure it stays and the error is kept.
    pub fn reload(&self) -> Result<(), ConfigError> {
        let Some(path) = self.policy_path() else {
            return Ok(());
        };
        let mut stamps = vec![(path.clone(), stamp(&path))];
        let result = match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(ConfigError {
                file: path.display().to_string(),
                issues: vec![ConfigIssue {
                    line: 0,
                    message: format!("cannot read it: {e}"),
                }],
            }),
            Ok(text) => Config::parse(&text, &path.display().to_string(), self.base_dir()),
        };
        let result = result.and_then(|config| {
            for f in &config.feeds {
                stamps.push((f.path.clone(), stamp(&f.path)));
            }
            let feeds = load_feeds(&config, &path.display().to_string())?;
            Ok(Loaded {
                config,
                feeds,
                loaded_at: Utc::now(),
            })
        });
        // Watch the files of a failed load too, so fixing them is noticed.
        *self.stamps.lock().unwrap_or_else(|e| e.into_inner()) = stamps;
        let mut last = self.last_error.write().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(loaded) => {
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
                *last = None;
                Ok(())
            }
            Err(e) => {
                *last = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Reloads if the policy file or a feed changed since the last load; `None` when
    /// nothing changed.
    pub fn poll(&self) -> Option<Result<(), ConfigError>> {
        let changed = {
            let stamps = self.stamps.lock().unwrap_or_else(|e| e.into_inner());
            stamps.iter().any(|(p, s)| stamp(p) != *s)
        };
        changed.then(|| self.reload())
    }

    /// Validates `text` as the policy file (with its feeds), then writes it and puts it
    /// in force. On an error nothing changes.
    pub fn replace_policy(&self, text: &str) -> Result<(), ConfigError> {
        let Some(path) = self.policy_path() else {
            return Err(ConfigError {
                file: POLICY_FILE.into(),
                issues: vec![ConfigIssue {
                    line: 0,
                    message: "this server has no data directory to keep a policy file in".into(),
                }],
            });
        };
        let shown = path.display().to_string();
        let config = Config::parse(text, &shown, self.base_dir())?;
        load_feeds(&config, &shown)?;
        let tmp = path.with_extension("toml.tmp");
        let io = |e: std::io::Error| ConfigError {
            file: shown.clone(),
            issues: vec![ConfigIssue {
                line: 0,
                message: format!("cannot write it: {e}"),
            }],
        };
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        self.reload()
    }

    fn base_dir(&self) -> &Path {
        self.data_dir.as_deref().unwrap_or(Path::new("."))
    }

    /// The base of wrapped links: `[Gateway] PublicUrl`, else `fallback`.
    pub fn base_url(&self, fallback: &str) -> String {
        self.current()
            .config
            .gateway
            .public_url
            .clone()
            .unwrap_or_else(|| fallback.trim_end_matches('/').to_string())
    }

    /// Wraps the links of a message for its recipient, as the recipient's policy says.
    pub fn rewrite(&self, req: &RewriteRequest<'_>, base: &str, now: DateTime<Utc>) -> Rewritten {
        let loaded = self.current();
        let config = &loaded.config;
        let policy = config.policy_for(req.recipient);
        let s = &policy.settings;
        let rewrite_on = s.enable_safe_links_for_email
            && !s.disable_url_rewrite
            && (s.enable_for_internal_senders
                || !config.is_internal_sender(req.sender, req.recipient));
        let own = format!("{}{CLICK_PATH}", base.trim_end_matches('/'));
        let recipient = req.recipient.trim().to_ascii_lowercase();
        let mut urls: Vec<String> = Vec::new();
        let mut wrapped = 0;
        let mut wrap = |u: &str| -> Option<String> {
            if u.starts_with(&own) {
                return None;
            }
            let canonical = CanonicalUrl::parse(u).ok()?;
            if !urls.iter().any(|x| x == u) {
                urls.push(u.to_string());
            }
            if !rewrite_on || policy.do_not_rewrite.iter().any(|x| x.matches(&canonical)) {
                return None;
            }
            wrapped += 1;
            Some(self.signer.wrap(
                base,
                &ClickContext {
                    url: u.to_string(),
                    recipient: recipient.clone(),
                    network_message_id: req.network_message_id.to_string(),
                    issued: now.timestamp(),
                },
            ))
        };
        let body = match req.kind {
            BodyKind::Html => rewrite_html(req.body, &mut wrap),
            BodyKind::Text => rewrite_text(req.body, &mut wrap),
        };
        Rewritten {
            body,
            urls,
            wrapped,
        }
    }

    /// The verdict for a click on `url` under `settings`: the lists first, then the
    /// scan (redirect chain) when scanning is on, waiting for a pending scan up to
    /// `[Gateway] ScanWaitMs`.
    pub async fn decide(&self, url: &str, settings: &PolicySettings) -> Verdict {
        let loaded = self.current();
        let config = &loaded.config;
        let now = Utc::now();
        let canonical = match CanonicalUrl::parse(url) {
            Ok(c) => c,
            Err(e) => {
                let mut v = unscanned_verdict(url, false, false);
                v.action = crate::verdict::ActionType::UrlErrorPage;
                v.reason = e.to_string();
                return v;
            }
        };
        if let Some(v) = list_verdict(url, &canonical, &config.tenant_list, &loaded.feeds, now) {
            return v;
        }
        let g = &config.gateway;
        if !settings.scan_urls || !g.resolve_redirects {
            return unscanned_verdict(url, false, false);
        }
        match self.scan(&canonical, g).await {
            Some(chain) => chain_verdict(url, &chain, &config.tenant_list, &loaded.feeds, now),
            None => unscanned_verdict(url, true, settings.deliver_message_after_scan),
        }
    }

    async fn scan(
        &self,
        url: &CanonicalUrl,
        g: &crate::policy::GatewaySettings,
    ) -> Option<Arc<Chain>> {
        let key = url.to_url_string();
        let mut rx = {
            let mut scans = self.scans.lock().unwrap_or_else(|e| e.into_inner());
            match scans.get(&key) {
                Some(ScanSlot::Done(chain, at)) if at.elapsed() < g.scan_cache => {
                    return Some(chain.clone())
                }
                Some(ScanSlot::Pending(rx)) => rx.clone(),
                _ => {
                    if scans.len() >= MAX_SCANS {
                        scans.retain(|_, s| match s {
                            ScanSlot::Done(_, at) => at.elapsed() < g.scan_cache,
                            ScanSlot::Pending(_) => true,
                        });
                        if scans.len() >= MAX_SCANS {
                            scans.retain(|_, s| matches!(s, ScanSlot::Pending(_)));
                        }
                    }
                    let (tx, rx) = watch::channel(None);
                    scans.insert(key.clone(), ScanSlot::Pending(rx.clone()));
                    let cfg = ResolverConfig {
                        max_redirects: g.max_redirects,
                        timeout: g.resolve_timeout,
                        allow_private: g.allow_private_networks.clone(),
                    };
                    let scans = self.scans.clone();
                    tokio::spawn(async move {
                        let chain = Arc::new(resolve(&key, &cfg).await);
                        scans
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(key, ScanSlot::Done(chain.clone(), Instant::now()));
                        let _ = tx.send(Some(chain));
                    });
                    rx
                }
            }
        };
        let waited = tokio::time::timeout(g.scan_wait, rx.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(v)) => v.clone(),
            _ => None,
        }
    }

    /// A summary for the admin API: what is in force and the last load error.
    pub fn status(&self) -> serde_json::Value {
        let loaded = self.current();
        let c = &loaded.config;
        serde_json::json!({
            "policyFile": self.policy_path().map(|p| p.display().to_string()),
            "loadedAt": loaded.loaded_at.to_rfc3339(),
            "policies": c.policies.iter().map(|p| serde_json::json!({
                "name": p.name, "priority": p.priority, "settings": p.settings,
            })).collect::<Vec<_>>(),
            "tenantAllowBlockList": c.tenant_list.entries.iter().map(|e| serde_json::json!({
                "value": e.value, "action": e.action,
                "expirationDate": e.expires.map(|d| d.to_rfc3339()), "notes": e.notes,
            })).collect::<Vec<_>>(),
            "feeds": c.feeds.iter().map(|f| f.path.display().to_string()).collect::<Vec<_>>(),
            "indicators": loaded.feeds.len(),
            "lastError": self.last_error(),
        })
    }
}

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the
/// right-most `X-Forwarded-For` address that is not itself a trusted proxy.
pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut candidate = peer;
    for header in forwarded_for.iter().rev() {
        for part in header.rsplit(',') {
            let Some(ip) = parse_forwarded(part.trim()) else {
                return candidate;
            };
            candidate = ip;
            if !is_trusted(&ip) {
                return ip;
            }
        }
    }
    candidate
}

fn parse_forwarded(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    s.strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .and_then(|(ip, _)| ip.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::ActionType;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_ip(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &["1.2.3.4"], &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &["6.6.6.6, 1.2.3.4, 10.0.0.7"], &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &["6.6.6.6", "[2001:db8::1]:443"], &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &["junk"], &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(client_ip(ip("10.0.0.1"), &[], &trusted), ip("10.0.0.1"));
        assert_eq!(
            client_ip(ip("::ffff:1.2.3.4"), &[], &trusted),
            ip("1.2.3.4")
        );
    }

    fn request<'a>(body: &'a str, kind: BodyKind, sender: &'a str) -> RewriteRequest<'a> {
        RewriteRequest {
            body,
            kind,
            recipient: "Alice@Contoso.com",
            network_message_id: "m-1",
            sender,
        }
    }

    #[test]
    fn rewrite_follows_the_policy() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(POLICY_FILE),
            "[[Policy]]\nName = \"p\"\nDoNotRewriteUrls = [\"intranet.contoso.com/*\"]\nEnableForInternalSenders = false\n",
        )
        .unwrap();
        let gw = Gateway::open(Some(dir.path())).unwrap();
        assert_eq!(gw.last_error(), None);
        let body = "<a href=\"https://a.example/x\">a</a> https://intranet.contoso.com/wiki https://a.example/x";
        let out = gw.rewrite(
            &request(body, BodyKind::Html, "eve@fabrikam.com"),
            "http://gw",
            Utc::now(),
        );
        assert_eq!(
            out.urls,
            vec!["https://a.example/x", "https://intranet.contoso.com/wiki"]
        );
        assert_eq!(out.wrapped, 2);
        assert!(out.body.contains("https://intranet.contoso.com/wiki"));
        let link = out.body.split('"').nth(1).unwrap().replace("&amp;", "&");
        let ctx = gw
            .signer()
            .verify_click(link.split_once('?').unwrap().1)
            .unwrap();
        assert_eq!(ctx.url, "https://a.example/x");
        assert_eq!(ctx.recipient, "alice@contoso.com");
        // Rewriting its own output changes nothing.
        let again = gw.rewrite(
            &request(&out.body, BodyKind::Html, "eve@fabrikam.com"),
            "http://gw",
            Utc::now(),
        );
        assert_eq!(again.body, out.body);
        // An internal sender with EnableForInternalSenders off: nothing wrapped.
        let out = gw.rewrite(
            &request(body, BodyKind::Text, "bob@contoso.com"),
            "http://gw",
            Utc::now(),
        );
        assert_eq!(out.wrapped, 0);
        assert_eq!(out.body, body);
    }

    #[test]
    fn bad_reload_keeps_the_last_good_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(POLICY_FILE);
        std::fs::create_dir_all(dir.path().join("feeds")).unwrap();
        std::fs::write(dir.path().join("feeds/p.txt"), "evil.example\n").unwrap();
        std::fs::write(
            &path,
            "[[TenantAllowBlockList]]\nValue = \"blocked.example\"\nAction = \"Block\"\n[[ThreatFeed]]\nPath = \"feeds/p.txt\"\n",
        )
        .unwrap();
        let gw = Gateway::open(Some(dir.path())).unwrap();
        assert_eq!(gw.current().config.tenant_list.entries.len(), 1);
        assert_eq!(gw.poll(), None);
        std::fs::write(
            &path,
            "[[TenantAllowBlockList]]\nValue = \"*.com\"\nAction = \"Block\"\n",
        )
        .unwrap();
        let err = gw.poll().unwrap().unwrap_err();
        assert_eq!(err.issues[0].line, 2);
        assert_eq!(
            gw.current().config.tenant_list.entries[0].value,
            "blocked.example"
        );
        assert_eq!(gw.last_error(), Some(err));
        // A feed change is picked up on its own.
        std::fs::write(&path, "[[ThreatFeed]]\nPath = \"feeds/p.txt\"\n").unwrap();
        assert_eq!(gw.poll(), Some(Ok(())));
        assert_eq!(gw.current().feeds.len(), 1);
        std::fs::write(
            dir.path().join("feeds/p.txt"),
            "evil.example\nworse.example\n",
        )
        .unwrap();
        assert_eq!(gw.poll(), Some(Ok(())));
        assert_eq!(gw.current().feeds.len(), 2);
        std::fs::remove_file(dir.path().join("feeds/p.txt")).unwrap();
        assert!(gw.poll().unwrap().is_err());
        assert_eq!(gw.current().feeds.len(), 2);
        // The admin path validates before writing.
        assert!(gw.replace_policy("Nonsense = 1\n").is_err());
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("ThreatFeed"));
        gw.replace_policy("[[Policy]]\nName = \"x\"\n").unwrap();
        assert_eq!(gw.current().config.policies[0].name, "x");
    }

    #[tokio::test]
    async fn decide_lists_scans_and_waiting() {
        // A site that accepts connections and never answers: its scan stays pending.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = silent.accept().await {
                held.push(s);
            }
        });
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(POLICY_FILE),
            "[[TenantAllowBlockList]]\nValue = \"blocked.example\"\nAction = \"Block\"\n[Gateway]\nScanWaitMs = 50\nAllowPrivateNetworks = [\"127.0.0.0/8\"]\n",
        )
        .unwrap();
        let gw = Gateway::open(Some(dir.path())).unwrap();
        let s = PolicySettings::default();
        assert_eq!(
            gw.decide("https://blocked.example/", &s).await.action,
            ActionType::ClickBlockedByTenantPolicy
        );
        // Scanning off: allowed without touching the network.
        let off = PolicySettings {
            scan_urls: false,
            ..PolicySettings::default()
        };
        assert_eq!(
            gw.decide("https://x.invalid/", &off).await.action,
            ActionType::ClickAllowed
        );
        let v = gw.decide(&format!("http://{addr}/a"), &s).await;
        assert_eq!(v.action, ActionType::UrlScanInProgress, "{v:?}");
        let dont_wait = PolicySettings {
            deliver_message_after_scan: false,
            ..PolicySettings::default()
        };
        let v = gw.decide(&format!("http://{addr}/b"), &dont_wait).await;
        assert_eq!(v.action, ActionType::ClickAllowed, "{v:?}");
        // The SSRF guard refuses private addresses outside the allow-list without
        // connecting, and refusing is not an error page.
        let v = gw.decide("http://10.255.255.1/", &s).await;
        assert_eq!(v.action, ActionType::ClickAllowed, "{v:?}");
    }

    #[test]
    fn in_memory_gateway_works_with_defaults() {
        let gw = Gateway::open(None).unwrap();
        assert_eq!(gw.reload(), Ok(()));
        assert!(gw.replace_policy("").is_err());
        let out = gw.rewrite(
            &request("see https://a.example/", BodyKind::Text, "x@y.example"),
            "http://h",
            Utc::now(),
        );
        assert_eq!(out.wrapped, 1);
    }
}
