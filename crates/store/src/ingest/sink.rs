//! Where decoded rows go: one [`TableSink`] (Arrow builders) per table, and the
//! [`Router`] that finds a row's table, keeps the rejected rows, counts the records of
//! unknown tables and, with `create_tables`, holds them until their columns are inferred.

use super::coerce::{from_json, from_text, Cell, ColumnBuilder, TypeGuess};
use super::error::{IngestError, RowError, MAX_LISTED_ROW_ERRORS};
use super::{DecodeOptions, Decoded, Format, NewTable, SchemaLookup};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use engine::{Col, Engine};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

type JsonObject = Map<String, Json>;

/// Builds one table's batches row by row.
pub(crate) struct TableSink {
    cols: Vec<Col>,
    schema: SchemaRef,
    index: HashMap<String, usize>,
    builders: Vec<ColumnBuilder>,
    rows: usize,
    capacity: usize,
}

/// A row that did not fit the table: (column, reason).
pub(crate) type CellError = (String, String);

impl TableSink {
    pub(crate) fn new(cols: Vec<Col>, capacity: usize) -> TableSink {
        let capacity = capacity.clamp(1, 1 << 16);
        TableSink {
            schema: Engine::arrow_schema(&cols),
            index: cols
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.clone(), i))
                .collect(),
            builders: cols
                .iter()
                .map(|c| ColumnBuilder::new(c.ty, capacity.min(1024)))
                .collect(),
            cols,
            rows: 0,
            capacity,
        }
    }

    pub(crate) fn cols(&self) -> &[Col] {
        &self.cols
    }

    pub(crate) fn has_column(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Appends a JSON row (columns by name; absent keys are empty). All or nothing.
    pub(crate) fn push_json(&mut self, obj: &JsonObject, max: usize) -> Result<(), CellError> {
        let mut cells = Vec::with_capacity(self.cols.len());
        for c in &self.cols {
            cells.push(from_json(obj.get(&c.name), c.ty, max).map_err(|r| (c.name.clone(), r))?);
        }
        self.append(cells);
        Ok(())
    }

    /// Appends a text row; `fields[i]` is column `i`'s text (`None`: not in the input).
    pub(crate) fn push_text(
        &mut self,
        fields: &[Option<&str>],
        max: usize,
    ) -> Result<(), CellError> {
        let mut cells = Vec::with_capacity(self.cols.len());
        for (c, f) in self.cols.iter().zip(fields) {
            cells.push(from_text(f.unwrap_or(""), c.ty, max).map_err(|r| (c.name.clone(), r))?);
        }
        self.append(cells);
        Ok(())
    }

    fn append(&mut self, cells: Vec<Cell<'_>>) {
        for (b, cell) in self.builders.iter_mut().zip(cells) {
            b.append(cell);
        }
        self.rows += 1;
    }

    pub(crate) fn is_full(&self) -> bool {
        self.rows >= self.capacity
    }

    /// The rows appended since the last call, as a batch of the table's Arrow schema.
    pub(crate) fn take_batch(&mut self) -> Option<RecordBatch> {
        if self.rows == 0 {
            return None;
        }
        self.rows = 0;
        let arrays = self.builders.iter_mut().map(|b| b.finish()).collect();
        // The builders follow the schema's types, so this cannot fail; a failure would be
        // a bug, and losing the rows silently would be worse than reporting nothing.
        RecordBatch::try_new(self.schema.clone(), arrays).ok()
    }
}

/// A JSON row held back until its new table's columns are known.
struct PendingRow {
    line: usize,
    obj: JsonObject,
    raw: Vec<u8>,
}

pub(crate) struct Router<'a> {
    pub(crate) source: &'a str,
    pub(crate) opts: &'a DecodeOptions,
    schema_of: SchemaLookup<'a>,
    sinks: BTreeMap<String, TableSink>,
    pending: BTreeMap<String, Vec<PendingRow>>,
    unknown: BTreeMap<String, usize>,
    batches: Vec<(String, RecordBatch)>,
    rejected: Vec<RowError>,
    bad_total: usize,
    ignored: BTreeMap<String, BTreeSet<String>>,
    created: Vec<NewTable>,
    rows: u64,
    reported_rows: u64,
    output_rows: BTreeMap<String, usize>,
}

impl<'a> Router<'a> {
    pub(crate) fn new(
        source: &'a str,
        opts: &'a DecodeOptions,
        schema_of: SchemaLookup<'a>,
    ) -> Self {
        Router {
            source,
            opts,
            schema_of,
            sinks: BTreeMap::new(),
            pending: BTreeMap::new(),
            unknown: BTreeMap::new(),
            batches: Vec::new(),
            rejected: Vec::new(),
            bad_total: 0,
            ignored: BTreeMap::new(),
            created: Vec::new(),
            rows: 0,
            reported_rows: 0,
            output_rows: BTreeMap::new(),
        }
    }

    pub(crate) fn schema_of(&self, table: &str) -> Option<Vec<Col>> {
        (self.schema_of)(table)
    }

    /// Once a row was bad in the default mode nothing will be ingested, so the rest of
    /// the input is only checked, not built.
    fn building(&self) -> bool {
        self.bad_total == 0 || self.opts.skip_bad_rows
    }

    pub(crate) fn reject(
        &mut self,
        line: usize,
        column: Option<&str>,
        reason: String,
        raw: Option<&[u8]>,
    ) {
        self.bad_total += 1;
        if self.opts.skip_bad_rows || self.rejected.len() < MAX_LISTED_ROW_ERRORS {
            self.rejected.push(RowError {
                source: self.source.to_string(),
                line,
                column: column.map(str::to_string),
                reason,
                raw: raw.map(|r| String::from_utf8_lossy(r).into_owned()),
            });
        }
    }

    /// Adds a sink for `table` with these columns (a plain format's one table).
    pub(crate) fn add_table(&mut self, table: &str, cols: Vec<Col>) {
        let cap = self.opts.batch_rows;
        self.sinks
            .entry(table.to_string())
            .or_insert_with(|| TableSink::new(cols, cap));
    }

    /// Records that `table` is new and must be created with these columns.
    pub(crate) fn add_created(&mut self, table: &str, cols: Vec<Col>) {
        self.created.push(NewTable {
            name: table.to_string(),
            columns: cols.clone(),
        });
        self.add_table(table, cols);
    }

    /// Routes one JSON row to `table`: a known table gets it; an unknown one is counted,
    /// or held for column inference when `create_tables` is set.
    pub(crate) fn json_row(&mut self, table: &str, line: usize, obj: &JsonObject, raw: &[u8]) {
        if !self.sinks.contains_key(table) {
            if let Some(cols) = self.schema_of(table) {
                self.add_table(table, cols);
            } else if self.opts.create_tables && super::valid_table_name(table) {
                self.pending
                    .entry(table.to_string())
                    .or_default()
                    .push(PendingRow {
                        line,
                        obj: obj.clone(),
                        raw: raw.to_vec(),
                    });
                return;
            } else {
                *self.unknown.entry(table.to_string()).or_default() += 1;
                return;
            }
        }
        self.push_json(table, line, obj, raw);
    }

    fn push_json(&mut self, table: &str, line: usize, obj: &JsonObject, raw: &[u8]) {
        let max = self.opts.max_value_bytes;
        let building = self.building();
        let Some(sink) = self.sinks.get_mut(table) else {
            return;
        };
        for k in obj.keys() {
            if !sink.has_column(k) {
                let set = self.ignored.entry(table.to_string()).or_default();
                if !set.contains(k) {
                    set.insert(k.clone());
                }
            }
        }
        if !building {
            // Still check the row, to report every bad one.
            let ok = sink.cols().iter().try_for_each(|c| {
                from_json(obj.get(&c.name), c.ty, max)
                    .map(drop)
                    .map_err(|r| (c.name.clone(), r))
            });
            if let Err((col, reason)) = ok {
                self.reject(line, Some(&col), reason, Some(raw));
            }
            return;
        }
        match sink.push_json(obj, max) {
            Ok(()) => self.row_added(table),
            Err((col, reason)) => self.reject(line, Some(&col), reason, Some(raw)),
        }
    }

    /// Appends a text row to `table` (which has a sink).
    pub(crate) fn text_row(
        &mut self,
        table: &str,
        line: usize,
        fields: &[Option<&str>],
        raw: impl FnOnce() -> Vec<u8>,
    ) {
        let max = self.opts.max_value_bytes;
        let Some(sink) = self.sinks.get_mut(table) else {
            return;
        };
        match sink.push_text(fields, max) {
            Ok(()) => self.row_added(table),
            Err((col, reason)) => {
                let raw = raw();
                self.reject(line, Some(&col), reason, Some(&raw));
            }
        }
    }

    fn row_added(&mut self, table: &str) {
        self.rows += 1;
        if let Some(sink) = self.sinks.get_mut(table) {
            if sink.is_full() {
                if let Some(b) = sink.take_batch() {
                    self.output(table.to_string(), b);
                }
            }
        }
        if self.rows - self.reported_rows >= 4096 {
            self.report_progress();
        }
    }

    /// A finished batch: to the options' stream when there is one, else kept.
    fn output(&mut self, table: String, batch: RecordBatch) {
        *self.output_rows.entry(table.clone()).or_default() += batch.num_rows();
        match &self.opts.stream {
            // A closed stream means its consumer failed; it reports why.
            Some(tx) => drop(tx.send((table, batch))),
            None => self.batches.push((table, batch)),
        }
    }

    /// Adds a batch built elsewhere (Parquet), already in the table's schema.
    pub(crate) fn emit(&mut self, table: &str, batch: RecordBatch) {
        if batch.num_rows() == 0 || !self.building() {
            return;
        }
        self.rows += batch.num_rows() as u64;
        // Rows built row by row before this batch come first: input order is kept.
        if let Some(earlier) = self.sinks.get_mut(table).and_then(TableSink::take_batch) {
            self.output(table.to_string(), earlier);
        }
        self.output(table.to_string(), batch);
        self.report_progress();
    }

    pub(crate) fn note_ignored(&mut self, table: &str, column: &str) {
        self.ignored
            .entry(table.to_string())
            .or_default()
            .insert(column.to_string());
    }

    fn report_progress(&mut self) {
        self.reported_rows = self.rows;
        if let Some(p) = &self.opts.progress {
            p(self.rows);
        }
    }

    pub(crate) fn finish(mut self, format: Format) -> Result<Decoded, IngestError> {
        self.create_pending();
        if self.bad_total > 0 && !self.opts.skip_bad_rows {
            return Err(IngestError::BadRows {
                source_name: self.source.to_string(),
                total: self.bad_total,
                rows: self.rejected,
            });
        }
        let names: Vec<String> = self.sinks.keys().cloned().collect();
        for name in names {
            if let Some(b) = self.sinks.get_mut(&name).and_then(TableSink::take_batch) {
                self.output(name, b);
            }
        }
        self.report_progress();
        Ok(Decoded {
            format,
            batches: self.batches,
            rows: self.output_rows,
            rejected: self.rejected,
            unknown: self.unknown,
            created: self.created,
            ignored_columns: self.ignored,
        })
    }

    /// Infers the columns of each new table from its held rows, then ingests them.
    fn create_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for (table, rows) in pending {
            let mut names: Vec<&String> = Vec::new();
            let mut guesses: HashMap<&String, TypeGuess> = HashMap::new();
            for r in &rows {
                for (k, v) in &r.obj {
                    guesses
                        .entry(k)
                        .or_insert_with(|| {
                            names.push(k);
                            TypeGuess::default()
                        })
                        .json(v);
                }
            }
            let cols: Vec<Col> = names
                .iter()
                .map(|n| Col::new(n.as_str(), guesses[n].finish()))
                .collect();
            self.add_created(&table, cols);
            for r in &rows {
                self.push_json(&table, r.line, &r.obj, &r.raw);
            }
        }
    }
}
