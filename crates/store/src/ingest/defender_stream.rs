//! Defender Streaming API records: `{"time", "tenantId", "operationName", "category":
//! "AdvancedHunting-<Table>", "_TimeReceivedBySvc", "properties": {<the row>}, "Tenant"}`,
//! one per line (Storage) or in `{"records":[...]}` messages (Event Hubs).
//!
//! An Event Hubs message is split into its records by a small scanner rather than
//! parsed whole, so each record keeps its line number and a truncated message still
//! yields the complete records before the cut.

use super::error::IngestError;
use super::jsonl::{json_error, json_kind, parse_object};
use super::sink::Router;
use serde_json::{Map, Value as Json};

const CATEGORY_PREFIX: &str = "AdvancedHunting-";

/// Routes one envelope's `properties` to the table its `category` names.
pub(crate) fn route_envelope(
    router: &mut Router<'_>,
    line: usize,
    env: &Map<String, Json>,
    raw: &[u8],
) {
    let category = match env.get("category") {
        Some(Json::String(c)) => c,
        Some(other) => {
            let reason = format!("expected a string, found {}", json_kind(other));
            return router.reject(line, Some("category"), reason, Some(raw));
        }
        None => {
            let reason =
                "a streaming record needs a category (AdvancedHunting-<Table>)".to_string();
            return router.reject(line, Some("category"), reason, Some(raw));
        }
    };
    let table = match category.strip_prefix(CATEGORY_PREFIX) {
        Some(t) if !t.is_empty() => t,
        _ => {
            let reason = format!(
                "category {} is not an advanced hunting table (AdvancedHunting-<Table>)",
                super::error::preview(category)
            );
            return router.reject(line, Some("category"), reason, Some(raw));
        }
    };
    match env.get("properties") {
        Some(Json::Object(props)) => router.json_row(table, line, props, raw),
        Some(other) => {
            let reason = format!("expected an object, found {}", json_kind(other));
            router.reject(line, Some("properties"), reason, Some(raw));
        }
        None => {
            let reason = "a streaming record needs properties (the row)".to_string();
            router.reject(line, Some("properties"), reason, Some(raw));
        }
    }
}

/// Decodes one or more concatenated Event Hubs messages.
pub(crate) fn decode_event_hub(b: &[u8], router: &mut Router<'_>) -> Result<(), IngestError> {
    let mut s = Scanner::new(super::detect::strip_bom(b));
    loop {
        s.skip_ws();
        if s.eof() {
            return Ok(());
        }
        if s.peek() != Some(b'{') {
            let line = s.line();
            return Err(s.structure_error(
                router,
                line,
                "expected '{' to start an Event Hubs message",
            ));
        }
        let msg_line = s.line();
        s.i += 1;
        let mut saw_records = false;
        loop {
            s.skip_ws();
            match s.peek() {
                Some(b'}') => {
                    s.i += 1;
                    break;
                }
                Some(b'"') => {}
                None => return s.truncated(router, msg_line),
                Some(_) => {
                    let line = s.line();
                    return Err(s.structure_error(
                        router,
                        line,
                        "expected a key in the message object",
                    ));
                }
            }
            let key_start = s.i;
            let Some(key_end) = s.string_end(key_start) else {
                return s.truncated(router, msg_line);
            };
            let is_records = &s.b[key_start..key_end] == b"\"records\"";
            s.i = key_end;
            s.skip_ws();
            if s.peek() != Some(b':') {
                if s.eof() {
                    return s.truncated(router, msg_line);
                }
                let line = s.line();
                return Err(s.structure_error(router, line, "expected ':' after a key"));
            }
            s.i += 1;
            s.skip_ws();
            if is_records {
                saw_records = true;
                if !records(&mut s, router)? {
                    return Ok(()); // truncated; reported
                }
            } else {
                match s.value_end(s.i) {
                    Some(e) => s.i = e,
                    None => return s.truncated(router, msg_line),
                }
            }
            s.skip_ws();
            match s.peek() {
                Some(b',') => s.i += 1,
                Some(b'}') => {
                    s.i += 1;
                    break;
                }
                None => return s.truncated(router, msg_line),
                Some(_) => {
                    let line = s.line();
                    return Err(s.structure_error(
                        router,
                        line,
                        "expected ',' or '}' in the message object",
                    ));
                }
            }
        }
        if !saw_records {
            return Err(IngestError::format(
                router.source,
                Some(msg_line),
                "an Event Hubs message without a \"records\" array",
            ));
        }
    }
}

/// Reads the `records` array at the scanner; `Ok(false)` when the input ends inside it.
fn records(s: &mut Scanner<'_>, router: &mut Router<'_>) -> Result<bool, IngestError> {
    if s.peek() != Some(b'[') {
        let line = s.line();
        return Err(s.structure_error(router, line, "\"records\" must be an array"));
    }
    let array_line = s.line();
    s.i += 1;
    loop {
        s.skip_ws();
        match s.peek() {
            Some(b']') => {
                s.i += 1;
                return Ok(true);
            }
            None => {
                s.truncated(router, array_line)?;
                return Ok(false);
            }
            _ => {}
        }
        let start = s.i;
        let line = s.line();
        let Some(end) = s.value_end(start) else {
            let reason = "truncated JSON: the input ends inside this record".to_string();
            router.reject(line, None, reason, Some(&s.b[start..]));
            return Ok(false);
        };
        let raw = &s.b[start..end];
        match parse_object(raw) {
            Ok(env) => route_envelope(router, line, &env, raw),
            Err(reason) => router.reject(line, None, reason, Some(raw)),
        }
        s.i = end;
        s.skip_ws();
        match s.peek() {
            Some(b',') => s.i += 1,
            Some(b']') => {
                s.i += 1;
                return Ok(true);
            }
            None => {
                s.truncated(router, array_line)?;
                return Ok(false);
            }
            Some(_) => {
                let line = s.line();
                return Err(s.structure_error(router, line, "expected ',' or ']' between records"));
            }
        }
    }
}

/// A cursor over JSON text that finds where values end without building them.
struct Scanner<'b> {
    b: &'b [u8],
    i: usize,
    /// (position, 1-based line at that position), advanced lazily.
    line_at: (usize, usize),
}

impl<'b> Scanner<'b> {
    fn new(b: &'b [u8]) -> Self {
        Scanner {
            b,
            i: 0,
            line_at: (0, 1),
        }
    }

    fn eof(&self) -> bool {
        self.i >= self.b.len()
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    /// The line of the current position (positions only move forward).
    fn line(&mut self) -> usize {
        let (pos, line) = self.line_at;
        let to = self.i.min(self.b.len());
        let n = if to > pos {
            self.b[pos..to].iter().filter(|&&c| c == b'\n').count()
        } else {
            0
        };
        self.line_at = (to.max(pos), line + n);
        self.line_at.1
    }

    /// `i` is at a `"`: the index after the closing quote.
    fn string_end(&self, i: usize) -> Option<usize> {
        let mut j = i + 1;
        while j < self.b.len() {
            match self.b[j] {
                b'\\' => j += 2,
                b'"' => return Some(j + 1),
                _ => j += 1,
            }
        }
        None
    }

    /// The index after the JSON value starting at `i`; `None` when the input ends first.
    /// Brackets are only counted; the value's own syntax is checked when it is parsed.
    fn value_end(&self, i: usize) -> Option<usize> {
        match self.b.get(i)? {
            b'"' => self.string_end(i),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut j = i;
                while j < self.b.len() {
                    match self.b[j] {
                        b'"' => {
                            j = self.string_end(j)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(j + 1);
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                None
            }
            _ => {
                let n = self.b[i..]
                    .iter()
                    .position(|c| matches!(c, b',' | b']' | b'}') || c.is_ascii_whitespace())
                    .unwrap_or(self.b.len() - i);
                Some(i + n.max(1))
            }
        }
    }

    fn truncated(&self, router: &mut Router<'_>, line: usize) -> Result<(), IngestError> {
        let reason = "truncated JSON: the input ends before the Event Hubs message is closed";
        router.reject(line, None, reason.to_string(), None);
        Ok(())
    }

    fn structure_error(&self, router: &Router<'_>, line: usize, what: &str) -> IngestError {
        let near =
            String::from_utf8_lossy(&self.b[self.i..(self.i + 20).min(self.b.len())]).into_owned();
        let detail = serde_json::from_slice::<Json>(self.b)
            .err()
            .map(|e| format!(" ({})", json_error(&e)))
            .unwrap_or_default();
        IngestError::format(
            router.source,
            Some(line),
            format!("{what}, found {near:?}{detail}"),
        )
    }
}
