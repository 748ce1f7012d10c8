//! Tenant Allow/Block List URL entries (`New-TenantAllowBlockListItems -ListType Url`):
//! Microsoft's entry syntax, validation with a reason for every invalid form, expiry,
//! and the asymmetric matching (a block entry reaches further than an allow entry).
//!
//! Matching, as documented for entry `contoso.com`: an **allow** matches only the site
//! itself; a **block** also matches its paths, its subdomains and the domain appearing
//! in another URL's path or query (`test.com/q=contoso.com`), but not `abc-contoso.com`.
//! `*.contoso.com` is subdomains without paths, `contoso.com/*` paths without the bare
//! site, `contoso.com/a/*` what lies under `/a/`, `~contoso.com` the domain and its
//! subdomains, `~contoso.com~` those with any path and the domain anywhere in a URL.
//! An allow entry with a path also covers that path's variations (`/abc?id=1`,
//! `/abc/def`). A scheme written before an entry is accepted and ignored.

use crate::canonical::CanonicalUrl;
use chrono::{DateTime, Utc};
use std::net::IpAddr;

/// Longest entry Microsoft accepts.
pub const MAX_ENTRY_LEN: usize = 250;

/// Allow or Block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum TablAction {
    Allow,
    Block,
}

impl std::str::FromStr for TablAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "allow" => Ok(TablAction::Allow),
            "block" => Ok(TablAction::Block),
            _ => Err(format!(
                "Action must be \"Allow\" or \"Block\", not \"{s}\""
            )),
        }
    }
}

/// Why an entry is not valid Tenant Allow/Block List URL syntax.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TablSyntaxError {
    #[error("the entry is empty")]
    Empty,
    #[error("the entry is longer than {MAX_ENTRY_LEN} characters")]
    TooLong,
    #[error("quotes are not allowed")]
    Quotes,
    #[error("spaces are not allowed")]
    Whitespace,
    #[error("only http:// or https:// may precede an entry")]
    Scheme,
    #[error("Unicode is not allowed: write the host in Punycode (xn--...)")]
    NotPunycode,
    #[error("a user name or password ('@' before the host) is not allowed")]
    UserInfo,
    #[error("ports are not allowed")]
    Port,
    #[error("a lone wildcard names no host")]
    LoneWildcard,
    #[error("a wildcard at the start must be followed by a period ('*.contoso.com')")]
    LeftWildcardNeedsPeriod,
    #[error("a wildcard at the end must follow a slash ('contoso.com/*')")]
    RightWildcardNeedsSlash,
    #[error("a wildcard is allowed only as '*.' at the start or '/*' at the end")]
    WildcardPlacement,
    #[error("only one wildcard may follow the host, as the last path segment ('/*')")]
    TooManyWildcards,
    #[error("wildcards are not allowed in IP addresses")]
    WildcardInIp,
    #[error("'~' is allowed only at the start ('~contoso.com') or at both ends ('~contoso.com~')")]
    TildePlacement,
    #[error("'~' entries have no path")]
    TildeWithPath,
    #[error("'~' cannot be combined with '*' or an IP address")]
    TildeCombination,
    #[error("a host name needs a period with at least one character before it ('contoso.com')")]
    NoPeriod,
    #[error("the part after the last period needs at least two characters")]
    ShortTopLevel,
    #[error("'{0}' is not a valid host name label")]
    BadLabel(String),
    #[error("file-name extension entries ('*.{0}') are not allowed")]
    FileExtension(String),
    #[error("'*.{0}' names a top-level domain: block a whole TLD with '*.{0}/*'")]
    TopLevelWildcard(String),
    #[error("left wildcards and '~' are allowed only in block entries")]
    AllowWildcard,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    Domain(String),
    Ip(IpAddr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HostScope {
    /// `contoso.com`
    Plain,
    /// `*.contoso.com`: strict subdomains.
    Subdomains,
    /// `~contoso.com`: the domain and its subdomains.
    Tilde,
    /// `~contoso.com~`: domain, subdomains, any path, anywhere in the URL.
    TildeBoth,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PathPattern {
    /// No path written.
    Bare,
    /// `contoso.com/a`.
    Exact(String),
    /// `contoso.com/*`: any non-empty path.
    Any,
    /// `contoso.com/a/*`: anything below `/a/` (the prefix, with its trailing slash).
    Under(String),
}

/// The parsed form of an entry's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlPattern {
    host: HostPattern,
    scope: HostScope,
    path: PathPattern,
}

/// File extensions that `*.ext` entries are mistaken for.
const FILE_EXTENSIONS: &[&str] = &[
    "pdf", "exe", "doc", "docx", "docm", "xls", "xlsx", "xlsm", "ppt", "pptx", "zip", "rar", "7z",
    "js", "vbs", "html", "htm", "txt", "iso", "img", "msi", "bat", "cmd", "ps1", "jar", "apk",
    "dll", "scr", "lnk", "one", "svg", "png", "jpg", "jpeg", "gif", "rtf", "csv",
];

impl UrlPattern {
    /// Parses and validates an entry for `action`.
    pub fn parse(value: &str, action: TablAction) -> Result<UrlPattern, TablSyntaxError> {
        use TablSyntaxError as E;
        let v = value.trim();
        if v.is_empty() {
            return Err(E::Empty);
        }
        if v.chars().count() > MAX_ENTRY_LEN {
            return Err(E::TooLong);
        }
        if v.contains(['"', '\'']) {
            return Err(E::Quotes);
        }
        if v.contains(char::is_whitespace) {
            return Err(E::Whitespace);
        }
        if !v.is_ascii() {
            return Err(E::NotPunycode);
        }
        let lower = v.to_ascii_lowercase();
        let v = if let Some(rest) = lower.strip_prefix("https://") {
            rest
        } else if let Some(rest) = lower.strip_prefix("http://") {
            rest
        } else if lower.contains("://") {
            return Err(E::Scheme);
        } else {
            lower.as_str()
        };
        let (left_tilde, v) = match v.strip_prefix('~') {
            Some(r) => (true, r),
            None => (false, v),
        };
        let (right_tilde, v) = match v.strip_suffix('~') {
            Some(r) => (true, r),
            None => (false, v),
        };
        if v.contains('~') || (right_tilde && !left_tilde) {
            return Err(E::TildePlacement);
        }
        let (host_part, path) = match v.find('/') {
            Some(i) => (&v[..i], Some(&v[i..])),
            None => (v, None),
        };
        if host_part.contains('@') {
            return Err(E::UserInfo);
        }
        if host_part == "*" || host_part == "*.*" {
            return Err(E::LoneWildcard);
        }
        let (left_star, host) = match host_part.strip_prefix("*.") {
            Some(h) => (true, h),
            None => (false, host_part),
        };
        if host.contains('*') {
            return Err(if let Some(after) = host_part.strip_prefix('*') {
                if !left_star && parse_ip(after).is_some() {
                    E::WildcardInIp
                } else if !left_star {
                    E::LeftWildcardNeedsPeriod
                } else if host.ends_with('*') {
                    E::RightWildcardNeedsSlash
                } else {
                    E::WildcardPlacement
                }
            } else if host.ends_with('*') {
                E::RightWildcardNeedsSlash
            } else {
                E::WildcardPlacement
            });
        }
        let path = match path {
            None => PathPattern::Bare,
            Some(p) => parse_path(p)?,
        };
        if (left_tilde || right_tilde) && path != PathPattern::Bare {
            return Err(E::TildeWithPath);
        }
        let host = if let Some(ip) = parse_ip(host) {
            if left_star {
                return Err(E::WildcardInIp);
            }
            if left_tilde {
                return Err(E::TildeCombination);
            }
            HostPattern::Ip(ip)
        } else {
            if has_port(host) {
                return Err(E::Port);
            }
            if left_star && left_tilde {
                return Err(E::TildeCombination);
            }
            validate_domain(host, left_star, &path)?;
            HostPattern::Domain(host.to_string())
        };
        let scope = match (left_star, left_tilde, right_tilde) {
            (true, _, _) => HostScope::Subdomains,
            (false, true, true) => HostScope::TildeBoth,
            (false, true, false) => HostScope::Tilde,
            _ => HostScope::Plain,
        };
        if action == TablAction::Allow && scope != HostScope::Plain {
            return Err(E::AllowWildcard);
        }
        Ok(UrlPattern { host, scope, path })
    }

    /// Whether a clicked URL matches this entry used as `action`.
    pub fn matches(&self, url: &CanonicalUrl, action: TablAction) -> bool {
        let rest = url.rest();
        let (host_eq, host_sub) = match &self.host {
            HostPattern::Ip(ip) => (url.ip == Some(*ip), false),
            HostPattern::Domain(d) => (
                url.ip.is_none() && url.host == *d,
                url.ip.is_none()
                    && url.host.len() > d.len() + 1
                    && url.host.ends_with(d.as_str())
                    && url.host.as_bytes()[url.host.len() - d.len() - 1] == b'.',
            ),
        };
        let host_ok = match (self.scope, action) {
            (HostScope::Subdomains, _) => host_sub,
            (HostScope::Tilde | HostScope::TildeBoth, _) => host_eq || host_sub,
            (HostScope::Plain, TablAction::Block) => {
                host_eq || (host_sub && matches!(self.host, HostPattern::Domain(_)))
            }
            (HostScope::Plain, TablAction::Allow) => host_eq,
        };
        let in_other_url = || match &self.host {
            HostPattern::Domain(d) => contains_domain_token(&rest.to_ascii_lowercase(), d),
            HostPattern::Ip(_) => false,
        };
        match (&self.path, self.scope, action) {
            (PathPattern::Bare, HostScope::TildeBoth, _) => host_ok || in_other_url(),
            (PathPattern::Bare, HostScope::Plain, TablAction::Block)
                if matches!(self.host, HostPattern::Domain(_)) =>
            {
                host_ok || in_other_url()
            }
            (PathPattern::Bare, HostScope::Plain, TablAction::Allow) => host_ok && url.path == "/",
            (PathPattern::Bare, _, _) => host_ok && rest.is_empty(),
            (PathPattern::Exact(p), _, _) => host_ok && path_at_or_below(&rest, p),
            (PathPattern::Any, _, _) => host_ok && !rest.is_empty(),
            (PathPattern::Under(prefix), _, _) => {
                host_ok && rest.len() > prefix.len() && rest.starts_with(prefix.as_str())
            }
        }
    }
}

fn parse_path(p: &str) -> Result<PathPattern, TablSyntaxError> {
    use TablSyntaxError as E;
    let stars = p.matches('*').count();
    if stars == 0 {
        return Ok(if p == "/" {
            PathPattern::Bare
        } else {
            PathPattern::Exact(p.to_string())
        });
    }
    if stars > 1 {
        return Err(E::TooManyWildcards);
    }
    if p == "/*" {
        return Ok(PathPattern::Any);
    }
    if let Some(prefix) = p.strip_suffix('*') {
        if prefix.ends_with('/') {
            return Ok(PathPattern::Under(prefix.to_string()));
        }
        return Err(E::RightWildcardNeedsSlash);
    }
    Err(E::WildcardPlacement)
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    s.parse().ok()
}

fn has_port(host: &str) -> bool {
    host.rsplit_once(':').is_some()
}

fn validate_domain(host: &str, left_star: bool, path: &PathPattern) -> Result<(), TablSyntaxError> {
    use TablSyntaxError as E;
    match host.rsplit_once('.') {
        None if left_star => {
            if FILE_EXTENSIONS.contains(&host) {
                Err(E::FileExtension(host.to_string()))
            } else if *path == PathPattern::Any && host.len() >= 2 {
                // `*.xyz/*` blocks a whole top-level domain.
                validate_labels(host)
            } else {
                Err(E::TopLevelWildcard(host.to_string()))
            }
        }
        None => {
            validate_labels(host)?;
            Err(E::NoPeriod)
        }
        Some((left, right)) => {
            if left.is_empty() {
                Err(E::NoPeriod)
            } else if right.len() < 2 {
                Err(E::ShortTopLevel)
            } else {
                validate_labels(host)
            }
        }
    }
}

fn validate_labels(host: &str) -> Result<(), TablSyntaxError> {
    for label in host.split('.') {
        let ok = !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(TablSyntaxError::BadLabel(label.to_string()));
        }
    }
    Ok(())
}

/// `rest` is `p`, or lies below it (`p/...`), or is `p` with a query.
fn path_at_or_below(rest: &str, p: &str) -> bool {
    let p = p.trim_end_matches('/');
    match rest.strip_prefix(p) {
        Some(tail) => tail.is_empty() || tail.starts_with('/') || tail.starts_with('?'),
        None => false,
    }
}

/// Whether `domain` occurs in `text` as a whole domain: not preceded or followed by a
/// character that would make it part of a longer name (`abc-contoso.com`).
fn contains_domain_token(text: &str, domain: &str) -> bool {
    let bytes = text.as_bytes();
    let name_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let mut from = 0;
    while let Some(i) = text.get(from..).and_then(|t| t.find(domain)) {
        let start = from + i;
        let end = start + domain.len();
        let before_ok = start == 0 || !name_char(bytes[start - 1]);
        let after_ok = match bytes.get(end) {
            None => true,
            Some(b'.') => bytes.get(end + 1).is_none_or(|&b| !name_char(b)),
            Some(&b) => !name_char(b),
        };
        if before_ok && after_ok {
            return true;
        }
        from = start + 1;
        while from < text.len() && !text.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

/// One Tenant Allow/Block List URL entry.
#[derive(Clone, Debug, PartialEq)]
pub struct TenantUrlEntry {
    /// As the admin wrote it.
    pub value: String,
    pub action: TablAction,
    /// `None`: never expires.
    pub expires: Option<DateTime<Utc>>,
    pub notes: String,
    pattern: UrlPattern,
}

impl TenantUrlEntry {
    pub fn new(
        value: &str,
        action: TablAction,
        expires: Option<DateTime<Utc>>,
        notes: &str,
    ) -> Result<TenantUrlEntry, TablSyntaxError> {
        Ok(TenantUrlEntry {
            pattern: UrlPattern::parse(value, action)?,
            value: value.trim().to_string(),
            action,
            expires,
            notes: notes.to_string(),
        })
    }

    /// Not yet expired at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|e| now < e)
    }

    pub fn matches(&self, url: &CanonicalUrl) -> bool {
        self.pattern.matches(url, self.action)
    }
}

/// The tenant's URL entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TenantAllowBlockList {
    pub entries: Vec<TenantUrlEntry>,
}

impl TenantAllowBlockList {
    /// The first active block entry matching `url`, else the first active allow entry:
    /// a block wins over an allow.
    pub fn lookup(&self, url: &CanonicalUrl, now: DateTime<Utc>) -> Option<&TenantUrlEntry> {
        let active = || self.entries.iter().filter(move |e| e.is_active(now));
        active()
            .find(|e| e.action == TablAction::Block && e.matches(url))
            .or_else(|| active().find(|e| e.action == TablAction::Allow && e.matches(url)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TablAction::{Allow, Block};

    fn url(s: &str) -> CanonicalUrl {
        CanonicalUrl::parse_lenient(s).unwrap()
    }

    fn check(entry: &str, action: TablAction, yes: &[&str], no: &[&str]) {
        let p = UrlPattern::parse(entry, action).unwrap_or_else(|e| panic!("{entry}: {e}"));
        for u in yes {
            assert!(
                p.matches(&url(u), action),
                "{action:?} {entry} should match {u}"
            );
        }
        for u in no {
            assert!(
                !p.matches(&url(u), action),
                "{action:?} {entry} should not match {u}"
            );
        }
    }

    #[test]
    fn plain_domain_allow_matches_only_the_site() {
        check(
            "contoso.com",
            Allow,
            &["contoso.com", "https://contoso.com/"],
            &[
                "abc-contoso.com",
                "contoso.com/a",
                "payroll.contoso.com",
                "test.com/contoso.com",
                "test.com/q=contoso.com",
                "www.contoso.com",
                "www.contoso.com/q=a@contoso.com",
            ],
        );
    }

    #[test]
    fn plain_domain_block_reaches_paths_subdomains_and_other_urls() {
        check(
            "contoso.com",
            Block,
            &[
                "contoso.com",
                "contoso.com/a",
                "payroll.contoso.com",
                "test.com/contoso.com",
                "test.com/q=contoso.com",
                "www.contoso.com",
                "www.contoso.com/q=a@contoso.com",
            ],
            &[
                "abc-contoso.com",
                "contoso.community",
                "test.com/q=abc-contoso.com",
            ],
        );
    }

    #[test]
    fn left_wildcard_is_subdomains_without_paths() {
        check(
            "*.contoso.com",
            Block,
            &["www.contoso.com", "xyz.abc.contoso.com"],
            &["contoso.com", "www.contoso.com/a", "abc-contoso.com"],
        );
    }

    #[test]
    fn path_wildcard_below_a_folder() {
        check(
            "contoso.com/a/*",
            Block,
            &[
                "contoso.com/a/b",
                "contoso.com/a/b/c",
                "contoso.com/a/?q=joe@t.com",
            ],
            &["contoso.com/a", "contoso.com", "contoso.com/ab/c"],
        );
    }

    #[test]
    fn any_path_but_not_the_bare_site() {
        check(
            "contoso.com/*",
            Block,
            &[
                "contoso.com/a",
                "contoso.com/a/b",
                "contoso.com/?q=a@contoso.com",
            ],
            &["contoso.com", "https://contoso.com/"],
        );
        check(
            "contoso.com/*",
            Allow,
            &["contoso.com/b"],
            &["contoso.com", "www.contoso.com/b"],
        );
    }

    #[test]
    fn subdomains_with_paths() {
        check(
            "*.contoso.com/*",
            Block,
            &[
                "abc.contoso.com/ab",
                "abc.xyz.contoso.com/a/b/c",
                "www.contoso.com/b?x=1",
            ],
            &["contoso.com/b", "www.contoso.com"],
        );
    }

    #[test]
    fn whole_tld() {
        check(
            "*.xyz/*",
            Block,
            &["evil.xyz/login", "a.b.xyz/x"],
            &["contoso.com/a.xyz", "xyz.com/a"],
        );
    }

    #[test]
    fn ip_entries() {
        check(
            "1.2.3.4",
            Block,
            &["1.2.3.4"],
            &["1.2.3.4/a", "1.2.3.5", "11.2.3.4"],
        );
        check(
            "1.2.3.4/*",
            Block,
            &["1.2.3.4/a", "1.2.3.4/a/b?c"],
            &["1.2.3.4"],
        );
        check(
            "2001:db8::1",
            Block,
            &["http://[2001:db8:0::1]/"],
            &["http://[2001:db8::2]/"],
        );
        check("1.2.3.4", Allow, &["1.2.3.4"], &["1.2.3.4/a"]);
    }

    #[test]
    fn tilde_forms() {
        check(
            "~contoso.com",
            Block,
            &["contoso.com", "www.contoso.com", "a.b.contoso.com"],
            &["contoso.com/a", "test.com/contoso.com", "abc-contoso.com"],
        );
        check(
            "~contoso.com~",
            Block,
            &[
                "contoso.com",
                "www.contoso.com/a/b",
                "contoso.com/x?y",
                "test.com/contoso.com",
            ],
            &["abc-contoso.com", "test.com/abc"],
        );
    }

    #[test]
    fn allow_with_a_path_covers_its_variations() {
        check(
            "www.contoso.com/abc",
            Allow,
            &[
                "www.contoso.com/abc",
                "www.contoso.com/abc?id=1",
                "www.contoso.com/abc/def/gty/uyt?id=5",
            ],
            &["www.contoso.com/abcd", "www.contoso.com", "contoso.com/abc"],
        );
    }

    #[test]
    fn short_hosts_are_fine() {
        check("t.co", Block, &["t.co", "t.co/x"], &["at.co"]);
        check("https://Contoso.com", Block, &["contoso.com/a"], &[]);
    }

    #[test]
    fn every_invalid_form_has_its_reason() {
        use TablSyntaxError as E;
        let cases: &[(&str, TablSyntaxError)] = &[
            ("contoso", E::NoPeriod),
            ("*.contoso.*", E::RightWildcardNeedsSlash),
            ("*.com", E::TopLevelWildcard("com".into())),
            ("*.pdf", E::FileExtension("pdf".into())),
            ("*contoso.com", E::LeftWildcardNeedsPeriod),
            ("contoso.com*", E::RightWildcardNeedsSlash),
            ("*1.2.3.4", E::WildcardInIp),
            ("contoso.com/a*", E::RightWildcardNeedsSlash),
            ("contoso.com:443", E::Port),
            ("*", E::LoneWildcard),
            ("*.*", E::LoneWildcard),
            ("conto*so.com", E::WildcardPlacement),
            ("conto~so.com", E::TildePlacement),
            ("contoso.com/**", E::TooManyWildcards),
            ("contoso.com/*/*", E::TooManyWildcards),
            // The other documented rules.
            ("user:pass@contoso.com", E::UserInfo),
            ("\"contoso.com\"", E::Quotes),
            ("bücher.example", E::NotPunycode),
            ("contoso.c", E::ShortTopLevel),
            (".com", E::NoPeriod),
            ("*.1.2.3.4", E::WildcardInIp),
            ("1.2.3.4:80", E::Port),
            ("contoso.com~", E::TildePlacement),
            ("~contoso.com/a", E::TildeWithPath),
            ("ftp://contoso.com", E::Scheme),
            ("", E::Empty),
        ];
        for (entry, want) in cases {
            assert_eq!(
                UrlPattern::parse(entry, Block).as_ref().err(),
                Some(want),
                "{entry}"
            );
        }
        let long = format!("{}.com", "a".repeat(250));
        assert_eq!(UrlPattern::parse(&long, Block), Err(E::TooLong));
        // Left wildcards and tildes are for blocks only.
        assert_eq!(
            UrlPattern::parse("*.contoso.com", Allow),
            Err(E::AllowWildcard)
        );
        assert_eq!(
            UrlPattern::parse("~contoso.com", Allow),
            Err(E::AllowWildcard)
        );
    }

    #[test]
    fn every_valid_form_parses() {
        for e in [
            "contoso.com",
            "*.contoso.com",
            "contoso.com/a/*",
            "contoso.com/*",
            "*.contoso.com/*",
            "*.xyz/*",
            "1.2.3.4",
            "1.2.3.4/*",
            "2001:db8::1",
            "~contoso.com",
            "~contoso.com~",
            "t.co",
            "xn--bcher-kva.example",
        ] {
            assert!(UrlPattern::parse(e, Block).is_ok(), "{e}");
        }
    }

    #[test]
    fn expiry_and_block_over_allow() {
        let now: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
        let past = Some("2026-05-01T00:00:00Z".parse().unwrap());
        let list = TenantAllowBlockList {
            entries: vec![
                TenantUrlEntry::new("contoso.com", Allow, None, "").unwrap(),
                TenantUrlEntry::new("contoso.com", Block, None, "soc").unwrap(),
                TenantUrlEntry::new("fabrikam.com", Block, past, "").unwrap(),
            ],
        };
        let hit = list.lookup(&url("contoso.com"), now).unwrap();
        assert_eq!(hit.action, Block);
        assert_eq!(list.lookup(&url("fabrikam.com"), now), None);
        let before: DateTime<Utc> = "2026-04-01T00:00:00Z".parse().unwrap();
        assert!(list.lookup(&url("fabrikam.com"), before).is_some());
    }

    proptest::proptest! {
        #[test]
        fn parse_and_match_never_panic(entry in "\\PC{0,40}", u in "[a-z0-9.~*/:@?=-]{1,40}") {
            for action in [Allow, Block] {
                if let Ok(p) = UrlPattern::parse(&entry, action) {
                    if let Ok(u) = CanonicalUrl::parse_lenient(&u) {
                        let _ = p.matches(&u, action);
                    }
                }
            }
        }

        #[test]
        fn block_reaches_at_least_what_allow_does(
            host in "[a-z]{1,8}\\.(com|net|co)",
            path in "(/[a-z]{1,4}){0,2}",
            probe in "([a-z]{1,5}\\.)?[a-z]{1,8}\\.(com|net|co)(/[a-z]{1,4}){0,3}",
        ) {
            let entry = format!("{host}{path}");
            let allow = UrlPattern::parse(&entry, Allow).unwrap();
            let block = UrlPattern::parse(&entry, Block).unwrap();
            let u = CanonicalUrl::parse_lenient(&probe).unwrap();
            if allow.matches(&u, Allow) {
                proptest::prop_assert!(block.matches(&u, Block));
            }
        }
    }
}
