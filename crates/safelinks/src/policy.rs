//! The gateway's configuration, `<data dir>/safelinks.toml`: Safe Links policies (keys
//! named after `Set-SafeLinksPolicy` and the rule cmdlets), Tenant Allow/Block List URL
//! entries, threat feeds, recipient groups and gateway settings. Every problem is
//! reported with its line; a file with problems is rejected as a whole, so the caller
//! can keep the last good configuration.

use crate::canonical::CanonicalUrl;
use crate::feeds::{parse_feed, FeedFormat, FeedIndex, ThreatType};
use crate::tabl::{TablAction, TenantAllowBlockList, TenantUrlEntry};
use chrono::{DateTime, NaiveDate, Utc};
use ipnet::IpNet;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// The policy file's name inside the data directory.
pub const POLICY_FILE: &str = "safelinks.toml";

/// The detection method given to feed indicators that name none.
pub const DEFAULT_DETECTION_METHOD: &str = "URL malicious reputation";

/// One problem in the configuration, at a 1-based line of the policy file (0 when it
/// is not tied to a line).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ConfigIssue {
    pub line: usize,
    pub message: String,
}

/// The configuration could not be loaded; nothing of it was applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{}", render_issues(file, issues))]
pub struct ConfigError {
    pub file: String,
    pub issues: Vec<ConfigIssue>,
}

fn render_issues(file: &str, issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| {
            if i.line > 0 {
                format!("{file}:{}: {}", i.line, i.message)
            } else {
                format!("{file}: {}", i.message)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The settings of a Safe Links policy (`Set-SafeLinksPolicy`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PolicySettings {
    pub enable_safe_links_for_email: bool,
    pub enable_safe_links_for_teams: bool,
    pub enable_safe_links_for_office: bool,
    pub track_clicks: bool,
    pub allow_click_through: bool,
    pub scan_urls: bool,
    pub deliver_message_after_scan: bool,
    pub enable_for_internal_senders: bool,
    pub disable_url_rewrite: bool,
}

impl Default for PolicySettings {
    /// The recommended values (CIS benchmark), also used by the built-in policy.
    fn default() -> Self {
        PolicySettings {
            enable_safe_links_for_email: true,
            enable_safe_links_for_teams: true,
            enable_safe_links_for_office: true,
            track_clicks: true,
            allow_click_through: false,
            scan_urls: true,
            deliver_message_after_scan: true,
            enable_for_internal_senders: true,
            disable_url_rewrite: false,
        }
    }
}

/// Who a policy applies to: conditions AND across kinds, OR within a kind; any
/// exception excludes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecipientFilter {
    pub sent_to: Vec<String>,
    pub sent_to_member_of: Vec<String>,
    pub recipient_domain_is: Vec<String>,
    pub except_if_sent_to: Vec<String>,
    pub except_if_sent_to_member_of: Vec<String>,
    pub except_if_recipient_domain_is: Vec<String>,
}

impl RecipientFilter {
    fn applies(&self, recipient: &str, groups: &BTreeMap<String, Vec<String>>) -> bool {
        let r = recipient.trim().to_ascii_lowercase();
        let domain = r.rsplit_once('@').map_or("", |(_, d)| d);
        let in_group = |names: &[String]| {
            names.iter().any(|g| {
                groups
                    .get(&g.to_ascii_lowercase())
                    .is_some_and(|members| members.contains(&r))
            })
        };
        let user = |list: &[String]| list.contains(&r);
        let dom = |list: &[String]| list.iter().any(|d| d == domain);
        let cond = |list: &[String], f: &dyn Fn(&[String]) -> bool| list.is_empty() || f(list);
        cond(&self.sent_to, &user)
            && cond(&self.sent_to_member_of, &in_group)
            && cond(&self.recipient_domain_is, &dom)
            && !user(&self.except_if_sent_to)
            && !in_group(&self.except_if_sent_to_member_of)
            && !dom(&self.except_if_recipient_domain_is)
    }
}

/// One Safe Links policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeLinksPolicy {
    pub name: String,
    pub priority: i64,
    pub filter: RecipientFilter,
    pub settings: PolicySettings,
    pub do_not_rewrite: Vec<RewriteExclusion>,
}

impl SafeLinksPolicy {
    /// Applies to everyone no custom policy covers (Microsoft's Built-in protection).
    pub fn built_in() -> SafeLinksPolicy {
        SafeLinksPolicy {
            name: "Built-in protection".into(),
            priority: i64::MAX,
            filter: RecipientFilter::default(),
            settings: PolicySettings::default(),
            do_not_rewrite: Vec::new(),
        }
    }
}

/// A "Do not rewrite the following URLs" entry: up to three `*`, each matching any
/// text; no scheme covers http and https; no path means the bare site only; a
/// trailing `/*` also covers the path before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RewriteExclusion {
    pub value: String,
    scheme: Option<String>,
    pattern: String,
}

impl RewriteExclusion {
    pub fn parse(value: &str) -> Result<RewriteExclusion, String> {
        let v = value.trim();
        if v.is_empty() {
            return Err("an empty DoNotRewriteUrls entry".into());
        }
        if v.contains(char::is_whitespace) {
            return Err(format!("'{v}': spaces are not allowed"));
        }
        if v.matches('*').count() > 3 {
            return Err(format!("'{v}': at most three '*' are allowed"));
        }
        let lower = v.to_ascii_lowercase();
        let (scheme, rest) = match lower.split_once("://") {
            Some((s, r)) if s == "http" || s == "https" => (Some(s.to_string()), r.to_string()),
            Some(_) => return Err(format!("'{v}': only http:// or https:// may be written")),
            None => (None, lower),
        };
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("'{v}' names no host"));
        }
        let pattern = rest.strip_suffix('/').unwrap_or(&rest).to_string();
        Ok(RewriteExclusion {
            value: v.to_string(),
            scheme,
            pattern,
        })
    }

    pub fn matches(&self, url: &CanonicalUrl) -> bool {
        if self.scheme.as_deref().is_some_and(|s| s != url.scheme) {
            return false;
        }
        let host = url.authority();
        let rest = url.rest();
        let target = format!("{host}{rest}").to_ascii_lowercase();
        glob(&self.pattern, &target)
            || self
                .pattern
                .strip_suffix("/*")
                .is_some_and(|p| glob(p, &target))
    }
}

/// `*` matches any text (including nothing); everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// Where a threat feed comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedSource {
    pub path: PathBuf,
    pub format: FeedFormat,
    pub threat: ThreatType,
    pub method: String,
}

/// Settings of the gateway itself (`[Gateway]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewaySettings {
    /// The base of wrapped links, e.g. `https://safelinks.contoso.com`; `None`: the
    /// rewrite request's own `Host`.
    pub public_url: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Follow the clicked URL's redirects (the real-time scan).
    pub resolve_redirects: bool,
    pub max_redirects: u32,
    pub resolve_timeout: Duration,
    /// How long a click waits for a pending scan before the scan-in-progress page.
    pub scan_wait: Duration,
    /// How long a scan result is reused.
    pub scan_cache: Duration,
    /// Private networks the resolver may connect to anyway (for tests and labs).
    pub allow_private_networks: Vec<IpNet>,
    /// The organisation's domains: a sender in one of them is internal.
    pub accepted_domains: Vec<String>,
    /// How often the policy file and feeds are checked for changes.
    pub reload_interval: Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            public_url: None,
            trusted_proxies: Vec::new(),
            resolve_redirects: true,
            max_redirects: 10,
            resolve_timeout: Duration::from_secs(5),
            scan_wait: Duration::from_millis(1500),
            scan_cache: Duration::from_secs(300),
            allow_private_networks: Vec::new(),
            accepted_domains: Vec::new(),
            reload_interval: Duration::from_secs(2),
        }
    }
}

/// A validated configuration.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Sorted by priority (lowest first).
    pub policies: Vec<SafeLinksPolicy>,
    pub tenant_list: TenantAllowBlockList,
    pub feeds: Vec<FeedSource>,
    /// Group name (lower case) → members (lower case).
    pub groups: BTreeMap<String, Vec<String>>,
    pub gateway: GatewaySettings,
}

impl Config {
    /// The policy for `recipient`: the first custom policy by priority whose filter
    /// applies, else the built-in one.
    pub fn policy_for(&self, recipient: &str) -> std::borrow::Cow<'_, SafeLinksPolicy> {
        match self
            .policies
            .iter()
            .find(|p| p.filter.applies(recipient, &self.groups))
        {
            Some(p) => std::borrow::Cow::Borrowed(p),
            None => std::borrow::Cow::Owned(SafeLinksPolicy::built_in()),
        }
    }

    /// Whether `sender` belongs to the organisation: its domain is an accepted domain,
    /// or (with none configured) the recipient's domain.
    pub fn is_internal_sender(&self, sender: &str, recipient: &str) -> bool {
        let domain = |a: &str| {
            a.trim()
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
        };
        let Some(sd) = domain(sender) else {
            return false;
        };
        if self.gateway.accepted_domains.is_empty() {
            domain(recipient).is_some_and(|rd| rd == sd)
        } else {
            self.gateway.accepted_domains.contains(&sd)
        }
    }

    /// Parses policy text. Feed files are not read here (see [`load_feeds`]); `base`
    /// resolves their relative paths.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Config, ConfigError> {
        let fail = |issues| ConfigError {
            file: file.to_string(),
            issues,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            fail(vec![ConfigIssue {
                line: e.span().map_or(0, |s| line_of(text, s.start)),
                message: e.message().trim().to_string(),
            }])
        })?;
        let mut issues = Vec::new();
        let mut issue = |span: std::ops::Range<usize>, message: String| {
            issues.push(ConfigIssue {
                line: line_of(text, span.start),
                message,
            })
        };
        let mut config = Config::default();
        let lower_all = |v: &[String]| v.iter().map(|s| s.trim().to_ascii_lowercase()).collect();
        for (name, members) in &raw.groups {
            config
                .groups
                .insert(name.to_ascii_lowercase(), lower_all(members));
        }
        let mut names = HashSet::new();
        let mut priorities = HashSet::new();
        for p in &raw.policies {
            let span = p.span();
            let p = p.get_ref();
            if !names.insert(p.name.to_ascii_lowercase()) {
                issue(span.clone(), format!("two policies are named '{}'", p.name));
            }
            if !priorities.insert(p.priority) {
                issue(
                    span.clone(),
                    format!("two policies have Priority {}", p.priority),
                );
            }
            for g in p
                .sent_to_member_of
                .iter()
                .chain(&p.except_if_sent_to_member_of)
            {
                if !config.groups.contains_key(&g.to_ascii_lowercase()) {
                    issue(
                        span.clone(),
                        format!("policy '{}': no group '{g}' in [Groups]", p.name),
                    );
                }
            }
            let mut do_not_rewrite = Vec::new();
            for e in &p.do_not_rewrite_urls {
                match RewriteExclusion::parse(e.get_ref()) {
                    Ok(x) => do_not_rewrite.push(x),
                    Err(m) => issue(e.span(), format!("DoNotRewriteUrls: {m}")),
                }
            }
            let d = PolicySettings::default();
            config.policies.push(SafeLinksPolicy {
                name: p.name.clone(),
                priority: p.priority,
                filter: RecipientFilter {
                    sent_to: lower_all(&p.sent_to),
                    sent_to_member_of: lower_all(&p.sent_to_member_of),
                    recipient_domain_is: lower_all(&p.recipient_domain_is),
                    except_if_sent_to: lower_all(&p.except_if_sent_to),
                    except_if_sent_to_member_of: lower_all(&p.except_if_sent_to_member_of),
                    except_if_recipient_domain_is: lower_all(&p.except_if_recipient_domain_is),
                },
                settings: PolicySettings {
                    enable_safe_links_for_email: p
                        .enable_safe_links_for_email
                        .unwrap_or(d.enable_safe_links_for_email),
                    enable_safe_links_for_teams: p
                        .enable_safe_links_for_teams
                        .unwrap_or(d.enable_safe_links_for_teams),
                    enable_safe_links_for_office: p
                        .enable_safe_links_for_office
                        .unwrap_or(d.enable_safe_links_for_office),
                    track_clicks: p.track_clicks.unwrap_or(d.track_clicks),
                    allow_click_through: p.allow_click_through.unwrap_or(d.allow_click_through),
                    scan_urls: p.scan_urls.unwrap_or(d.scan_urls),
                    deliver_message_after_scan: p
                        .deliver_message_after_scan
                        .unwrap_or(d.deliver_message_after_scan),
                    enable_for_internal_senders: p
                        .enable_for_internal_senders
                        .unwrap_or(d.enable_for_internal_senders),
                    disable_url_rewrite: p.disable_url_rewrite.unwrap_or(d.disable_url_rewrite),
                },
                do_not_rewrite,
            });
        }
        config.policies.sort_by_key(|p| p.priority);
        for t in &raw.tabl {
            let span = t.span();
            let t = t.get_ref();
            let action = match t.action.get_ref().parse::<TablAction>() {
                Ok(a) => a,
                Err(m) => {
                    issue(t.action.span(), m);
                    continue;
                }
            };
            let expires = match &t.expiration_date {
                None => None,
                Some(v) => match parse_expiry(v.get_ref()) {
                    Ok(d) => Some(d),
                    Err(m) => {
                        issue(v.span(), format!("ExpirationDate: {m}"));
                        continue;
                    }
                },
            };
            match TenantUrlEntry::new(
                t.value.get_ref(),
                action,
                expires,
                t.notes.as_deref().unwrap_or(""),
            ) {
                Ok(e) => config.tenant_list.entries.push(e),
                Err(e) => issue(
                    t.value.span(),
                    format!("TenantAllowBlockList entry '{}': {e}", t.value.get_ref()),
                ),
            }
            let _ = span;
        }
        for f in &raw.feeds {
            let span = f.span();
            let f = f.get_ref();
            let path = base.join(f.path.get_ref());
            let threat = match f.threat_type.as_deref().unwrap_or("Phish").parse() {
                Ok(t) => t,
                Err(m) => {
                    issue(span, format!("ThreatFeed: {m}"));
                    continue;
                }
            };
            match FeedFormat::choose(f.format.as_deref(), &path) {
                Ok(format) => config.feeds.push(FeedSource {
                    path,
                    format,
                    threat,
                    method: f
                        .detection_method
                        .clone()
                        .unwrap_or_else(|| DEFAULT_DETECTION_METHOD.to_string()),
                }),
                Err(m) => issue(span, format!("ThreatFeed: {m}")),
            }
        }
        if let Some(g) = &raw.gateway {
            let span = g.span();
            match g.get_ref().to_settings() {
                Ok(s) => config.gateway = s,
                Err(m) => issue(span, format!("[Gateway]: {m}")),
            }
        }
        if issues.is_empty() {
            Ok(config)
        } else {
            Err(fail(issues))
        }
    }
}

/// Reads every feed of `config` into one index. A missing or unreadable feed, or a bad
/// line in one, is an issue at the feed's `[[ThreatFeed]]` (line 0: the file names it).
pub fn load_feeds(config: &Config, file: &str) -> Result<FeedIndex, ConfigError> {
    let mut index = FeedIndex::default();
    let mut issues = Vec::new();
    for f in &config.feeds {
        let text = match std::fs::read_to_string(&f.path) {
            Ok(t) => t,
            Err(e) => {
                issues.push(ConfigIssue {
                    line: 0,
                    message: format!("ThreatFeed {}: cannot read it: {e}", f.path.display()),
                });
                continue;
            }
        };
        let result = parse_feed(&text, f.format, f.threat, &f.method)
            .and_then(|entries| index.add_feed(entries));
        if let Err(problems) = result {
            for p in problems.into_iter().take(20) {
                issues.push(ConfigIssue {
                    line: 0,
                    message: format!("ThreatFeed {}: {p}", f.path.display()),
                });
            }
        }
    }
    if issues.is_empty() {
        Ok(index)
    } else {
        Err(ConfigError {
            file: file.to_string(),
            issues,
        })
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map_or(1, |t| t.matches('\n').count() + 1)
}

fn parse_expiry(v: &toml::Value) -> Result<DateTime<Utc>, String> {
    let s = match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) => d.to_string(),
        other => return Err(format!("expected a date, not {}", other.type_str())),
    };
    if let Ok(d) = DateTime::parse_from_rfc3339(&s) {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(format!(
        "'{s}' is not a date (2026-12-31 or 2026-12-31T00:00:00Z)"
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(rename = "Policy", default)]
    policies: Vec<Spanned<RawPolicy>>,
    #[serde(rename = "TenantAllowBlockList", default)]
    tabl: Vec<Spanned<RawTabl>>,
    #[serde(rename = "ThreatFeed", default)]
    feeds: Vec<Spanned<RawFeed>>,
    #[serde(rename = "Groups", default)]
    groups: BTreeMap<String, Vec<String>>,
    #[serde(rename = "Gateway", default)]
    gateway: Option<Spanned<RawGateway>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct RawPolicy {
    name: String,
    #[serde(default)]
    priority: i64,
    #[serde(default)]
    sent_to: Vec<String>,
    #[serde(default)]
    sent_to_member_of: Vec<String>,
    #[serde(default)]
    recipient_domain_is: Vec<String>,
    #[serde(default)]
    except_if_sent_to: Vec<String>,
    #[serde(default)]
    except_if_sent_to_member_of: Vec<String>,
    #[serde(default)]
    except_if_recipient_domain_is: Vec<String>,
    enable_safe_links_for_email: Option<bool>,
    enable_safe_links_for_teams: Option<bool>,
    enable_safe_links_for_office: Option<bool>,
    track_clicks: Option<bool>,
    allow_click_through: Option<bool>,
    scan_urls: Option<bool>,
    deliver_message_after_scan: Option<bool>,
    enable_for_internal_senders: Option<bool>,
    disable_url_rewrite: Option<bool>,
    #[serde(default)]
    do_not_rewrite_urls: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct RawTabl {
    value: Spanned<String>,
    action: Spanned<String>,
    expiration_date: Option<Spanned<toml::Value>>,
    notes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct RawFeed {
    path: Spanned<String>,
    threat_type: Option<String>,
    detection_method: Option<String>,
    format: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct RawGateway {
    public_url: Option<String>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    resolve_redirects: Option<bool>,
    max_redirects: Option<u32>,
    resolve_timeout_ms: Option<u64>,
    scan_wait_ms: Option<u64>,
    scan_cache_seconds: Option<u64>,
    #[serde(default)]
    allow_private_networks: Vec<String>,
    #[serde(default)]
    accepted_domains: Vec<String>,
    reload_interval_ms: Option<u64>,
}

impl RawGateway {
    fn to_settings(&self) -> Result<GatewaySettings, String> {
        let d = GatewaySettings::default();
        let nets = |list: &[String], key: &str| -> Result<Vec<IpNet>, String> {
            list.iter()
                .map(|s| {
                    s.parse::<IpNet>()
                        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                        .map_err(|_| format!("{key}: '{s}' is not an IP address or CIDR network"))
                })
                .collect()
        };
        if let Some(u) = &self.public_url {
            let parsed = CanonicalUrl::parse(u).map_err(|e| format!("PublicUrl: {e}"))?;
            if parsed.query.is_some() {
                return Err("PublicUrl: a base URL has no query".into());
            }
        }
        if self.max_redirects.is_some_and(|m| m > 50) {
            return Err("MaxRedirects: at most 50".into());
        }
        Ok(GatewaySettings {
            public_url: self
                .public_url
                .as_ref()
                .map(|u| u.trim().trim_end_matches('/').to_string()),
            trusted_proxies: nets(&self.trusted_proxies, "TrustedProxies")?,
            resolve_redirects: self.resolve_redirects.unwrap_or(d.resolve_redirects),
            max_redirects: self.max_redirects.unwrap_or(d.max_redirects),
            resolve_timeout: self
                .resolve_timeout_ms
                .map_or(d.resolve_timeout, Duration::from_millis),
            scan_wait: self.scan_wait_ms.map_or(d.scan_wait, Duration::from_millis),
            scan_cache: self
                .scan_cache_seconds
                .map_or(d.scan_cache, Duration::from_secs),
            allow_private_networks: nets(&self.allow_private_networks, "AllowPrivateNetworks")?,
            accepted_domains: self
                .accepted_domains
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .collect(),
            reload_interval: self
                .reload_interval_ms
                .map_or(d.reload_interval, |ms| Duration::from_millis(ms.max(50))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[[Policy]]                       # Set-SafeLinksPolicy parameters; lowest Priority wins
Name = "Default"
Priority = 0
RecipientDomainIs = ["contoso.com"]
EnableSafeLinksForEmail = true
EnableSafeLinksForTeams = true
EnableSafeLinksForOffice = true
TrackClicks = true
AllowClickThrough = false
ScanUrls = true
DeliverMessageAfterScan = true
EnableForInternalSenders = true
DisableUrlRewrite = false
DoNotRewriteUrls = ["intranet.contoso.com/*"]

[[TenantAllowBlockList]]         # New-TenantAllowBlockListItems -ListType Url
Value = "contoso-phish.example"
Action = "Block"                 # or "Allow"
ExpirationDate = "2026-12-31T00:00:00Z"  # optional
Notes = "reported by SOC"

[[ThreatFeed]]
Path = "feeds/phish.txt"
ThreatType = "Phish"
DetectionMethod = "URL malicious reputation"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "safelinks.toml", Path::new("/data"))
    }

    #[test]
    fn the_issue_example_parses() {
        let c = parse(EXAMPLE).unwrap();
        assert_eq!(c.policies.len(), 1);
        assert_eq!(c.policies[0].settings, PolicySettings::default());
        assert_eq!(c.tenant_list.entries[0].value, "contoso-phish.example");
        assert_eq!(
            c.tenant_list.entries[0].expires,
            Some("2026-12-31T00:00:00Z".parse().unwrap())
        );
        assert_eq!(c.feeds[0].path, Path::new("/data/feeds/phish.txt"));
        assert_eq!(c.feeds[0].format, FeedFormat::Plain);
        assert_eq!(c.policy_for("Alice@Contoso.com").name, "Default");
        assert_eq!(c.policy_for("bob@fabrikam.com").name, "Built-in protection");
    }

    #[test]
    fn problems_carry_their_line() {
        let err = parse("[[Policy]]\nName = \"a\"\nColour = \"red\"\n").unwrap_err();
        assert_eq!(err.issues.len(), 1);
        assert_eq!(err.issues[0].line, 3, "{err}");
        assert!(err.issues[0].message.contains("Colour"), "{err}");

        let text = "[[TenantAllowBlockList]]\nValue = \"ok.example\"\nAction = \"Block\"\n\n[[TenantAllowBlockList]]\nValue = \"*.com\"\nAction = \"Block\"\n[[TenantAllowBlockList]]\nValue = \"x.example\"\nAction = \"Maybe\"\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.issues.len(), 2, "{err}");
        assert_eq!(err.issues[0].line, 6);
        assert!(err.issues[0].message.contains("'*.com'"), "{err}");
        assert_eq!(err.issues[1].line, 10);
        assert!(err.to_string().starts_with("safelinks.toml:6: "), "{err}");

        let err = parse("[[Policy]]\nName = \"a\"\nTrackClicks = \"yes\"\n").unwrap_err();
        assert_eq!(err.issues[0].line, 3, "{err}");
        let err = parse("[Gateway]\nTrustedProxies = [\"nope\"]\n").unwrap_err();
        assert!(err.to_string().contains("TrustedProxies"), "{err}");
        let err = parse("[[TenantAllowBlockList]]\nValue = \"a.example\"\nAction = \"Block\"\nExpirationDate = \"soon\"\n").unwrap_err();
        assert_eq!(err.issues[0].line, 4, "{err}");
    }

    #[test]
    fn priority_and_filters() {
        let c = parse(
            r#"
[Groups]
Finance = ["carol@contoso.com"]

[[Policy]]
Name = "Everyone"
Priority = 5
TrackClicks = false

[[Policy]]
Name = "Finance"
Priority = 1
SentToMemberOf = ["finance"]
AllowClickThrough = true

[[Policy]]
Name = "Contoso but not the CEO"
Priority = 2
RecipientDomainIs = ["contoso.com"]
ExceptIfSentTo = ["ceo@contoso.com"]
ScanUrls = false
"#,
        )
        .unwrap();
        assert_eq!(c.policy_for("carol@contoso.com").name, "Finance");
        assert_eq!(
            c.policy_for("dave@contoso.com").name,
            "Contoso but not the CEO"
        );
        assert_eq!(c.policy_for("ceo@contoso.com").name, "Everyone");
        assert!(!c.policy_for("x@fabrikam.com").settings.track_clicks);
        let err = parse("[[Policy]]\nName = \"a\"\nSentToMemberOf = [\"nobody\"]\n").unwrap_err();
        assert!(err.to_string().contains("no group 'nobody'"), "{err}");
        let err = parse("[[Policy]]\nName = \"a\"\n[[Policy]]\nName = \"b\"\n").unwrap_err();
        assert!(err.to_string().contains("Priority 0"), "{err}");
    }

    #[test]
    fn and_across_condition_kinds() {
        let c = parse(
            "[[Policy]]\nName = \"p\"\nSentTo = [\"a@x.com\", \"b@y.com\"]\nRecipientDomainIs = [\"x.com\"]\n",
        )
        .unwrap();
        assert_eq!(c.policy_for("a@x.com").name, "p");
        assert_eq!(c.policy_for("b@y.com").name, "Built-in protection");
    }

    #[test]
    fn do_not_rewrite_syntax() {
        let m = |pattern: &str, url: &str| {
            RewriteExclusion::parse(pattern)
                .unwrap()
                .matches(&CanonicalUrl::parse(url).unwrap())
        };
        assert!(m("contoso.com", "https://contoso.com"));
        assert!(m("contoso.com", "http://contoso.com/"));
        assert!(!m("contoso.com", "https://www.contoso.com"));
        assert!(!m("contoso.com", "https://contoso.com/a"));
        assert!(m("*.contoso.com/*", "https://www.contoso.com/a/b"));
        assert!(!m("*.contoso.com", "https://contoso.com"));
        assert!(m("*.contoso.com", "https://a.contoso.com"));
        assert!(m("contoso.com/*", "https://contoso.com"));
        assert!(m("contoso.com/*", "https://contoso.com/x?y=1"));
        assert!(m("https://contoso.com/a", "https://contoso.com/a"));
        assert!(!m("https://contoso.com/a", "https://contoso.com/a/b"));
        assert!(!m("https://contoso.com/a", "http://contoso.com/a"));
        assert!(m("https://contoso.com/a/*", "https://contoso.com/a"));
        assert!(m("https://contoso.com/a/*", "https://contoso.com/a/b/c"));
        assert!(m("*contoso.com*", "https://evilcontoso.com.example/x"));
        assert!(RewriteExclusion::parse("*a*b*c*d").is_err());
        assert!(RewriteExclusion::parse("ftp://x.com").is_err());
    }

    #[test]
    fn internal_senders() {
        let c = parse("[Gateway]\nAcceptedDomains = [\"Contoso.com\"]\n").unwrap();
        assert!(c.is_internal_sender("a@contoso.com", "b@fabrikam.com"));
        assert!(!c.is_internal_sender("a@fabrikam.com", "b@fabrikam.com"));
        let c = Config::default();
        assert!(c.is_internal_sender("a@fabrikam.com", "b@FABRIKAM.com"));
        assert!(!c.is_internal_sender("nobody", "b@fabrikam.com"));
    }

    #[test]
    fn feeds_load_or_report() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.txt"), "evil.example\n").unwrap();
        let c = Config::parse(
            "[[ThreatFeed]]\nPath = \"p.txt\"\n[[ThreatFeed]]\nPath = \"missing.txt\"\n",
            "safelinks.toml",
            dir.path(),
        )
        .unwrap();
        let err = load_feeds(&c, "safelinks.toml").unwrap_err();
        assert!(err.to_string().contains("missing.txt"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn glob_never_panics(p in "[a-c*]{0,8}", t in "[a-c]{0,12}") {
            let _ = glob(&p, &t);
        }
    }
}
