//! Signed wrapped links. A wrapped link carries the original URL and the click context
//! (recipient, message id, when it was wrapped) in the clear and an HMAC-SHA256 over
//! all of them under the installation's secret, so nobody can make the gateway
//! redirect anywhere (no open redirect) or attribute a click to someone else.
//! "Continue anyway" links are signed the same way under another purpose tag, so a
//! click signature can never serve as a continue signature or the reverse.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::{Read, Write};
use std::path::Path;

/// The secret's file name inside the data directory.
pub const SECRET_FILE: &str = "safelinks.secret";
/// The click endpoint's path.
pub const CLICK_PATH: &str = "/safelinks/v1/click";
/// The "Continue anyway" endpoint's path.
pub const CONTINUE_PATH: &str = "/safelinks/v1/continue";

const SECRET_LEN: usize = 32;
const CLICK_TAG: &[u8] = b"clickhunt safelinks click v1";
const CONTINUE_TAG: &[u8] = b"clickhunt safelinks continue v1";

type HmacSha256 = Hmac<Sha256>;

/// Why a wrapped or continue link was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link has no '{0}' parameter")]
    Missing(&'static str),
    #[error("the link has '{0}' more than once")]
    Duplicate(String),
    #[error("the link's signature is malformed")]
    MalformedSignature,
    #[error("the link's signature does not match: it was altered or not made here")]
    BadSignature,
    #[error("the link's data is malformed")]
    Malformed,
    #[error("the link has expired")]
    Expired,
}

/// Problems with the secret file.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}: the secret must be {SECRET_LEN} bytes written as 64 hex digits")]
    Malformed(String),
    #[error("{0}: readable by others (mode {1:o}); run chmod 600 on it")]
    Permissions(String, u32),
    #[error("no random numbers from the operating system: {0}")]
    Random(String),
}

/// Who clicked what, as carried in a wrapped link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClickContext {
    /// The original URL, exactly as it was in the message.
    pub url: String,
    /// The recipient (AccountUpn).
    pub recipient: String,
    pub network_message_id: String,
    /// When the link was wrapped (Unix seconds).
    pub issued: i64,
}

/// The first event of a warning-page click, carried (signed) in its "Continue anyway"
/// link so the second event repeats it with `IsClickedThrough = true`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContinueToken {
    pub url: String,
    pub action_type: String,
    pub account_upn: String,
    pub workload: String,
    pub network_message_id: String,
    pub threat_types: String,
    pub detection_methods: String,
    pub url_chain: String,
    pub report_id: String,
    pub app_name: String,
    pub app_version: String,
    pub source_id: String,
    /// Unix seconds after which the link is refused.
    pub expires: i64,
}

/// Signs and checks links with the installation's secret.
#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; SECRET_LEN],
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

impl LinkSigner {
    pub fn from_key(key: [u8; SECRET_LEN]) -> LinkSigner {
        LinkSigner { key }
    }

    /// A signer with a fresh random secret that lives only in memory.
    pub fn ephemeral() -> Result<LinkSigner, SecretError> {
        let mut key = [0u8; SECRET_LEN];
        getrandom::fill(&mut key).map_err(|e| SecretError::Random(e.to_string()))?;
        Ok(LinkSigner { key })
    }

    /// Reads `<dir>/safelinks.secret`, creating it (mode 0600) on first start.
    pub fn load_or_create(dir: &Path) -> Result<LinkSigner, SecretError> {
        let path = dir.join(SECRET_FILE);
        let shown = path.display().to_string();
        let io = |source| SecretError::Io {
            path: shown.clone(),
            source,
        };
        match std::fs::File::open(&path) {
            Ok(mut f) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = f.metadata().map_err(io)?.permissions().mode() & 0o777;
                    if mode & 0o077 != 0 {
                        return Err(SecretError::Permissions(shown, mode));
                    }
                }
                let mut text = String::new();
                f.read_to_string(&mut text).map_err(io)?;
                let key = decode_hex(text.trim()).ok_or(SecretError::Malformed(shown))?;
                Ok(LinkSigner { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(io)?;
                let signer = LinkSigner::ephemeral()?;
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                match opts.open(&path) {
                    Ok(mut f) => {
                        let hex: String = signer.key.iter().map(|b| format!("{b:02x}")).collect();
                        f.write_all(format!("{hex}\n").as_bytes()).map_err(io)?;
                        f.sync_all().map_err(io)?;
                        Ok(signer)
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        LinkSigner::load_or_create(dir)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    fn mac(&self, tag: &[u8], fields: &[&[u8]]) -> HmacSha256 {
        // `new_from_slice` accepts any key length; 32 bytes cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(tag);
        for f in fields {
            // Length-prefixed, so no two field lists give the same bytes.
            mac.update(&(f.len() as u64).to_be_bytes());
            mac.update(f);
        }
        mac
    }

    fn click_mac(&self, c: &ClickContext) -> HmacSha256 {
        self.mac(
            CLICK_TAG,
            &[
                c.url.as_bytes(),
                c.recipient.as_bytes(),
                c.network_message_id.as_bytes(),
                c.issued.to_string().as_bytes(),
            ],
        )
    }

    /// The wrapped link for `c` under `base` (e.g. `https://safelinks.contoso.com`).
    pub fn wrap(&self, base: &str, c: &ClickContext) -> String {
        let sig = URL_SAFE_NO_PAD.encode(self.click_mac(c).finalize().into_bytes());
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("url", &c.url)
            .append_pair("r", &c.recipient)
            .append_pair("m", &c.network_message_id)
            .append_pair("t", &c.issued.to_string())
            .append_pair("sig", &sig)
            .finish();
        format!("{}{CLICK_PATH}?{query}", base.trim_end_matches('/'))
    }

    /// Checks a click link's query string and returns its context.
    pub fn verify_click(&self, query: &str) -> Result<ClickContext, LinkError> {
        let p = Params::parse(query, &["url", "r", "m", "t", "sig"])?;
        let c = ClickContext {
            url: p.get("url")?,
            recipient: p.get("r")?,
            network_message_id: p.get("m")?,
            issued: p.get("t")?.parse().map_err(|_| LinkError::Malformed)?,
        };
        let sig = decode_sig(&p.get("sig")?)?;
        self.click_mac(&c)
            .verify_slice(&sig)
            .map_err(|_| LinkError::BadSignature)?;
        Ok(c)
    }

    /// The "Continue anyway" link for `t`.
    pub fn continue_link(&self, base: &str, t: &ContinueToken) -> String {
        let data = serde_json::to_vec(t).unwrap_or_default();
        let sig = URL_SAFE_NO_PAD.encode(self.mac(CONTINUE_TAG, &[&data]).finalize().into_bytes());
        format!(
            "{}{CONTINUE_PATH}?c={}&sig={sig}",
            base.trim_end_matches('/'),
            URL_SAFE_NO_PAD.encode(&data)
        )
    }

    /// Checks a continue link's query string at `now` (Unix seconds).
    pub fn verify_continue(&self, query: &str, now: i64) -> Result<ContinueToken, LinkError> {
        let p = Params::parse(query, &["c", "sig"])?;
        let data = URL_SAFE_NO_PAD
            .decode(p.get("c")?.as_bytes())
            .map_err(|_| LinkError::Malformed)?;
        let sig = decode_sig(&p.get("sig")?)?;
        self.mac(CONTINUE_TAG, &[&data])
            .verify_slice(&sig)
            .map_err(|_| LinkError::BadSignature)?;
        let t: ContinueToken = serde_json::from_slice(&data).map_err(|_| LinkError::Malformed)?;
        if now > t.expires {
            return Err(LinkError::Expired);
        }
        Ok(t)
    }
}

fn decode_sig(s: &str) -> Result<Vec<u8>, LinkError> {
    let sig = URL_SAFE_NO_PAD
        .decode(s.as_bytes())
        .map_err(|_| LinkError::MalformedSignature)?;
    if sig.len() != 32 {
        return Err(LinkError::MalformedSignature);
    }
    Ok(sig)
}

fn decode_hex(s: &str) -> Option<[u8; SECRET_LEN]> {
    if s.len() != SECRET_LEN * 2 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; SECRET_LEN];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A link's query parameters: each expected one exactly once; unknown ones are ignored.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: &str, expected: &[&'static str]) -> Result<Params, LinkError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for name in expected {
            if pairs.iter().filter(|(k, _)| k == name).count() > 1 {
                return Err(LinkError::Duplicate(name.to_string()));
            }
        }
        Ok(Params(pairs))
    }

    fn get(&self, name: &'static str) -> Result<String, LinkError> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or(LinkError::Missing(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ClickContext {
        ClickContext {
            url: "https://contoso.com/a?b=1&c=ä".into(),
            recipient: "alice@contoso.com".into(),
            network_message_id: "e51ba906-ca62-4fba-cf21-08dbfc9c5192".into(),
            issued: 1_780_000_000,
        }
    }

    fn query(link: &str) -> &str {
        link.split_once('?').unwrap().1
    }

    #[test]
    fn round_trip() {
        let s = LinkSigner::from_key([7; 32]);
        let link = s.wrap("https://gw.example/", &ctx());
        assert!(
            link.starts_with("https://gw.example/safelinks/v1/click?url=https%3A%2F%2Fcontoso.com")
        );
        assert_eq!(s.verify_click(query(&link)), Ok(ctx()));
    }

    #[test]
    fn tampering_is_refused() {
        let s = LinkSigner::from_key([7; 32]);
        let link = s.wrap("https://gw.example", &ctx());
        let q = query(&link).to_string();
        let changed_url = q.replace("contoso.com%2Fa", "evil.example%2Fa");
        assert_eq!(s.verify_click(&changed_url), Err(LinkError::BadSignature));
        let changed_user = q.replace("alice", "mallory");
        assert_eq!(s.verify_click(&changed_user), Err(LinkError::BadSignature));
        let other_message = q.replace("e51ba906", "00000000");
        assert_eq!(s.verify_click(&other_message), Err(LinkError::BadSignature));
        let truncated = &q[..q.len() - 3];
        assert_eq!(
            s.verify_click(truncated),
            Err(LinkError::MalformedSignature)
        );
        let no_sig = q.split("&sig=").next().unwrap();
        assert_eq!(s.verify_click(no_sig), Err(LinkError::Missing("sig")));
        let doubled = format!("{q}&url=https%3A%2F%2Fevil.example");
        assert_eq!(
            s.verify_click(&doubled),
            Err(LinkError::Duplicate("url".into()))
        );
        let other_key = LinkSigner::from_key([8; 32]);
        assert_eq!(other_key.verify_click(&q), Err(LinkError::BadSignature));
    }

    #[test]
    fn continue_links() {
        let s = LinkSigner::from_key([1; 32]);
        let t = ContinueToken {
            url: "https://phish.example/".into(),
            action_type: "ClickBlocked".into(),
            account_upn: "a@b.com".into(),
            workload: "Email".into(),
            network_message_id: "m".into(),
            threat_types: "Phish".into(),
            detection_methods: "{\"Phish\":[\"URL malicious reputation\"]}".into(),
            url_chain: "[\"https://phish.example/\"]".into(),
            report_id: "r".into(),
            app_name: "Mail".into(),
            app_version: "0.0.0000".into(),
            source_id: "m".into(),
            expires: 100,
        };
        let link = s.continue_link("http://gw", &t);
        assert_eq!(s.verify_continue(query(&link), 50), Ok(t.clone()));
        assert_eq!(
            s.verify_continue(query(&link), 101),
            Err(LinkError::Expired)
        );
        // A click signature is not a continue signature.
        let click = s.wrap("http://gw", &ctx());
        let sig = query(&click).split("&sig=").nth(1).unwrap();
        let c = query(&link).split("&sig=").next().unwrap();
        assert_eq!(
            s.verify_continue(&format!("{c}&sig={sig}"), 50),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn secret_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = LinkSigner::load_or_create(dir.path()).unwrap();
        let b = LinkSigner::load_or_create(dir.path()).unwrap();
        assert_eq!(a.key, b.key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.path().join(SECRET_FILE);
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                LinkSigner::load_or_create(dir.path()),
                Err(SecretError::Permissions(..))
            ));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            std::fs::write(&path, "zz").unwrap();
            assert!(matches!(
                LinkSigner::load_or_create(dir.path()),
                Err(SecretError::Malformed(_))
            ));
        }
    }

    proptest::proptest! {
        #[test]
        fn verify_never_panics_and_never_accepts_junk(q in "\\PC{0,200}") {
            let s = LinkSigner::from_key([3; 32]);
            proptest::prop_assert!(s.verify_click(&q).is_err());
            proptest::prop_assert!(s.verify_continue(&q, 0).is_err());
        }
    }
}
