//! The redirect-chain resolver (the gateway's real-time scan): follows a URL's HTTP
//! redirects within a hop and time budget and records every hop.
//!
//! SSRF protection: the resolver resolves host names itself, refuses loopback,
//! private, link-local (including the cloud metadata address), shared, multicast and
//! reserved addresses (and IPv4 embedded in IPv6) unless an allow-list names them, and
//! then connects to the checked address, so a DNS answer cannot change between the
//! check and the connection. Only `GET` is sent, with no cookies or credentials.

use crate::canonical::CanonicalUrl;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// Largest response head read from a hop.
const MAX_HEAD: usize = 32 * 1024;

/// How a resolution ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainEnd {
    /// The last hop answered with a non-redirect status.
    Final { status: u16 },
    /// A hop could not be reached (DNS, connection, TLS, malformed answer).
    Unreachable(String),
    /// A hop's address is not one the gateway may connect to.
    Refused(String),
    /// More redirects than allowed.
    TooManyHops,
    /// The whole resolution ran out of time.
    Timeout,
    /// A redirect to something other than http(s).
    NotHttp(String),
}

impl ChainEnd {
    pub fn describe(&self) -> String {
        match self {
            ChainEnd::Final { status } => format!("the site answered {status}"),
            ChainEnd::Unreachable(e) => format!("the site could not be reached: {e}"),
            ChainEnd::Refused(e) => format!("not followed: {e}"),
            ChainEnd::TooManyHops => "too many redirects".into(),
            ChainEnd::Timeout => "the site did not answer in time".into(),
            ChainEnd::NotHttp(u) => format!("redirects to a non-web address: {u}"),
        }
    }
}

/// The hops (first = the clicked URL) and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    pub hops: Vec<String>,
    pub end: ChainEnd,
}

/// Limits of one resolution.
#[derive(Clone, Debug)]
pub struct ResolverConfig {
    pub max_redirects: u32,
    pub timeout: Duration,
    /// Networks the SSRF guard lets through anyway (tests, labs).
    pub allow_private: Vec<IpNet>,
}

/// Why an address is refused, or `None` when the resolver may connect to it.
pub fn refused_address(ip: IpAddr, allow: &[IpNet]) -> Option<&'static str> {
    if allow.iter().any(|n| n.contains(&ip)) {
        return None;
    }
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                if allow.iter().any(|n| n.contains(&IpAddr::V4(v4))) {
                    return None;
                }
                return refused_v4(v4);
            }
            let s = v6.segments();
            if v6.is_loopback() {
                Some("loopback address")
            } else if v6.is_unspecified() {
                Some("unspecified address")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("private (unique local) address")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("link-local address")
            } else if (s[0] & 0xff00) == 0xff00 {
                Some("multicast address")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("documentation address")
            } else {
                None
            }
        }
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback address")
    } else if o == [169, 254, 169, 254] {
        Some("cloud metadata address")
    } else if ip.is_link_local() {
        Some("link-local address")
    } else if ip.is_private() {
        Some("private address")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared (carrier-grade NAT) address")
    } else if o[0] == 0 {
        Some("'this network' address")
    } else if ip.is_multicast() || o[0] >= 240 {
        Some("multicast or reserved address")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("IETF protocol assignment address")
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        Some("benchmarking address")
    } else {
        None
    }
}

/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible and NAT64 (`64:ff9b::/96`) forms.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mapped_or_compatible =
        s[..5] == [0; 5] && (s[5] == 0xffff || (s[5] == 0 && (s[6] != 0 || s[7] > 1)));
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4];
    (mapped_or_compatible || nat64).then(tail)
}

/// Host names that name metadata services without an address to check first.
fn refused_name(host: &str) -> Option<&'static str> {
    let h = host.trim_end_matches('.');
    if h == "localhost" || h.ends_with(".localhost") {
        Some("loopback host name")
    } else if h == "metadata.google.internal" || h == "metadata" || h.ends_with(".internal") {
        Some("metadata or internal host name")
    } else {
        None
    }
}

/// Follows `url`'s redirects. Never fails: how it ended is in [`Chain::end`].
pub async fn resolve(url: &str, cfg: &ResolverConfig) -> Chain {
    let mut hops = vec![url.to_string()];
    match tokio::time::timeout(cfg.timeout, follow(url, cfg, &mut hops)).await {
        Ok(end) => Chain { hops, end },
        Err(_) => Chain {
            hops,
            end: ChainEnd::Timeout,
        },
    }
}

async fn follow(first: &str, cfg: &ResolverConfig, hops: &mut Vec<String>) -> ChainEnd {
    let mut current = first.to_string();
    let mut redirects = 0;
    loop {
        let url = match CanonicalUrl::parse(&current) {
            Ok(u) => u,
            Err(_) => return ChainEnd::NotHttp(current),
        };
        let location = match fetch_head(&url, cfg).await {
            Ok(Answer::Final(status)) => return ChainEnd::Final { status },
            Ok(Answer::Redirect(loc)) => loc,
            Err(end) => return end,
        };
        let next = match url::Url::parse(&url.to_url_string()).and_then(|base| base.join(&location))
        {
            Ok(n) => n.to_string(),
            Err(_) => return ChainEnd::Unreachable(format!("bad redirect location '{location}'")),
        };
        redirects += 1;
        if redirects > cfg.max_redirects {
            return ChainEnd::TooManyHops;
        }
        hops.push(next.clone());
        if !(next.starts_with("http://") || next.starts_with("https://")) {
            return ChainEnd::NotHttp(next);
        }
        current = next;
    }
}

enum Answer {
    Final(u16),
    Redirect(String),
}

async fn fetch_head(url: &CanonicalUrl, cfg: &ResolverConfig) -> Result<Answer, ChainEnd> {
    let https = url.scheme == "https";
    let port = url.port.unwrap_or(if https { 443 } else { 80 });
    let addrs: Vec<SocketAddr> = match url.ip {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => {
            if let Some(why) = refused_name(&url.host) {
                return Err(ChainEnd::Refused(format!("{}: {why}", url.host)));
            }
            match tokio::net::lookup_host((url.host.as_str(), port)).await {
                Ok(a) => a.collect(),
                Err(e) => return Err(ChainEnd::Unreachable(format!("{}: {e}", url.host))),
            }
        }
    };
    if addrs.is_empty() {
        return Err(ChainEnd::Unreachable(format!("{}: no address", url.host)));
    }
    // Every address must pass: otherwise a name with one public and one private
    // address could be steered to the private one.
    for a in &addrs {
        if let Some(why) = refused_address(a.ip(), &cfg.allow_private) {
            return Err(ChainEnd::Refused(format!(
                "{} ({}): {why}",
                url.host,
                a.ip()
            )));
        }
    }
    let mut last_err = String::new();
    let mut stream = None;
    for a in &addrs {
        match TcpStream::connect(a).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = format!("{}: {e}", url.authority()),
        }
    }
    let Some(tcp) = stream else {
        return Err(ChainEnd::Unreachable(last_err));
    };
    let _ = tcp.set_nodelay(true);
    let path = match &url.query {
        Some(q) => format!("{}?{q}", url.path),
        None => url.path.clone(),
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: clickhunt-safelinks/0.1\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.authority()
    );
    let head = if https {
        let name = match url.ip {
            Some(ip) => rustls::pki_types::ServerName::IpAddress(ip.into()),
            None => match rustls::pki_types::ServerName::try_from(url.host.clone()) {
                Ok(n) => n,
                Err(e) => return Err(ChainEnd::Unreachable(format!("{}: {e}", url.host))),
            },
        };
        let tls = match tls_connector().connect(name, tcp).await {
            Ok(t) => t,
            Err(e) => return Err(ChainEnd::Unreachable(format!("{}: TLS: {e}", url.host))),
        };
        exchange(tls, &request).await
    } else {
        exchange(tcp, &request).await
    };
    let head = head.map_err(|e| ChainEnd::Unreachable(format!("{}: {e}", url.authority())))?;
    parse_head(&head).map_err(|e| ChainEnd::Unreachable(format!("{}: {e}", url.authority())))
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    request: &str,
) -> std::io::Result<Vec<u8>> {
    s.write_all(request.as_bytes()).await?;
    s.flush().await?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(head);
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.len() >= MAX_HEAD {
            return Ok(head);
        }
    }
}

fn parse_head(head: &[u8]) -> Result<Answer, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) if head.is_empty() => {
            return Err("the connection closed without an answer".into())
        }
        Ok(httparse::Status::Partial) => return Err("an incomplete HTTP answer".into()),
        Err(e) => return Err(format!("not an HTTP answer ({e})")),
    }
    let status = resp.code.unwrap_or(0);
    if matches!(status, 301 | 302 | 303 | 307 | 308) {
        if let Some(h) = resp
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("location"))
        {
            let loc = String::from_utf8_lossy(h.value).trim().to_string();
            if !loc.is_empty() {
                return Ok(Answer::Redirect(loc));
            }
        }
    }
    Ok(Answer::Final(status))
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = match rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
        {
            Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
            // The ring provider supports the default versions; this is unreachable
            // in practice, and a default config still verifies certificates.
            Err(_) => rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map(|b| {
                b.with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            })
            .unwrap_or_else(|_| unreachable!()),
        };
        Arc::new(config)
    });
    tokio_rustls::TlsConnector::from(config.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ssrf_guard() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "198.18.0.1",
        ] {
            assert!(refused_address(ip(bad), &[]).is_some(), "{bad}");
        }
        for good in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(refused_address(ip(good), &[]), None, "{good}");
        }
        let allow: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
        assert_eq!(refused_address(ip("127.0.0.1"), &allow), None);
        assert_eq!(refused_address(ip("::ffff:127.0.0.1"), &allow), None);
        assert!(refused_address(ip("10.0.0.1"), &allow).is_some());
        assert_eq!(
            refused_address(ip("169.254.169.254"), &[]),
            Some("cloud metadata address")
        );
        assert!(refused_name("localhost").is_some());
        assert!(refused_name("metadata.google.internal").is_some());
    }

    #[test]
    fn heads() {
        assert!(matches!(
            parse_head(b"HTTP/1.1 302 Found\r\nLocation: /next\r\n\r\n"),
            Ok(Answer::Redirect(l)) if l == "/next"
        ));
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\n\r\n"),
            Ok(Answer::Final(200))
        ));
        assert!(matches!(
            parse_head(b"HTTP/1.1 302 Found\r\n\r\n"),
            Ok(Answer::Final(302))
        ));
        assert!(parse_head(b"").is_err());
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }

    /// A loopback server that answers each path from `routes` (status, location), and
    /// counts its connections.
    async fn server(
        routes: Vec<(&'static str, u16, String)>,
    ) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = count.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let routes = routes.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]).to_string();
                    let path = req.split(' ').nth(1).unwrap_or("/").to_string();
                    let (status, loc) = routes
                        .iter()
                        .find(|(p, _, _)| *p == path)
                        .map(|(_, s, l)| (*s, l.clone()))
                        .unwrap_or((404, String::new()));
                    let resp = if loc.is_empty() {
                        format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n")
                    } else {
                        format!(
                            "HTTP/1.1 {status} X\r\nLocation: {loc}\r\nContent-Length: 0\r\n\r\n"
                        )
                    };
                    let _ = s.write_all(resp.as_bytes()).await;
                });
            }
        });
        (addr, count)
    }

    fn cfg(allow: &[&str]) -> ResolverConfig {
        ResolverConfig {
            max_redirects: 3,
            timeout: Duration::from_secs(5),
            allow_private: allow.iter().map(|s| s.parse().unwrap()).collect(),
        }
    }

    #[tokio::test]
    async fn follows_redirects_with_hop_limit() {
        let (addr, _) = server(vec![
            ("/a", 302, "/b".into()),
            ("/ok", 200, String::new()),
            ("/loop", 302, "/loop".into()),
            (
                "/meta",
                302,
                "http://169.254.169.254/latest/meta-data/".into(),
            ),
            ("/ftp", 302, "ftp://x.example/".into()),
        ])
        .await;
        let base = format!("http://{addr}");
        let chain = resolve(&format!("{base}/ok"), &cfg(&["127.0.0.0/8"])).await;
        assert_eq!(chain.end, ChainEnd::Final { status: 200 });
        assert_eq!(chain.hops.len(), 1);
        let chain = resolve(&format!("{base}/loop"), &cfg(&["127.0.0.0/8"])).await;
        assert_eq!(chain.end, ChainEnd::TooManyHops);
        assert_eq!(chain.hops.len(), 4);
        let chain = resolve(&format!("{base}/meta"), &cfg(&["127.0.0.0/8"])).await;
        assert!(
            matches!(&chain.end, ChainEnd::Refused(m) if m.contains("metadata")),
            "{chain:?}"
        );
        assert_eq!(chain.hops[1], "http://169.254.169.254/latest/meta-data/");
        let chain = resolve(&format!("{base}/ftp"), &cfg(&["127.0.0.0/8"])).await;
        assert!(matches!(chain.end, ChainEnd::NotHttp(_)));
    }

    #[tokio::test]
    async fn loopback_is_refused_without_the_allow_list() {
        let (addr, count) = server(vec![("/", 200, String::new())]).await;
        let chain = resolve(&format!("http://{addr}/"), &cfg(&[])).await;
        assert!(matches!(chain.end, ChainEnd::Refused(_)), "{chain:?}");
        let chain = resolve(&format!("http://localhost:{}/", addr.port()), &cfg(&[])).await;
        assert!(matches!(chain.end, ChainEnd::Refused(_)), "{chain:?}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn unreachable_and_slow() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed = l.local_addr().unwrap();
        drop(l);
        let chain = resolve(&format!("http://{closed}/"), &cfg(&["127.0.0.0/8"])).await;
        assert!(matches!(chain.end, ChainEnd::Unreachable(_)), "{chain:?}");
        // A server that accepts and never answers.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let slow = l.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = l.accept().await {
                held.push(s);
            }
        });
        let mut c = cfg(&["127.0.0.0/8"]);
        c.timeout = Duration::from_millis(200);
        let chain = resolve(&format!("http://{slow}/"), &c).await;
        assert_eq!(chain.end, ChainEnd::Timeout);
    }
}
