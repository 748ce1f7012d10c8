//! JSON lines: plain rows (keys = column names) or Defender Streaming API → Storage
//! envelopes (`{"time":...,"category":"AdvancedHunting-<Table>","properties":{...}}`),
//! one per line. Decoded as read: plain rows of a known table in chunks on worker
//! threads (emitted in input order), everything else line by line.

use super::defender_stream::route_envelope;
use super::error::IngestError;
use super::sink::Router;
use super::{detect, plain_table, Format, IngestError as E};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use engine::Engine;
use serde_json::Value as Json;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

/// Plain rows are decoded in chunks of about this many bytes at once.
const CHUNK_BYTES: usize = 8 << 20;

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
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    let mut plain: Option<String> = None;
    let mut chunk: Option<PlainChunk> = None;
    // The longest line read (64 MiB by default); longer ones are bad rows, never held.
    let max_line = router.opts.max_value_bytes.saturating_mul(64).max(1 << 16);
    loop {
        if let Some(c) = &mut chunk {
            // Whole lines straight from the read buffer into the chunk; a line that does
            // not end in the buffer is read below, one line at a time.
            let avail = reader
                .fill_buf()
                .map_err(|e| super::read_error(source, e, in_gzip))?;
            if let Some(last) = memchr::memrchr(b'\n', avail) {
                let block = &avail[..=last];
                c.push_block(line_no + 1, block);
                line_no += memchr::memchr_iter(b'\n', block).count();
                reader.consume(last + 1);
                if c.is_full() {
                    c.flush(router);
                }
                continue;
            }
        }
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
            if let Some(c) = &mut chunk {
                c.flush(router); // a chunk holds consecutive lines
                c.drain(router);
            }
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
        if let Some(c) = &mut chunk {
            c.push_block(line_no, &buf);
            if !buf.ends_with(b"\n") {
                c.bytes.push(b'\n'); // the last line of the input
            }
            if c.is_full() {
                c.flush(router);
            }
            continue;
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
                            // A known table: the following lines go in chunks.
                            chunk = PlainChunk::new(&t.name, &cols, router.opts.max_value_bytes);
                            router.add_table(&t.name, cols);
                        }
                        plain.insert(t.name)
                    }
                };
                router.json_row(table, line_no, &obj, line);
            }
        }
    }
    if let Some(c) = &mut chunk {
        c.flush(router);
        c.drain(router);
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

/// Plain rows of a known table, decoded a chunk at a time by Arrow's JSON decoder
/// straight into the table's columns. A chunk it cannot take whole (a key that is no
/// column, a value of another type, a bool as text...) goes row by row through the
/// general path instead, which coerces what real exports hold and names every bad row:
/// the result is the same either way, only the speed differs.
struct PlainChunk {
    table: String,
    schema: SchemaRef,
    /// Consecutive lines of the input, each ending in `\n` (blank ones included).
    bytes: Vec<u8>,
    /// The line number of the first line in `bytes`.
    first_line: usize,
    /// Threads that decode chunks (none if they could not be started: then chunks are
    /// decoded here).
    workers: Vec<Worker>,
    /// Which worker has each chunk in flight, oldest first: rows are emitted in this
    /// order, so the input order is kept.
    in_flight: VecDeque<usize>,
    /// The worker the next chunk goes to.
    next_worker: usize,
    /// Byte buffers of emitted chunks, for reuse.
    spare: Vec<Vec<u8>>,
}

/// A decoding thread: chunks in, decoded chunks out, each in order.
struct Worker {
    jobs: std::sync::mpsc::Sender<Decoded>,
    done: std::sync::mpsc::Receiver<Decoded>,
}

/// A chunk's lines and, once decoded, their batch.
struct Decoded {
    bytes: Vec<u8>,
    first_line: usize,
    batch: Option<RecordBatch>,
}

impl Decoded {
    fn decode(mut self, schema: &SchemaRef, max_value_bytes: usize) -> Decoded {
        let rows = lines(&self.bytes, self.first_line).count();
        // A panic inside Arrow's decoder must not lose the chunk: the general path
        // then takes it row by row.
        self.batch = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (rows > 0)
                .then(|| decode_chunk(&self.bytes, schema, rows, max_value_bytes))
                .flatten()
        }))
        .ok()
        .flatten();
        self
    }
}

impl Worker {
    fn start(schema: SchemaRef, max_value_bytes: usize) -> Option<Worker> {
        let (jobs, rx) = std::sync::mpsc::channel::<Decoded>();
        let (tx, done) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("jsonl-decode".into())
            .spawn(move || {
                for job in rx {
                    if tx.send(job.decode(&schema, max_value_bytes)).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Worker { jobs, done })
    }
}

impl PlainChunk {
    /// `None` for a table with columns whose text form Arrow's decoder would read
    /// differently from Kusto (dynamic, timespan, guid, decimal).
    fn new(table: &str, cols: &[engine::Col], max_value_bytes: usize) -> Option<PlainChunk> {
        use kql_value::KqlType as T;
        let plain = cols.iter().all(|c| {
            matches!(
                c.ty,
                T::String | T::Long | T::Int | T::Real | T::Bool | T::DateTime
            )
        });
        if !plain {
            return None;
        }
        let schema = Engine::arrow_schema(cols);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = (0..cores)
            .map_while(|_| Worker::start(schema.clone(), max_value_bytes))
            .collect();
        Some(PlainChunk {
            table: table.to_string(),
            schema,
            bytes: Vec::with_capacity(CHUNK_BYTES + (1 << 20)),
            first_line: 0,
            workers,
            in_flight: VecDeque::new(),
            next_worker: 0,
            spare: Vec::new(),
        })
    }

    /// Adds whole lines starting at line `first_line` (the lines so far end just before).
    fn push_block(&mut self, first_line: usize, block: &[u8]) {
        if self.bytes.is_empty() {
            self.first_line = first_line;
        }
        self.bytes.extend_from_slice(block);
    }

    fn is_full(&self) -> bool {
        self.bytes.len() >= CHUNK_BYTES
    }

    /// Sends the lines gathered so far off to be decoded on another thread, first
    /// emitting the oldest decoded chunk when every worker has one in flight.
    fn flush(&mut self, router: &mut Router<'_>) {
        if self.bytes.is_empty() {
            return;
        }
        while !self.in_flight.is_empty() && self.in_flight.len() >= self.workers.len() {
            self.emit_oldest(router);
        }
        let next = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(CHUNK_BYTES + (1 << 20)));
        let job = Decoded {
            bytes: std::mem::replace(&mut self.bytes, next),
            first_line: self.first_line,
            batch: None,
        };
        let job = match self.workers.get(self.next_worker) {
            Some(w) => match w.jobs.send(job) {
                Ok(()) => {
                    self.in_flight.push_back(self.next_worker);
                    self.next_worker = (self.next_worker + 1) % self.workers.len();
                    return;
                }
                Err(e) => e.0,
            },
            None => job,
        };
        // No worker to take it: decode here.
        self.drain(router);
        let d = job.decode(&self.schema, router.opts.max_value_bytes);
        self.emit(router, d);
    }

    /// Emits every chunk still decoding, in order.
    fn drain(&mut self, router: &mut Router<'_>) {
        while !self.in_flight.is_empty() {
            self.emit_oldest(router);
        }
    }

    fn emit_oldest(&mut self, router: &mut Router<'_>) {
        let Some(w) = self.in_flight.pop_front() else {
            return;
        };
        match self.workers.get(w).map(|w| w.done.recv()) {
            Some(Ok(d)) => self.emit(router, d),
            // Workers catch panics and live as long as this chunk: cannot happen.
            _ => router.reject(
                0,
                None,
                "internal error: a JSON decoding thread stopped".to_string(),
                None,
            ),
        }
    }

    /// The chunk's rows: the decoded batch, or row by row through the general path.
    fn emit(&mut self, router: &mut Router<'_>, d: Decoded) {
        match d.batch {
            Some(batch) => router.emit(&self.table, batch),
            None => {
                let table = self.table.clone();
                for (line_no, line) in lines(&d.bytes, d.first_line) {
                    match parse_object(line) {
                        Ok(obj) => router.json_row(&table, line_no, &obj, line),
                        Err(reason) => router.reject(line_no, None, reason, Some(line)),
                    }
                }
            }
        }
        let mut bytes = d.bytes;
        bytes.clear();
        self.spare.push(bytes);
    }
}

/// A chunk's lines: (line number, text without its line break), blank ones left out.
fn lines(bytes: &[u8], first_line: usize) -> impl Iterator<Item = (usize, &[u8])> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let ends = memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len()));
    let mut start = 0;
    ends.enumerate()
        .map(move |(i, end)| {
            let l = &body[start..end];
            start = end + 1;
            (first_line + i, l.strip_suffix(b"\r").unwrap_or(l))
        })
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
}

/// The chunk as one batch of the table's schema, or `None` when the general path must
/// decide (anything Arrow's decoder rejects, a row count that differs from the lines,
/// a value over the size limit). Strings are never null: absent or `null` text is "".
fn decode_chunk(
    bytes: &[u8],
    schema: &SchemaRef,
    lines: usize,
    max_value_bytes: usize,
) -> Option<RecordBatch> {
    let mut decoder = datafusion::arrow::json::ReaderBuilder::new(schema.clone())
        .with_strict_mode(true)
        .with_batch_size(lines + 1)
        .build_decoder()
        .ok()?;
    let used = decoder.decode(bytes).ok()?;
    if used != bytes.len() {
        return None;
    }
    let batch = decoder.flush().ok()??;
    if batch.num_rows() != lines {
        return None;
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for col in batch.columns() {
        if col.data_type() == &DataType::Utf8 {
            let strings = col.as_string::<i32>();
            let offsets = strings.value_offsets();
            if offsets
                .windows(2)
                .any(|w| (w[1] - w[0]) as usize > max_value_bytes)
            {
                return None;
            }
            if strings.null_count() > 0 {
                let filled: StringArray = strings.iter().map(|v| Some(v.unwrap_or(""))).collect();
                columns.push(Arc::new(filled));
                continue;
            }
        }
        columns.push(col.clone());
    }
    RecordBatch::try_new(schema.clone(), columns).ok()
}
