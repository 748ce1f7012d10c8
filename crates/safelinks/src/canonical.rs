//! URLs in the one form every list matches against: lower-case scheme and host,
//! Punycode, no trailing dot, no default port, no fragment.

use std::net::IpAddr;
use url::{Host, Url};

/// Why a text is not a URL the gateway can protect.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("'{0}' is not a URL: {1}")]
    Invalid(String, String),
    #[error("'{0}' is not an http(s) URL")]
    Scheme(String),
    #[error("'{0}' has no host")]
    NoHost(String),
}

/// A parsed, normalised http(s) URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalUrl {
    /// `http` or `https`.
    pub scheme: String,
    /// Lower-case, Punycode, without a trailing dot; IPv6 without brackets.
    pub host: String,
    /// Set when the host is an IP address.
    pub ip: Option<IpAddr>,
    /// A port other than the scheme's default.
    pub port: Option<u16>,
    /// Starts with `/`.
    pub path: String,
    pub query: Option<String>,
}

/// Longest URL the gateway accepts (browsers and mail clients stop well before).
pub const MAX_URL_LEN: usize = 8192;

impl CanonicalUrl {
    /// Parses an absolute http(s) URL.
    pub fn parse(text: &str) -> Result<CanonicalUrl, UrlError> {
        let text = text.trim();
        if text.len() > MAX_URL_LEN {
            return Err(UrlError::Invalid(
                shorten(text),
                format!("longer than {MAX_URL_LEN} bytes"),
            ));
        }
        let url = Url::parse(text).map_err(|e| UrlError::Invalid(shorten(text), e.to_string()))?;
        Self::from_url(&url, text)
    }

    /// Parses a URL that may omit its scheme (`contoso.com/a` means `http://contoso.com/a`),
    /// as indicator feeds and admins write them.
    pub fn parse_lenient(text: &str) -> Result<CanonicalUrl, UrlError> {
        let t = text.trim();
        let lower = t.get(..8).unwrap_or(t).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Self::parse(t)
        } else if t.contains("://") {
            Err(UrlError::Scheme(shorten(t)))
        } else {
            Self::parse(&format!("http://{t}"))
        }
    }

    fn from_url(url: &Url, text: &str) -> Result<CanonicalUrl, UrlError> {
        let scheme = url.scheme().to_string();
        if scheme != "http" && scheme != "https" {
            return Err(UrlError::Scheme(shorten(text)));
        }
        let (host, ip) = match url.host() {
            Some(Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if d.is_empty() {
                    return Err(UrlError::NoHost(shorten(text)));
                }
                (d, None)
            }
            Some(Host::Ipv4(a)) => (a.to_string(), Some(IpAddr::V4(a))),
            Some(Host::Ipv6(a)) => (a.to_string(), Some(IpAddr::V6(a))),
            None => return Err(UrlError::NoHost(shorten(text))),
        };
        Ok(CanonicalUrl {
            scheme,
            host,
            ip,
            port: url.port(),
            path: url.path().to_string(),
            query: url.query().map(str::to_string),
        })
    }

    /// Path and query as the lists see them: empty for the bare site (`/` and no
    /// query), otherwise `/path` or `/path?query`.
    pub fn rest(&self) -> String {
        match &self.query {
            None if self.path == "/" || self.path.is_empty() => String::new(),
            None => self.path.clone(),
            Some(q) => format!("{}?{q}", self.path),
        }
    }

    /// Host (with a non-default port) for display and lookups.
    pub fn authority(&self) -> String {
        let host = match self.ip {
            Some(IpAddr::V6(_)) => format!("[{}]", self.host),
            _ => self.host.clone(),
        };
        match self.port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        }
    }

    /// The scheme-less lookup key: `host[:port]` + [`rest`](Self::rest).
    pub fn key(&self) -> String {
        format!("{}{}", self.authority(), self.rest())
    }

    /// The scheme-less key without the query string.
    pub fn key_without_query(&self) -> String {
        let path = if self.path == "/" { "" } else { &self.path };
        format!("{}{path}", self.authority())
    }

    /// The host and each parent domain that still has a period: `a.b.contoso.com`,
    /// `b.contoso.com`, `contoso.com`. An IP host yields itself only.
    pub fn host_and_parents(&self) -> Vec<&str> {
        let mut out = vec![self.host.as_str()];
        if self.ip.is_none() {
            let mut h = self.host.as_str();
            while let Some((_, parent)) = h.split_once('.') {
                if !parent.contains('.') {
                    break;
                }
                out.push(parent);
                h = parent;
            }
        }
        out
    }

    /// The URL written back out (scheme, host, port, path, query).
    pub fn to_url_string(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority(), {
            let mut s = self.path.clone();
            if let Some(q) = &self.query {
                s.push('?');
                s.push_str(q);
            }
            s
        })
    }
}

/// At most 200 characters of a text, for error messages.
pub(crate) fn shorten(text: &str) -> String {
    if text.chars().count() <= 200 {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(200).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_dot_port_fragment() {
        let u = CanonicalUrl::parse("HTTPS://WWW.Contoso.COM.:443/A/b?x=1#frag").unwrap();
        assert_eq!(u.scheme, "https");
        assert_eq!(u.host, "www.contoso.com");
        assert_eq!(u.port, None);
        assert_eq!(u.path, "/A/b");
        assert_eq!(u.query.as_deref(), Some("x=1"));
        assert_eq!(u.key(), "www.contoso.com/A/b?x=1");
        assert_eq!(u.key_without_query(), "www.contoso.com/A/b");
    }

    #[test]
    fn unicode_hosts_become_punycode() {
        let u = CanonicalUrl::parse("http://bücher.example/").unwrap();
        assert_eq!(u.host, "xn--bcher-kva.example");
        assert_eq!(u.rest(), "");
    }

    #[test]
    fn ips_and_parents() {
        let u = CanonicalUrl::parse("http://[2001:DB8::1]:8080/x").unwrap();
        assert_eq!(u.host, "2001:db8::1");
        assert_eq!(u.key(), "[2001:db8::1]:8080/x");
        assert_eq!(u.host_and_parents(), vec!["2001:db8::1"]);
        let u = CanonicalUrl::parse("http://a.b.contoso.co.uk/").unwrap();
        assert_eq!(
            u.host_and_parents(),
            vec![
                "a.b.contoso.co.uk",
                "b.contoso.co.uk",
                "contoso.co.uk",
                "co.uk"
            ]
        );
    }

    #[test]
    fn rejects_other_schemes_and_junk() {
        assert!(matches!(
            CanonicalUrl::parse("javascript:alert(1)"),
            Err(UrlError::Scheme(_))
        ));
        assert!(CanonicalUrl::parse("not a url").is_err());
        assert!(matches!(
            CanonicalUrl::parse_lenient("ftp://x.example/"),
            Err(UrlError::Scheme(_))
        ));
        assert_eq!(
            CanonicalUrl::parse_lenient("Contoso.com/a").unwrap().key(),
            "contoso.com/a"
        );
    }
}
