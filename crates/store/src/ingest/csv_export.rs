//! CSV with a header row, as the advanced hunting portal exports it: CRLF line ends,
//! bools as `0`/`1`, empty fields for empty values, JSON in quoted fields with doubled
//! quotes, whole-second timestamps. Columns are matched by header name; table columns
//! the file lacks are empty; header columns the table lacks are listed as ignored.

use super::coerce::TypeGuess;
use super::error::IngestError;
use super::sink::Router;
use super::{detect, PlainTable};
use csv::ByteRecord;
use engine::Col;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::rc::Rc;

pub(crate) fn decode(
    input: impl Read,
    table: PlainTable,
    router: &mut Router<'_>,
    in_gzip: bool,
) -> Result<(), IngestError> {
    let source = router.source;
    let newlines = Rc::new(RefCell::new(VecDeque::new()));
    let input = NewlineTracker {
        inner: input,
        offset: 0,
        newlines: newlines.clone(),
    };
    let lines = Lines(newlines);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(input);
    let read_err = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(io) => super::read_error(source, io, in_gzip),
        other => IngestError::format(source, None, format!("CSV: {other:?}")),
    };
    let mut header = ByteRecord::new();
    if !rdr.read_byte_record(&mut header).map_err(read_err)? {
        return Err(IngestError::Empty {
            source_name: source.to_string(),
        });
    }
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = if i == 0 { detect::strip_bom(h) } else { h };
            String::from_utf8_lossy(h).trim().to_string()
        })
        .collect();

    let PlainTable { name, cols } = table;
    let mut rec = ByteRecord::new();
    let Some(cols) = cols else {
        // A new table: hold the rows, infer each column's type, then ingest them.
        let mut rows = Vec::new();
        while rdr.read_byte_record(&mut rec).map_err(read_err)? {
            // Keep the true line in the record's position for the second pass.
            let mut r = rec.clone();
            let mut pos = csv::Position::new();
            pos.set_line(lines.of(&rec) as u64);
            r.set_position(Some(pos));
            rows.push(r);
        }
        let cols = infer(&names, &rows);
        router.add_created(&name, cols.clone());
        let map = column_map(&cols, &names);
        for r in &rows {
            let line = r.position().map_or(0, |p| p.line() as usize);
            row(router, &name, &names, &map, r, line);
        }
        return Ok(());
    };

    let map = column_map(&cols, &names);
    if map.iter().all(Option::is_none) {
        return Err(IngestError::format(
            source,
            Some(1),
            format!(
                "no column of the header is a column of table '{name}' (header: {})",
                super::error::preview(&names.join(","))
            ),
        ));
    }
    for n in &names {
        if !cols.iter().any(|c| &c.name == n) {
            router.note_ignored(&name, n);
        }
    }
    router.add_table(&name, cols);
    while rdr.read_byte_record(&mut rec).map_err(read_err)? {
        row(router, &name, &names, &map, &rec, lines.of(&rec));
    }
    Ok(())
}

/// For each table column, its field index in the header (first match).
fn column_map(cols: &[Col], names: &[String]) -> Vec<Option<usize>> {
    cols.iter()
        .map(|c| names.iter().position(|n| n == &c.name))
        .collect()
}

fn row(
    router: &mut Router<'_>,
    table: &str,
    names: &[String],
    map: &[Option<usize>],
    rec: &ByteRecord,
    line: usize,
) {
    if rec.len() != names.len() {
        let reason = format!(
            "expected {} fields (as in the header), found {}",
            names.len(),
            rec.len()
        );
        return router.reject(line, None, reason, Some(&reencode(rec)));
    }
    let mut fields: Vec<Option<&str>> = Vec::with_capacity(map.len());
    for m in map {
        let f = match m {
            Some(i) => match std::str::from_utf8(&rec[*i]) {
                Ok(s) => Some(s),
                Err(e) => {
                    let reason = format!(
                        "not valid UTF-8 (byte {} of the field)",
                        e.valid_up_to() + 1
                    );
                    return router.reject(line, Some(&names[*i]), reason, Some(&reencode(rec)));
                }
            },
            None => None,
        };
        fields.push(f);
    }
    router.text_row(table, line, &fields, || reencode(rec));
}

/// The record as one CSV line, for the rejected-rows file.
fn reencode(rec: &ByteRecord) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = w.write_byte_record(rec);
    let mut out = w.into_inner().unwrap_or_default();
    while let Some(b'\n' | b'\r') = out.last() {
        out.pop();
    }
    out
}

fn infer(names: &[String], rows: &[ByteRecord]) -> Vec<Col> {
    let mut seen = std::collections::HashSet::new();
    names
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.is_empty() && seen.insert(n.as_str()))
        .map(|(i, n)| {
            let mut g = TypeGuess::default();
            for r in rows {
                if let Some(Ok(s)) = r.get(i).map(std::str::from_utf8) {
                    g.text(s);
                }
            }
            Col::new(n.as_str(), g.finish())
        })
        .collect()
}

/// Remembers where the `\n` bytes are (only those not yet passed), because the csv
/// crate's record positions lag one line behind after a CRLF: a record's position is
/// the `\n` of the CRLF before it, not yet counted as a line.
struct NewlineTracker<R> {
    inner: R,
    offset: u64,
    newlines: Rc<RefCell<VecDeque<u64>>>,
}

impl<R: Read> Read for NewlineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut q = self.newlines.borrow_mut();
        for (i, _) in buf[..n].iter().enumerate().filter(|(_, &c)| c == b'\n') {
            q.push_back(self.offset + i as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

struct Lines(Rc<RefCell<VecDeque<u64>>>);

impl Lines {
    /// The 1-based line where `rec` starts (records must be asked in order).
    fn of(&self, rec: &ByteRecord) -> usize {
        let Some(p) = rec.position() else {
            return 0;
        };
        let mut q = self.0.borrow_mut();
        while q.front().is_some_and(|&o| o < p.byte()) {
            q.pop_front();
        }
        let on_newline = q.front() == Some(&p.byte());
        p.line() as usize + on_newline as usize
    }
}
