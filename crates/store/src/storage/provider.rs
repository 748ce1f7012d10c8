//! The query path: a DataFusion `TableProvider` over a snapshot of one table.
//!
//! Each scan takes a fresh snapshot (manifest version + memtable batches), keeps the
//! segments whose min/max time can satisfy the pushed-down time filters, and plans the
//! union of a standard DataFusion Parquet scan over them (so projection, row-group and
//! page pruning, bloom filters and late materialisation come from DataFusion) and an
//! in-memory scan of the memtable. Filters are reported `Inexact`: DataFusion still
//! applies them to every row, the store only uses them to skip files.

use super::manifest::{Manifest, Segment};
use super::schema::{conform, Fit};
use super::segment::SegmentStore;
use super::table::{Snapshot, TableShared};
use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{DataFusionError, ScalarValue, Statistics};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::logical_expr::{
    Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown, TableType,
};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::ExecutionPlan;
use engine::types::cast_batch;
use std::sync::Arc;

/// What the last scan of a table read and skipped (for `clickhunt query --explain`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub table: String,
    pub manifest_version: u64,
    /// Inclusive time bounds (ns since the epoch) derived from the pushed-down
    /// filters; `None` is unbounded.
    pub time_from: Option<i64>,
    pub time_to: Option<i64>,
    /// Segment paths relative to the table directory.
    pub files_scanned: Vec<String>,
    pub files_pruned: Vec<String>,
    pub rows_in_scanned_files: u64,
    pub rows_in_pruned_files: u64,
    pub memtable_batches: usize,
    pub memtable_rows: usize,
}

/// Pins a snapshot's segments for as long as DataFusion holds the scan, so a
/// compaction finishing mid-query cannot delete a file being read.
struct SnapshotPin(#[allow(dead_code)] Arc<Manifest>);

#[derive(Debug)]
pub(crate) struct StoreTable {
    pub(crate) table: Arc<TableShared>,
    pub(crate) segments: Arc<SegmentStore>,
    /// Fixed when the provider is made: the engine registered these columns.
    pub(crate) schema: SchemaRef,
    /// `schema` with text columns as `Utf8View`, what scans produce: Parquet's
    /// dictionary pages then decode to views into the dictionary instead of copying
    /// every value's bytes.
    pub(crate) view_schema: SchemaRef,
    pub(crate) read_only: bool,
}

#[async_trait]
impl TableProvider for StoreTable {
    fn schema(&self) -> SchemaRef {
        self.view_schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        if self.read_only {
            self.table
                .refresh_read_only()
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
        }
        let snap = self.table.snapshot();
        let time_col =
            super::schema::time_column(&self.schema).map(|i| self.schema.field(i).name().clone());
        let (from, to) = match &time_col {
            Some(name) => time_bounds(filters, name),
            None => (None, None),
        };
        let (scanned, pruned): (Vec<&Arc<Segment>>, Vec<&Arc<Segment>>) = snap
            .manifest
            .segments
            .iter()
            .partition(|s| may_overlap(s, from, to));
        let stats = ScanStats {
            table: self.table.name.clone(),
            manifest_version: snap.manifest.version,
            time_from: from,
            time_to: to,
            files_scanned: scanned.iter().map(|s| s.path.clone()).collect(),
            files_pruned: pruned.iter().map(|s| s.path.clone()).collect(),
            rows_in_scanned_files: scanned.iter().map(|s| s.rows).sum(),
            rows_in_pruned_files: pruned.iter().map(|s| s.rows).sum(),
            memtable_batches: snap.batches.len(),
            memtable_rows: snap.batches.iter().map(|b| b.num_rows()).sum(),
        };

        let target = state.config().target_partitions().max(1);
        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        if !scanned.is_empty() {
            inputs.push(
                self.parquet_scan(state, &snap, &scanned, projection, limit, target)
                    .await?,
            );
        }
        if !snap.batches.is_empty() {
            inputs.push(self.memory_scan(&snap.batches, projection, limit, target)?);
        }
        *self
            .table
            .last_scan
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(stats);
        if inputs.is_empty() {
            let projected = match projection {
                Some(p) => Arc::new(self.view_schema.project(p)?),
                None => self.view_schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        UnionExec::try_new(inputs)
    }
}

impl StoreTable {
    async fn parquet_scan(
        &self,
        state: &dyn Session,
        snap: &Snapshot,
        files: &[&Arc<Segment>],
        projection: Option<&Vec<usize>>,
        limit: Option<usize>,
        target: usize,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let url = &self.segments.url;
        state
            .runtime_env()
            .register_object_store(url.as_ref(), self.segments.store.clone());
        // Spread files over `target` groups, largest first onto the lightest group.
        let mut order: Vec<&&Arc<Segment>> = files.iter().collect();
        order.sort_by_key(|s| std::cmp::Reverse(s.bytes));
        let n = target.min(files.len());
        let mut groups: Vec<(u64, Vec<PartitionedFile>, u64)> = vec![(0, Vec::new(), 0); n];
        for seg in order {
            let path = SegmentStore::object_path(&self.table.name, &seg.path);
            let file = PartitionedFile::new(path.to_string(), seg.bytes)
                .with_statistics(Arc::new(self.row_statistics(seg.rows, seg.bytes)))
                .with_extension(SnapshotPin(snap.manifest.clone()));
            if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
                g.0 += seg.bytes;
                g.1.push(file);
                g.2 += seg.rows;
            }
        }
        // Row counts let the optimizer put the smaller side of a join on its build side
        // (a 500-row watchlist, not 10 million clicks).
        let rows: u64 = files.iter().map(|s| s.rows).sum();
        let bytes: u64 = files.iter().map(|s| s.bytes).sum();
        let groups: Vec<FileGroup> = groups
            .into_iter()
            .map(|(b, f, r)| FileGroup::new(f).with_statistics(Arc::new(self.row_statistics(r, b))))
            .collect();
        let source = Arc::new(ParquetSource::new(self.view_schema.clone()));
        let conf = FileScanConfigBuilder::new(url.clone(), source)
            .with_statistics(self.row_statistics(rows, bytes))
            .with_file_groups(groups)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        ParquetFormat::default()
            .with_options(state.table_options().parquet.clone())
            .create_physical_plan(state, conf)
            .await
    }

    /// Exact row count and approximate size; nothing known per column.
    fn row_statistics(&self, rows: u64, bytes: u64) -> Statistics {
        let mut stats = Statistics::new_unknown(&self.view_schema);
        stats.num_rows = Precision::Exact(usize::try_from(rows).unwrap_or(usize::MAX));
        stats.total_byte_size = Precision::Inexact(usize::try_from(bytes).unwrap_or(usize::MAX));
        stats
    }

    fn memory_scan(
        &self,
        batches: &[RecordBatch],
        projection: Option<&Vec<usize>>,
        limit: Option<usize>,
        target: usize,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let n = target.min(batches.len()).max(1);
        let mut partitions: Vec<Vec<RecordBatch>> = vec![Vec::new(); n];
        for (i, b) in batches.iter().enumerate() {
            // Batches older than a `.create-merge` lack its columns: fill them in.
            let b = conform(b, &self.schema, Fit::Lenient)
                .and_then(|b| cast_batch(&b, &self.view_schema).map_err(|e| e.to_string()))
                .map_err(|e| {
                    DataFusionError::Execution(format!("table `{}`: {e}", self.table.name))
                })?;
            partitions[i % n].push(b);
        }
        let source = MemorySourceConfig::try_new(
            &partitions,
            self.view_schema.clone(),
            projection.cloned(),
        )?
        .with_limit(limit);
        Ok(datafusion::datasource::source::DataSourceExec::from_data_source(source))
    }
}

fn may_overlap(s: &Segment, from: Option<i64>, to: Option<i64>) -> bool {
    let below = matches!((s.max_ts, from), (Some(max), Some(lo)) if max < lo);
    let above = matches!((s.min_ts, to), (Some(min), Some(hi)) if min > hi);
    !(below || above)
}

/// Inclusive `[from, to]` bounds on column `ts` implied by a conjunction of filters.
/// Anything not understood leaves the bounds open (pruning less is always correct).
pub(crate) fn time_bounds(filters: &[Expr], ts: &str) -> (Option<i64>, Option<i64>) {
    let mut b = (None, None);
    for f in filters {
        collect_bounds(f, ts, &mut b);
    }
    b
}

fn collect_bounds(e: &Expr, ts: &str, b: &mut (Option<i64>, Option<i64>)) {
    let lower =
        |v: i64, b: &mut (Option<i64>, Option<i64>)| b.0 = Some(b.0.map_or(v, |x: i64| x.max(v)));
    let upper =
        |v: i64, b: &mut (Option<i64>, Option<i64>)| b.1 = Some(b.1.map_or(v, |x: i64| x.min(v)));
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            if *op == Operator::And {
                collect_bounds(left, ts, b);
                collect_bounds(right, ts, b);
                return;
            }
            // Normalise to `column op literal`.
            let (op, lit) = if is_time_column(left, ts) {
                match literal_ns(right) {
                    Some(v) => (*op, v),
                    None => return,
                }
            } else if is_time_column(right, ts) {
                match (literal_ns(left), op.swap()) {
                    (Some(v), Some(op)) => (op, v),
                    _ => return,
                }
            } else {
                return;
            };
            match op {
                Operator::Gt => lower(lit.saturating_add(1), b),
                Operator::GtEq => lower(lit, b),
                Operator::Lt => upper(lit.saturating_sub(1), b),
                Operator::LtEq => upper(lit, b),
                Operator::Eq => {
                    lower(lit, b);
                    upper(lit, b);
                }
                _ => {}
            }
        }
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) if is_time_column(expr, ts) => {
            if let Some(v) = literal_ns(low) {
                lower(v, b);
            }
            if let Some(v) = literal_ns(high) {
                upper(v, b);
            }
        }
        _ => {}
    }
}

fn is_time_column(e: &Expr, ts: &str) -> bool {
    match e {
        Expr::Column(c) => c.name == ts,
        // Casting between timestamp units or zones keeps the instant order.
        Expr::Cast(c) if matches!(c.field.data_type(), DataType::Timestamp(..)) => {
            is_time_column(&c.expr, ts)
        }
        Expr::TryCast(c) if matches!(c.field.data_type(), DataType::Timestamp(..)) => {
            is_time_column(&c.expr, ts)
        }
        _ => false,
    }
}

fn literal_ns(e: &Expr) -> Option<i64> {
    let Expr::Literal(v, _) = e else {
        return None;
    };
    match v {
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampMicrosecond(Some(v), _) => Some(v.saturating_mul(1_000)),
        ScalarValue::TimestampMillisecond(Some(v), _) => Some(v.saturating_mul(1_000_000)),
        ScalarValue::TimestampSecond(Some(v), _) => Some(v.saturating_mul(1_000_000_000)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{col, lit};
    use datafusion::prelude::Column;

    fn ts(v: i64) -> Expr {
        lit(ScalarValue::TimestampNanosecond(
            Some(v),
            Some("UTC".into()),
        ))
    }

    fn c() -> Expr {
        Expr::Column(Column::new_unqualified("Timestamp"))
    }

    #[test]
    fn bounds_from_comparisons_and_between() {
        assert_eq!(
            time_bounds(&[c().gt(ts(10))], "Timestamp"),
            (Some(11), None)
        );
        assert_eq!(time_bounds(&[ts(10).gt(c())], "Timestamp"), (None, Some(9)));
        assert_eq!(
            time_bounds(
                &[c().gt_eq(ts(10)).and(c().lt(ts(20))), c().lt_eq(ts(15))],
                "Timestamp"
            ),
            (Some(10), Some(15))
        );
        assert_eq!(
            time_bounds(&[c().between(ts(3), ts(7))], "Timestamp"),
            (Some(3), Some(7))
        );
        assert_eq!(
            time_bounds(&[c().gt(ts(10)).or(c().lt(ts(2)))], "Timestamp"),
            (None, None)
        );
        assert_eq!(
            time_bounds(&[col("x").gt(ts(10))], "Timestamp"),
            (None, None)
        );
    }
}
