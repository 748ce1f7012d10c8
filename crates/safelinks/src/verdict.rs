//! The click decision: what Safe Links does with one clicked URL and what the event
//! row says about it (ActionType, ThreatTypes, DetectionMethods, UrlChain).

use crate::canonical::CanonicalUrl;
use crate::chain::{Chain, ChainEnd};
use crate::feeds::{FeedIndex, ThreatType};
use crate::tabl::{TablAction, TenantAllowBlockList};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// `UrlClickEvents.ActionType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ActionType {
    ClickAllowed,
    ClickBlocked,
    ClickBlockedByTenantPolicy,
    UrlErrorPage,
    UrlScanInProgress,
}

impl ActionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionType::ClickAllowed => "ClickAllowed",
            ActionType::ClickBlocked => "ClickBlocked",
            ActionType::ClickBlockedByTenantPolicy => "ClickBlockedByTenantPolicy",
            ActionType::UrlErrorPage => "UrlErrorPage",
            ActionType::UrlScanInProgress => "UrlScanInProgress",
        }
    }
}

/// The outcome for one click.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub action: ActionType,
    /// Threat type → detection methods, in `ThreatType` order.
    pub threats: BTreeMap<ThreatType, Vec<String>>,
    /// The redirect chain, starting with the clicked URL.
    pub chain: Vec<String>,
    /// Why, for logs and pages: the matching entry, indicator or error.
    pub reason: String,
}

impl Verdict {
    fn new(action: ActionType, url: &str, reason: impl Into<String>) -> Verdict {
        Verdict {
            action,
            threats: BTreeMap::new(),
            chain: vec![url.to_string()],
            reason: reason.into(),
        }
    }

    /// `ThreatTypes`: `Phish`, or several as `Phish, Malware`; empty when clean.
    pub fn threat_types(&self) -> String {
        self.threats
            .keys()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `DetectionMethods`: `{"Phish":["URL malicious reputation"]}`; empty when clean.
    pub fn detection_methods(&self) -> String {
        if self.threats.is_empty() {
            return String::new();
        }
        let map: serde_json::Map<String, serde_json::Value> = self
            .threats
            .iter()
            .map(|(t, m)| (t.as_str().to_string(), serde_json::json!(m)))
            .collect();
        serde_json::Value::Object(map).to_string()
    }

    /// `UrlChain`: a JSON array of strings.
    pub fn url_chain(&self) -> String {
        serde_json::to_string(&self.chain).unwrap_or_else(|_| "[]".into())
    }

    /// Whether the user is shown a page rather than sent on.
    pub fn shows_page(&self) -> bool {
        self.action != ActionType::ClickAllowed
    }
}

/// What the lists alone say about one URL: a tenant block, a tenant allow, an
/// indicator, or nothing.
pub fn list_verdict(
    original: &str,
    url: &CanonicalUrl,
    tenant: &TenantAllowBlockList,
    feeds: &FeedIndex,
    now: DateTime<Utc>,
) -> Option<Verdict> {
    if let Some(e) = tenant.lookup(url, now) {
        return Some(match e.action {
            TablAction::Block => Verdict::new(
                ActionType::ClickBlockedByTenantPolicy,
                original,
                format!("Tenant Allow/Block List block entry '{}'", e.value),
            ),
            TablAction::Allow => Verdict::new(
                ActionType::ClickAllowed,
                original,
                format!("Tenant Allow/Block List allow entry '{}'", e.value),
            ),
        });
    }
    let hits = feeds.lookup(url);
    if hits.is_empty() {
        return None;
    }
    let mut v = Verdict::new(ActionType::ClickBlocked, original, "threat intelligence");
    for i in hits {
        let methods = v.threats.entry(i.threat).or_default();
        if !methods.contains(&i.method) {
            methods.push(i.method.clone());
        }
    }
    Some(v)
}

/// The verdict once a scan (the redirect chain) is known: every hop after the first is
/// checked against the lists (an allow on a later hop does not excuse it); a hop that
/// could not be reached is an error page.
pub fn chain_verdict(
    original: &str,
    chain: &Chain,
    tenant: &TenantAllowBlockList,
    feeds: &FeedIndex,
    now: DateTime<Utc>,
) -> Verdict {
    let mut hops = vec![original.to_string()];
    hops.extend(chain.hops.iter().skip(1).cloned());
    for hop in chain.hops.iter().skip(1) {
        let Ok(u) = CanonicalUrl::parse(hop) else {
            continue;
        };
        if let Some(mut v) = list_verdict(hop, &u, tenant, feeds, now) {
            if v.action != ActionType::ClickAllowed {
                v.reason = format!("redirect to {hop}: {}", v.reason);
                v.chain = hops;
                return v;
            }
        }
    }
    let mut v = match &chain.end {
        ChainEnd::Unreachable(e) => Verdict::new(ActionType::UrlErrorPage, original, e.clone()),
        ChainEnd::Timeout => Verdict::new(
            ActionType::UrlErrorPage,
            original,
            "the site did not answer in time",
        ),
        ChainEnd::Final { .. }
        | ChainEnd::Refused(_)
        | ChainEnd::TooManyHops
        | ChainEnd::NotHttp(_) => {
            Verdict::new(ActionType::ClickAllowed, original, chain.end.describe())
        }
    };
    v.chain = hops;
    v
}

/// The verdict without a scan result: allowed, or "scan in progress" when the policy
/// waits for scans and one is pending.
pub fn unscanned_verdict(original: &str, scan_pending: bool, wait_for_scan: bool) -> Verdict {
    if scan_pending && wait_for_scan {
        Verdict::new(
            ActionType::UrlScanInProgress,
            original,
            "the URL is being scanned",
        )
    } else {
        Verdict::new(
            ActionType::ClickAllowed,
            original,
            "no verdict against the URL",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::Indicator;
    use crate::tabl::TenantUrlEntry;

    fn lists() -> (TenantAllowBlockList, FeedIndex) {
        let tenant = TenantAllowBlockList {
            entries: vec![
                TenantUrlEntry::new("blocked.example", TablAction::Block, None, "").unwrap(),
                TenantUrlEntry::new("phish.example", TablAction::Allow, None, "").unwrap(),
            ],
        };
        let mut feeds = FeedIndex::default();
        let ind = |t, m: &str| Indicator {
            threat: t,
            method: m.into(),
        };
        feeds
            .add(
                "phish.example",
                ind(ThreatType::Phish, "URL malicious reputation"),
            )
            .unwrap();
        feeds
            .add(
                "evil.example",
                ind(ThreatType::Phish, "URL malicious reputation"),
            )
            .unwrap();
        feeds
            .add("evil.example/x", ind(ThreatType::Malware, "URL detonation"))
            .unwrap();
        feeds
            .add(
                "evil.example",
                ind(ThreatType::Phish, "URL detonation reputation"),
            )
            .unwrap();
        (tenant, feeds)
    }

    fn verdict(url: &str) -> Option<Verdict> {
        let (t, f) = lists();
        list_verdict(url, &CanonicalUrl::parse(url).unwrap(), &t, &f, Utc::now())
    }

    #[test]
    fn lists_in_order() {
        assert_eq!(
            verdict("https://www.blocked.example/a").unwrap().action,
            ActionType::ClickBlockedByTenantPolicy
        );
        // A tenant allow overrides the feeds.
        assert_eq!(
            verdict("https://phish.example/").unwrap().action,
            ActionType::ClickAllowed
        );
        let v = verdict("https://evil.example/x").unwrap();
        assert_eq!(v.action, ActionType::ClickBlocked);
        assert_eq!(v.threat_types(), "Phish, Malware");
        assert_eq!(
            v.detection_methods(),
            r#"{"Phish":["URL malicious reputation","URL detonation reputation"],"Malware":["URL detonation"]}"#
        );
        assert_eq!(v.url_chain(), r#"["https://evil.example/x"]"#);
        assert!(verdict("https://fine.example/").is_none());
    }

    #[test]
    fn chains() {
        let (t, f) = lists();
        let chain = Chain {
            hops: vec![
                "https://short.example/a".into(),
                "https://evil.example/".into(),
            ],
            end: ChainEnd::Final { status: 200 },
        };
        let v = chain_verdict("https://short.example/a", &chain, &t, &f, Utc::now());
        assert_eq!(v.action, ActionType::ClickBlocked);
        assert_eq!(
            v.url_chain(),
            r#"["https://short.example/a","https://evil.example/"]"#
        );
        let chain = Chain {
            hops: vec!["https://down.example/".into()],
            end: ChainEnd::Unreachable("connection refused".into()),
        };
        let v = chain_verdict("https://down.example/", &chain, &t, &f, Utc::now());
        assert_eq!(v.action, ActionType::UrlErrorPage);
        assert_eq!(v.threat_types(), "");
        assert_eq!(v.detection_methods(), "");
        assert_eq!(
            unscanned_verdict("u", true, true).action,
            ActionType::UrlScanInProgress
        );
        assert_eq!(
            unscanned_verdict("u", true, false).action,
            ActionType::ClickAllowed
        );
    }
}
