//! Saved queries: a team's shared hunts, kept per data directory in
//! `<data>/saved-queries.json` (written atomically: temp file, fsync, rename), or in
//! memory when the server has no data directory.
//!
//! Who may do what: any key that may run queries (reader or admin) may list, load, save,
//! rename and delete saved queries. They are shared hunts, like the portal's "Shared
//! queries", and hold only query text: whoever can read them can already run queries.
//! Each entry records the key id that saved it last.

use crate::app::{json_response, AppState};
use crate::auth::Permission;
use crate::failure::Failure;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Mutex;

/// The file's name inside a data directory.
pub(crate) const SAVED_QUERIES_FILE: &str = "saved-queries.json";

/// Limits that keep the file small and the list readable.
const MAX_QUERIES: usize = 2000;
const MAX_NAME_CHARS: usize = 200;
const MAX_QUERY_BYTES: usize = 256 * 1024;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct SavedQuery {
    pub id: String,
    pub name: String,
    pub query: String,
    /// The page's time range when it was saved (Graph `Timespan`); `None`: set in query.
    #[serde(default)]
    pub timespan: Option<String>,
    pub created: String,
    pub updated: String,
    /// The key id (or `anonymous`) that saved it last.
    pub author: String,
}

#[derive(Default, Serialize, Deserialize)]
struct SavedFile {
    #[serde(default)]
    queries: Vec<SavedQuery>,
}

/// The saved queries of one server.
pub(crate) struct SavedQueries {
    path: Option<PathBuf>,
    /// `Err` when the file exists but cannot be read: nothing is written over it.
    state: Mutex<Result<Vec<SavedQuery>, String>>,
}

impl SavedQueries {
    /// Loads `<data_dir>/saved-queries.json` (a missing file is an empty list).
    pub fn open(data_dir: Option<&FsPath>) -> SavedQueries {
        let path = data_dir.map(|d| d.join(SAVED_QUERIES_FILE));
        let state = match &path {
            None => Ok(Vec::new()),
            Some(p) => match std::fs::read(p) {
                Ok(bytes) => serde_json::from_slice::<SavedFile>(&bytes)
                    .map(|f| f.queries)
                    .map_err(|e| format!("{} is not a saved-queries file: {e}", p.display())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(format!("reading {}: {e}", p.display())),
            },
        };
        if let Err(e) = &state {
            tracing::error!(error = %e, "saved queries are unavailable");
        }
        SavedQueries {
            path,
            state: Mutex::new(state),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Vec<SavedQuery>) -> Result<(T, bool), Failure>,
    ) -> Result<T, Failure> {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let list = guard.as_mut().map_err(|e| Failure::Internal(e.clone()))?;
        let mut copy = list.clone();
        let (out, changed) = f(&mut copy)?;
        if changed {
            if let Some(p) = &self.path {
                write_atomically(p, &copy)
                    .map_err(|e| Failure::Internal(format!("writing {}: {e}", p.display())))?;
            }
            *list = copy;
        }
        Ok(out)
    }
}

fn write_atomically(path: &FsPath, queries: &[SavedQuery]) -> std::io::Result<()> {
    let body = serde_json::to_vec_pretty(&SavedFile {
        queries: queries.to_vec(),
    })?;
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // The rename is durable once the directory is synced (best effort off Unix).
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// What a client sends to save a query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveRequest {
    name: String,
    query: String,
    #[serde(default)]
    timespan: Option<String>,
}

impl SaveRequest {
    fn parse(body: &[u8]) -> Result<SaveRequest, Failure> {
        let req: SaveRequest = serde_json::from_slice(body).map_err(|e| {
            Failure::BadRequest(format!(
                "The request body must be {{\"name\": \"...\", \"query\": \"...\", \"timespan\": \"P30D\"}}: {e}"
            ))
        })?;
        let name = req.name.trim();
        if name.is_empty() {
            return Err(Failure::BadRequest("A saved query needs a name.".into()));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(Failure::BadRequest(format!(
                "The name is longer than {MAX_NAME_CHARS} characters."
            )));
        }
        if req.query.trim().is_empty() {
            return Err(Failure::BadRequest("The query is empty.".into()));
        }
        if req.query.len() > MAX_QUERY_BYTES {
            return Err(Failure::BadRequest(format!(
                "The query is longer than {} KiB.",
                MAX_QUERY_BYTES / 1024
            )));
        }
        Ok(SaveRequest {
            name: name.to_string(),
            query: req.query,
            timespan: req.timespan.filter(|t| !t.trim().is_empty()),
        })
    }
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A short random id for links (`/#q=<id>`).
fn new_id() -> Result<String, Failure> {
    use rand::TryRngCore;
    // 32 letters and digits without look-alikes (l, o, 0, 1): an unbiased pick per byte.
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| Failure::Internal(format!("no randomness for an id: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[(*b & 31) as usize] as char)
        .collect())
}

fn not_found(id: &str) -> Failure {
    Failure::NotFound(format!("There is no saved query '{id}'."))
}

fn reply(status: StatusCode, body: &impl Serialize) -> Response {
    let mut r = json_response(status, serde_json::to_vec(body).unwrap_or_default());
    super::assets::set_security_headers(r.headers_mut(), None);
    r
}

fn answer(result: Result<Response, Failure>) -> Response {
    result.unwrap_or_else(|f| super::api::failure_response(&f))
}

/// `GET /api/web/saved`: every saved query, by name.
pub(crate) async fn list(State(st): State<AppState>, headers: HeaderMap) -> Response {
    answer((|| {
        st.shared.admit(&headers, Permission::Query)?;
        let mut all = st.shared.web.with(|l| Ok((l.clone(), false)))?;
        all.sort_by_key(|q| q.name.to_lowercase());
        Ok(reply(StatusCode::OK, &serde_json::json!({"queries": all})))
    })())
}

/// `POST /api/web/saved`: saves a new query.
pub(crate) async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer((|| {
        let who = st.shared.admit(&headers, Permission::Query)?;
        let req = SaveRequest::parse(&body)?;
        let id = new_id()?;
        let saved = st.shared.web.with(|l| {
            if l.len() >= MAX_QUERIES {
                return Err(Failure::BadRequest(format!(
                    "There are already {MAX_QUERIES} saved queries; delete some first."
                )));
            }
            let now = now_text();
            let q = SavedQuery {
                id,
                name: req.name,
                query: req.query,
                timespan: req.timespan,
                created: now.clone(),
                updated: now,
                author: who.id,
            };
            l.push(q.clone());
            Ok((q, true))
        })?;
        Ok(reply(StatusCode::CREATED, &saved))
    })())
}

/// `GET /api/web/saved/{id}`.
pub(crate) async fn load(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer((|| {
        st.shared.admit(&headers, Permission::Query)?;
        let q = st
            .shared
            .web
            .with(|l| Ok((l.iter().find(|q| q.id == id).cloned(), false)))?;
        let q = q.ok_or_else(|| not_found(&id))?;
        Ok(reply(StatusCode::OK, &q))
    })())
}

/// `PUT /api/web/saved/{id}`: renames or changes a saved query.
pub(crate) async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer((|| {
        let who = st.shared.admit(&headers, Permission::Query)?;
        let req = SaveRequest::parse(&body)?;
        let saved = st.shared.web.with(|l| {
            let q = l
                .iter_mut()
                .find(|q| q.id == id)
                .ok_or_else(|| not_found(&id))?;
            q.name = req.name;
            q.query = req.query;
            q.timespan = req.timespan;
            q.updated = now_text();
            q.author = who.id;
            Ok((q.clone(), true))
        })?;
        Ok(reply(StatusCode::OK, &saved))
    })())
}

/// `DELETE /api/web/saved/{id}`.
pub(crate) async fn remove(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer((|| {
        st.shared.admit(&headers, Permission::Query)?;
        st.shared.web.with(|l| {
            let before = l.len();
            l.retain(|q| q.id != id);
            if l.len() == before {
                return Err(not_found(&id));
            }
            Ok(((), true))
        })?;
        let mut r = json_response(StatusCode::NO_CONTENT, Vec::new());
        r.headers_mut().remove(axum::http::header::CONTENT_TYPE);
        super::assets::set_security_headers(r.headers_mut(), None);
        Ok(r)
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_queries_survive_a_restart_and_a_bad_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let s = SavedQueries::open(Some(dir.path()));
        s.with(|l| {
            l.push(SavedQuery {
                id: "a".into(),
                name: "n".into(),
                query: "print 1".into(),
                timespan: None,
                created: now_text(),
                updated: now_text(),
                author: "anonymous".into(),
            });
            Ok(((), true))
        })
        .unwrap();
        let again = SavedQueries::open(Some(dir.path()));
        let all = again.with(|l| Ok((l.clone(), false))).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].query, "print 1");

        let file = dir.path().join(SAVED_QUERIES_FILE);
        std::fs::write(&file, b"not json").unwrap();
        let broken = SavedQueries::open(Some(dir.path()));
        assert!(broken.with(|_| Ok(((), true))).is_err());
        assert_eq!(std::fs::read(&file).unwrap(), b"not json");
    }
}
