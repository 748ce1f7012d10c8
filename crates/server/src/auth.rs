//! API keys: bearer tokens with a role, stored hashed in `<data>/keys.json` (mode 0600).
//!
//! Policy (see `docs/ARCHITECTURE.md`): with no key configured a loopback-only server is
//! open; once any key exists every request needs one, loopback included. A server on a
//! non-loopback address refuses to start without keys, and refuses every request if the
//! keys disappear while it runs (fail closed). The secret is shown once, when created;
//! only its SHA-256 is kept, so a leaked `keys.json` does not leak keys.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// The key file's name inside a data directory.
pub const KEYS_FILE: &str = "keys.json";

/// Prefix of every key, so leaked keys are easy to grep for.
const KEY_PREFIX: &str = "chk_";

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Queries and `.show` commands.
    Reader,
    /// Ingest only (and the Safe Links gateway API).
    Ingestor,
    /// The Safe Links gateway API only (rewrite, check): for mail flow and apps.
    Gateway,
    /// Everything: queries, ingest, management commands, metrics.
    Admin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Ingestor => "ingestor",
            Role::Gateway => "gateway",
            Role::Admin => "admin",
        }
    }

    pub(crate) fn allows(self, p: Permission) -> bool {
        matches!(
            (self, p),
            (Role::Admin, _)
                | (_, Permission::Metrics)
                | (Role::Reader, Permission::Query)
                | (Role::Ingestor, Permission::Ingest)
                | (Role::Ingestor | Role::Gateway, Permission::Gateway)
        )
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s.to_ascii_lowercase().as_str() {
            "reader" => Ok(Role::Reader),
            "ingestor" => Ok(Role::Ingestor),
            "gateway" => Ok(Role::Gateway),
            "admin" => Ok(Role::Admin),
            _ => Err(format!(
                "unknown role '{s}' (reader, ingestor, gateway, admin)"
            )),
        }
    }
}

/// What a request wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Permission {
    Query,
    Ingest,
    /// Management commands other than `.show`.
    Manage,
    Metrics,
    /// The Safe Links rewrite and check API.
    Gateway,
}

impl Permission {
    fn name(self) -> &'static str {
        match self {
            Permission::Query => "run queries",
            Permission::Ingest => "ingest data",
            Permission::Manage => "run management commands",
            Permission::Metrics => "read metrics",
            Permission::Gateway => "use the Safe Links gateway API",
        }
    }
}

/// One key as stored: never the secret itself.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KeyEntry {
    /// A short public id, shown in logs and `keys list`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub role: Role,
    /// Lower-case hex SHA-256 of the whole key text.
    pub sha256: String,
    /// When it was created (RFC 3339).
    pub created: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KeyFile {
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
}

fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl KeyFile {
    /// Reads `path`; a missing file is an empty key set.
    pub fn load(path: &Path) -> std::io::Result<KeyFile> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is not a valid key file: {e}", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeyFile::default()),
            Err(e) => Err(e),
        }
    }

    /// Writes `path` atomically (temporary file + rename) with mode 0600.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        f.write_all(&text)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        drop(f);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        }
        std::fs::rename(&tmp, path)
    }

    /// Adds a new random key with `role` and returns its entry and the secret (shown once).
    pub fn create(
        &mut self,
        role: Role,
        name: Option<String>,
    ) -> std::io::Result<(KeyEntry, String)> {
        use rand::TryRngCore;
        let mut secret = [0u8; 32];
        let mut id_bytes = [0u8; 4];
        rand::rngs::OsRng
            .try_fill_bytes(&mut secret)
            .and_then(|_| rand::rngs::OsRng.try_fill_bytes(&mut id_bytes))
            .map_err(|e| std::io::Error::other(format!("no randomness for a key: {e}")))?;
        let key = format!(
            "{KEY_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        );
        let entry = KeyEntry {
            id: id_bytes.iter().map(|b| format!("{b:02x}")).collect(),
            name,
            role,
            sha256: sha256_hex(&key),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        self.keys.push(entry.clone());
        Ok((entry, key))
    }

    /// Removes the key with `id`; false if there is none.
    pub fn revoke(&mut self, id: &str) -> bool {
        let before = self.keys.len();
        self.keys.retain(|k| k.id != id);
        self.keys.len() != before
    }
}

/// The key file's path inside a data directory.
pub fn keys_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYS_FILE)
}

/// Who is asking.
#[derive(Clone, Debug)]
pub(crate) struct Principal {
    /// The key id, or `anonymous` on an open loopback server.
    pub id: String,
}

/// Why a request was refused.
#[derive(Debug, PartialEq)]
pub(crate) enum Denied {
    /// No key, or not a valid one (401).
    Unauthenticated(String),
    /// A valid key without the role (403).
    Forbidden(String),
}

/// The keys in force, reloaded when the key file changes (so `clickhunt keys create`
/// takes effect without a restart).
pub(crate) struct KeyRing {
    path: Option<PathBuf>,
    /// The server listens on a non-loopback address: no keys means no access.
    public: bool,
    state: RwLock<Arc<Loaded>>,
}

struct Loaded {
    stamp: Option<(SystemTime, u64)>,
    checked: Instant,
    /// sha256 → (id, role); `Err` when the file could not be read (fail closed).
    keys: Result<HashMap<String, (String, Role)>, String>,
}

/// How often the key file's modification time is checked.
const RELOAD_INTERVAL: Duration = Duration::from_millis(500);

impl KeyRing {
    pub fn new(path: Option<PathBuf>, public: bool) -> KeyRing {
        let ring = KeyRing {
            path,
            public,
            state: RwLock::new(Arc::new(Loaded {
                stamp: None,
                checked: Instant::now(),
                keys: Ok(HashMap::new()),
            })),
        };
        let loaded = ring.load();
        *ring.state.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
        ring
    }

    fn stamp(&self) -> Option<(SystemTime, u64)> {
        let meta = std::fs::metadata(self.path.as_ref()?).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    fn load(&self) -> Loaded {
        let stamp = self.stamp();
        let keys = match &self.path {
            None => Ok(HashMap::new()),
            Some(p) => match KeyFile::load(p) {
                Ok(f) => Ok(f
                    .keys
                    .into_iter()
                    .map(|k| (k.sha256.to_ascii_lowercase(), (k.id, k.role)))
                    .collect()),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the key file; refusing all requests");
                    Err(e.to_string())
                }
            },
        };
        Loaded {
            stamp,
            checked: Instant::now(),
            keys,
        }
    }

    fn current(&self) -> Arc<Loaded> {
        let cur = self.state.read().unwrap_or_else(|e| e.into_inner()).clone();
        if cur.checked.elapsed() < RELOAD_INTERVAL {
            return cur;
        }
        let stamp = self.stamp();
        let next = if stamp != cur.stamp {
            let l = self.load();
            if l.keys.is_ok() {
                tracing::info!(
                    keys = l.keys.as_ref().map_or(0, |k| k.len()),
                    "key file reloaded"
                );
            }
            Arc::new(l)
        } else {
            Arc::new(Loaded {
                stamp: cur.stamp,
                checked: Instant::now(),
                keys: cur.keys.clone(),
            })
        };
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = next.clone();
        next
    }

    /// Checks the `Authorization` header value (if any) for `perm`.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        perm: Permission,
    ) -> Result<Principal, Denied> {
        let loaded = self.current();
        let keys = match &loaded.keys {
            Ok(k) => k,
            Err(_) => {
                return Err(Denied::Unauthenticated(
                    "the server's key file cannot be read; see the server log".into(),
                ))
            }
        };
        if keys.is_empty() {
            if self.public {
                return Err(Denied::Unauthenticated(
                    "this server listens on a non-loopback address and has no API keys; create one with `clickhunt keys create --role reader --data <DIR>`".into(),
                ));
            }
            return Ok(Principal {
                id: "anonymous".into(),
            });
        }
        let token = authorization
            .and_then(|h| {
                let (scheme, rest) = h.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(Denied::Unauthenticated(
                "an API key is required: send it as 'Authorization: Bearer <key>'".into(),
            ));
        };
        let Some((id, role)) = keys.get(&sha256_hex(token)) else {
            return Err(Denied::Unauthenticated("the API key is not valid".into()));
        };
        if !role.allows(perm) {
            return Err(Denied::Forbidden(format!(
                "the key '{id}' has the role '{}', which may not {}",
                role.name(),
                perm.name()
            )));
        }
        Ok(Principal { id: id.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stored_hashed_and_checked_by_role() {
        let dir = tempfile::tempdir().unwrap();
        let path = keys_path(dir.path());
        let mut file = KeyFile::load(&path).unwrap();
        let (entry, reader) = file.create(Role::Reader, Some("ci".into())).unwrap();
        let (_, ingestor) = file.create(Role::Ingestor, None).unwrap();
        file.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&reader), "the secret must not be stored");
        assert!(text.contains(&entry.sha256));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let ring = KeyRing::new(Some(path), false);
        let bearer = |k: &str| format!("Bearer {k}");
        assert_eq!(
            ring.authorize(Some(&bearer(&reader)), Permission::Query)
                .unwrap()
                .id,
            entry.id
        );
        assert!(matches!(
            ring.authorize(Some(&bearer(&reader)), Permission::Ingest),
            Err(Denied::Forbidden(_))
        ));
        assert!(ring
            .authorize(Some(&bearer(&ingestor)), Permission::Ingest)
            .is_ok());
        assert!(matches!(
            ring.authorize(None, Permission::Query),
            Err(Denied::Unauthenticated(_))
        ));
        assert!(matches!(
            ring.authorize(Some("Bearer chk_nope"), Permission::Query),
            Err(Denied::Unauthenticated(_))
        ));
    }

    #[test]
    fn open_only_on_loopback() {
        let open = KeyRing::new(None, false);
        assert!(open.authorize(None, Permission::Manage).is_ok());
        let public = KeyRing::new(None, true);
        assert!(public.authorize(None, Permission::Query).is_err());
    }
}
