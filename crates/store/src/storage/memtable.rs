//! The memtable: acknowledged rows not yet in a Parquet segment, queryable at once.
//!
//! Batches are kept as appended (in WAL order). Streams of tiny appends (one click per
//! append from the gateway) are coalesced so a scan does not walk thousands of
//! one-row batches.

use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;
use std::time::Instant;

/// Tail batches smaller than this are candidates for coalescing...
const SMALL_BATCH_ROWS: usize = 1024;
/// ...once this many of them have piled up.
const COALESCE_AFTER: usize = 64;

#[derive(Debug, Default, Clone)]
pub(crate) struct Memtable {
    batches: Vec<RecordBatch>,
    bytes: usize,
    rows: usize,
    /// When the oldest row arrived: the age threshold for flushing counts from here.
    since: Option<Instant>,
}

impl Memtable {
    pub(crate) fn push(&mut self, batch: RecordBatch) {
        if batch.num_rows() == 0 {
            return;
        }
        self.rows += batch.num_rows();
        self.bytes += batch.get_array_memory_size();
        self.since.get_or_insert_with(Instant::now);
        self.batches.push(batch);
        self.coalesce_tail();
    }

    fn coalesce_tail(&mut self) {
        let small = self
            .batches
            .iter()
            .rev()
            .take_while(|b| b.num_rows() < SMALL_BATCH_ROWS)
            .count();
        if small < COALESCE_AFTER {
            return;
        }
        let start = self.batches.len() - small;
        let schema = self.batches[start].schema();
        if self.batches[start..].iter().any(|b| b.schema() != schema) {
            return;
        }
        if let Ok(merged) = concat_batches(&schema, &self.batches[start..]) {
            self.batches.truncate(start);
            self.batches.push(merged);
            self.bytes = self.batches.iter().map(|b| b.get_array_memory_size()).sum();
        }
    }

    pub(crate) fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn age(&self) -> Option<std::time::Duration> {
        self.since.map(|t| t.elapsed())
    }

    /// Moves everything out, leaving an empty memtable.
    pub(crate) fn take(&mut self) -> Memtable {
        std::mem::take(self)
    }

    /// Appends `other` after this memtable's batches (keeps the older age).
    pub(crate) fn extend(&mut self, other: Memtable) {
        self.rows += other.rows;
        self.bytes += other.bytes;
        self.since = match (self.since, other.since) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.batches.extend(other.batches);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use std::sync::Arc;

    #[test]
    fn tiny_appends_are_coalesced_in_order() {
        let mut m = Memtable::default();
        for i in 0..200i64 {
            m.push(
                RecordBatch::try_from_iter(vec![("a", Arc::new(Int64Array::from(vec![i])) as _)])
                    .unwrap(),
            );
        }
        assert_eq!(m.rows(), 200);
        assert!(m.batches().len() < 70, "{}", m.batches().len());
        let all: Vec<i64> = m
            .batches()
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(all, (0..200).collect::<Vec<_>>());
    }
}
