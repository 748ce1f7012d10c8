//! JSON lines: plain rows (keys = column names) or Defender Streaming API → Storage
//! envelopes (`{"time":...,"category":"AdvancedHunting-<Table>","properties":{...}}`),
//! one per line. Decoded as read, line by line.

use super::defender_stream::route_envelope;
use super::error::IngestError;
use super::sink::Router;
use super::{detect, plain_table, Format, IngestError as E};
use serde_json::Value as Json;
use std::io::{BufRead, BufReader, Read};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Decided by the first valid line: an object with `category` and `properties`
    /// is a stream envelope.
    Auto,
    Stream,
    Plain,
}

pub(crate) fn decode(
    input: impl Read,
    router: &mut Router<'_>,
    mut mode: Mode,
    in_gzip: bool,
) -> Result<Format, IngestError> {
    let source = router.source;
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    let mut plain: Option<String> = None;
    // The longest line read (64 MiB by default); longer ones are bad rows, never held.
    let max_line = router.opts.max_value_bytes.saturating_mul(64).max(1 << 16);
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(max_line as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| super::read_error(source, e, in_gzip))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if buf.len() > max_line {
            // Not kept in memory: skip to the end of the line and report it.
            skip_line(&mut reader).map_err(|e| super::read_error(source, e, in_gzip))?;
            let reason = format!("record longer than the limit of {max_line} bytes");
            router.reject(line_no, None, reason, None);
            continue;
        }
        let mut line = buf.as_slice();
        if line_no == 1 {
            line = detect::strip_bom(line);
        }
        while let Some((b'\n' | b'\r', rest)) = line.split_last() {
            line = rest;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let obj = match parse_object(line) {
            Ok(o) => o,
            Err(reason) => {
                router.reject(line_no, None, reason, Some(line));
                continue;
            }
        };
        if mode == Mode::Auto {
            mode = if is_envelope(&obj) {
                Mode::Stream
            } else {
                Mode::Plain
            };
        }
        match mode {
            Mode::Stream => {
                if router.opts.table.is_some() {
                    return Err(E::TableForRoutedInput {
                        source_name: source.to_string(),
                    });
                }
                route_envelope(router, line_no, &obj, line);
            }
            _ => {
                let table = match &plain {
                    Some(t) => t,
                    None => {
                        let t = plain_table(router, "JSON lines")?;
                        if let Some(cols) = t.cols {
                            router.add_table(&t.name, cols);
                        }
                        plain.insert(t.name)
                    }
                };
                router.json_row(table, line_no, &obj, line);
            }
        }
    }
    Ok(if mode == Mode::Stream {
        Format::Defender
    } else {
        Format::Jsonl
    })
}

fn skip_line(r: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            return Ok(());
        }
        match avail.iter().position(|&c| c == b'\n') {
            Some(p) => {
                r.consume(p + 1);
                return Ok(());
            }
            None => {
                let n = avail.len();
                r.consume(n);
            }
        }
    }
}

/// One line as a JSON object, or why it is not one.
pub(crate) fn parse_object(line: &[u8]) -> Result<serde_json::Map<String, Json>, String> {
    if let Err(e) = std::str::from_utf8(line) {
        return Err(format!(
            "not valid UTF-8 (byte {} of the record)",
            e.valid_up_to() + 1
        ));
    }
    match serde_json::from_slice::<Json>(line) {
        Ok(Json::Object(m)) => Ok(m),
        Ok(other) => Err(format!(
            "expected a JSON object, found {}",
            json_kind(&other)
        )),
        Err(e) => Err(json_error(&e)),
    }
}

/// serde_json's message without its "at line 1 column N" (the line is ours to report).
pub(crate) fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let msg = text
        .rfind(" at line ")
        .map_or(text.as_str(), |i| &text[..i]);
    let what = if e.is_eof() {
        "truncated JSON"
    } else {
        "invalid JSON"
    };
    format!("{what}: {msg} (column {})", e.column())
}

pub(crate) fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn is_envelope(obj: &serde_json::Map<String, Json>) -> bool {
    obj.get("category").is_some_and(Json::is_string)
        && obj.get("properties").is_some_and(Json::is_object)
}
