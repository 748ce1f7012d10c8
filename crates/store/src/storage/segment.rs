//! Parquet segments: how rows are split into day partitions, sorted, encoded, and moved
//! through the object store.
//!
//! Segments go through `object_store` (a `LocalFileSystem` rooted at the data directory
//! by default) so that an `s3://` root is a configuration change. Object paths are
//! `<Table>/segments/date=YYYY-MM-DD/<uuid-v7>.parquet`: hive-style, so other engines
//! (DuckDB, Spark, Trino) can read the directory as a partitioned table.

use super::error::{Result, StoreError};
use super::manifest::Segment;
use super::wal::sync_dir;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::{concat_batches, sort_to_indices, take_record_batch, SortOptions};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimestampNanosecondType};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::path::PathBuf;
use std::sync::Arc;

pub(crate) const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;
/// Dictionary pages up to this size keep repeated strings (Url, AccountUpn) dictionary
/// encoded; the parquet default (1 MiB) falls back to PLAIN at ~200k distinct URLs.
const DICTIONARY_PAGE_LIMIT: usize = 32 << 20;

/// Where segment files live, and how DataFusion finds them.
#[derive(Debug)]
pub(crate) struct SegmentStore {
    pub(crate) store: Arc<dyn ObjectStore>,
    /// Set when `store` is the local data directory: files are then fsynced, which
    /// `LocalFileSystem` itself does not do.
    local_root: Option<PathBuf>,
    /// The URL the store is registered under in a DataFusion runtime (unique per open
    /// store, so two stores in one process never see each other's files).
    pub(crate) url: ObjectStoreUrl,
}

impl SegmentStore {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, local_root: Option<PathBuf>) -> Result<Self> {
        let url = ObjectStoreUrl::parse(format!("clickhunt://{}", uuid::Uuid::now_v7().simple()))
            .map_err(|e| StoreError::Internal(format!("object store url: {e}")))?;
        Ok(SegmentStore {
            store,
            local_root,
            url,
        })
    }

    pub(crate) fn object_path(table: &str, rel: &str) -> ObjectPath {
        ObjectPath::from(format!("{table}/{rel}"))
    }

    /// Stores a finished segment durably.
    pub(crate) async fn put(&self, table: &str, rel: &str, bytes: Vec<u8>) -> Result<()> {
        let path = Self::object_path(table, rel);
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| StoreError::segment(path.to_string(), e))?;
        if let Some(root) = &self.local_root {
            let file = root.join(table).join(rel);
            let synced = std::fs::File::open(&file).and_then(|f| f.sync_all());
            synced.map_err(|e| StoreError::io(format!("syncing {}", file.display()), e))?;
            if let Some(day_dir) = file.parent() {
                sync_dir(day_dir)?;
                if let Some(seg_dir) = day_dir.parent() {
                    sync_dir(seg_dir)?;
                }
            }
        }
        Ok(())
    }

    /// Reads a whole segment in its own schema. Only compaction reads this way, and
    /// only small files, so the file is fetched in one request.
    pub(crate) async fn read(&self, table: &str, seg: &Segment) -> Result<Vec<RecordBatch>> {
        let path = Self::object_path(table, &seg.path);
        let err = |e: &dyn std::fmt::Display| StoreError::segment(path.to_string(), e);
        let bytes = self
            .store
            .get(&path)
            .await
            .map_err(|e| err(&e))?
            .bytes()
            .await
            .map_err(|e| err(&e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .map_err(|e| err(&e))?
            .build()
            .map_err(|e| err(&e))?;
        reader
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| err(&e))
    }

    /// Deletes a segment; one that is already gone counts as deleted.
    pub(crate) async fn delete(&self, table: &str, rel: &str) -> Result<()> {
        let path = Self::object_path(table, rel);
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(StoreError::segment(path.to_string(), e)),
        }
    }

    /// Every segment file under the table, as (path relative to the table, modified).
    pub(crate) async fn list(
        &self,
        table: &str,
    ) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>> {
        let prefix = ObjectPath::from(format!("{table}/segments"));
        let metas: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| StoreError::segment(prefix.to_string(), e))?;
        let table_prefix = format!("{table}/");
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                let p = m.location.to_string();
                let rel = p.strip_prefix(&table_prefix)?.to_string();
                rel.ends_with(".parquet").then_some((rel, m.last_modified))
            })
            .collect())
    }
}

/// Rows of one day, sorted by the time column.
pub(crate) struct DayPart {
    pub(crate) day: i64,
    pub(crate) batch: RecordBatch,
    pub(crate) min_ts: Option<i64>,
    pub(crate) max_ts: Option<i64>,
}

/// Concatenates `batches`, sorts by the time column (nulls first) and cuts the result
/// into day partitions. Rows without a time (or tables without a time column) go to
/// `fallback_day`, the day they were flushed.
pub(crate) fn partition_by_day(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    time_col: Option<usize>,
    fallback_day: i64,
) -> std::result::Result<Vec<DayPart>, String> {
    let all = concat_batches(schema, batches).map_err(|e| e.to_string())?;
    if all.num_rows() == 0 {
        return Ok(vec![]);
    }
    let Some(tc) = time_col else {
        return Ok(vec![DayPart {
            day: fallback_day,
            batch: all,
            min_ts: None,
            max_ts: None,
        }]);
    };
    let opts = SortOptions {
        descending: false,
        nulls_first: true,
    };
    let order = sort_to_indices(all.column(tc), Some(opts), None).map_err(|e| e.to_string())?;
    let sorted = take_record_batch(&all, &order).map_err(|e| e.to_string())?;
    let ts = datafusion::arrow::compute::cast(
        sorted.column(tc),
        &DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Nanosecond, None),
    )
    .map_err(|e| e.to_string())?;
    let ts = ts.as_primitive::<TimestampNanosecondType>();

    // Runs of equal day (nulls are a run of their own at the front).
    let day_of = |i: usize| (!ts.is_null(i)).then(|| ts.value(i).div_euclid(NANOS_PER_DAY));
    let mut parts: Vec<DayPart> = Vec::new();
    let mut start = 0;
    while start < sorted.num_rows() {
        let key = day_of(start);
        let mut end = start + 1;
        while end < sorted.num_rows() && day_of(end) == key {
            end += 1;
        }
        let slice = sorted.slice(start, end - start);
        let (min_ts, max_ts) = match key {
            Some(_) => (Some(ts.value(start)), Some(ts.value(end - 1))),
            None => (None, None),
        };
        let day = key.unwrap_or(fallback_day);
        match parts.iter_mut().find(|p| p.day == day) {
            // Only the null run can share a day with a dated run; nulls stay in front.
            Some(p) => {
                p.batch = concat_batches(schema, [&p.batch, &slice]).map_err(|e| e.to_string())?;
                p.min_ts = p.min_ts.or(min_ts);
                p.max_ts = max_ts.or(p.max_ts);
            }
            None => parts.push(DayPart {
                day,
                batch: slice,
                min_ts,
                max_ts,
            }),
        }
        start = end;
    }
    Ok(parts)
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
pub(crate) fn date_string(day: i64) -> String {
    chrono::DateTime::from_timestamp(day.saturating_mul(86_400), 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".into())
}

/// The day number of a `YYYY-MM-DD` partition name.
pub(crate) fn day_of_date(date: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(
        d.and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp()
            .div_euclid(86_400),
    )
}

/// A fresh path for a segment of `date`. uuid v7 sorts by creation time.
pub(crate) fn new_segment_path(date: &str) -> String {
    format!("segments/date={date}/{}.parquet", uuid::Uuid::now_v7())
}

/// Rows in a row group at most: a day of a busy table in one or two row groups, so
/// that each column's dictionary (and its zstd frame) is read once per file, not
/// once per small row group.
pub(crate) const MAX_ROW_GROUP_ROWS: usize = 1 << 20;

/// A Parquet writer for one day's file. `rows` sizes the bloom filters of each row
/// group. `sorted`: every row group is written sorted by time in one call (a bulk
/// load instead adds sorted runs to a row group, which is then sorted per page only).
pub(crate) fn day_writer(
    schema: &SchemaRef,
    time_col: Option<usize>,
    rows: usize,
    sorted: bool,
) -> std::result::Result<ArrowWriter<Vec<u8>>, String> {
    let props = writer_properties(schema, time_col, rows, sorted);
    ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props)).map_err(|e| e.to_string())
}

/// Encodes one sorted day partition as a Parquet file.
pub(crate) fn encode(
    batch: &RecordBatch,
    time_col: Option<usize>,
) -> std::result::Result<Vec<u8>, String> {
    let mut w = day_writer(&batch.schema(), time_col, batch.num_rows(), true)?;
    w.write(batch).map_err(|e| e.to_string())?;
    w.into_inner().map_err(|e| e.to_string())
}

/// zstd, page-level statistics (the page index that lets DataFusion skip pages of a
/// sorted file), large dictionary pages, delta-encoded time column, and bloom filters
/// on id-like columns so `ReportId == "..."` skips row groups.
fn writer_properties(
    schema: &SchemaRef,
    time_col: Option<usize>,
    rows: usize,
    sorted: bool,
) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_page_size_limit(DICTIONARY_PAGE_LIMIT)
        .set_created_by(format!("clickhunt {}", env!("CARGO_PKG_VERSION")));
    if let Some(tc) = time_col {
        let path = ColumnPath::from(schema.field(tc).name().as_str());
        b = b
            .set_column_dictionary_enabled(path.clone(), false)
            .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED);
        if sorted {
            b = b.set_sorting_columns(Some(vec![SortingColumn {
                column_idx: tc as i32,
                descending: false,
                nulls_first: true,
            }]));
        }
    }
    let ndv = (rows.min(MAX_ROW_GROUP_ROWS) as u64).max(1024);
    for f in schema.fields() {
        if f.data_type() == &DataType::Utf8 && is_id_like(f) {
            let path = ColumnPath::from(f.name().as_str());
            // Nearly unique: a dictionary would hold every value (hashing each on the
            // way in) and save nothing.
            b = b
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_bloom_filter_enabled(path.clone(), true)
                .set_column_bloom_filter_fpp(path.clone(), 0.01)
                .set_column_bloom_filter_max_ndv(path, ndv);
        }
    }
    b.build()
}

/// ReportId, NetworkMessageId, AlertId, SHA256, guid columns...: looked up by equality,
/// nearly unique, so a bloom filter pays for itself.
fn is_id_like(f: &datafusion::arrow::datatypes::Field) -> bool {
    let n = f.name();
    n.ends_with("Id")
        || n.ends_with("ID")
        || matches!(n.as_str(), "SHA1" | "SHA256" | "MD5")
        || f.metadata()
            .get(engine::types::KQL_TYPE_KEY)
            .map(String::as_str)
            == Some("guid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Int64Array, TimestampNanosecondArray};

    #[test]
    fn days_are_split_sorted_and_nulls_go_to_the_fallback_day() {
        let d = NANOS_PER_DAY;
        let ts = TimestampNanosecondArray::from(vec![
            Some(2 * d + 5),
            None,
            Some(d + 7),
            Some(2 * d + 1),
            Some(d + 3),
        ])
        .with_timezone("UTC");
        let b = RecordBatch::try_from_iter(vec![
            ("Timestamp", Arc::new(ts) as ArrayRef),
            ("N", Arc::new(Int64Array::from(vec![0, 1, 2, 3, 4]))),
        ])
        .unwrap();
        let parts = partition_by_day(&b.schema(), &[b], Some(0), 2).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].day, 2);
        assert_eq!(parts[0].batch.num_rows(), 3);
        assert_eq!(
            (parts[0].min_ts, parts[0].max_ts),
            (Some(2 * d + 1), Some(2 * d + 5))
        );
        assert_eq!(parts[1].day, 1);
        let n = parts[1]
            .batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(n.values().to_vec(), vec![4, 2]);
        assert_eq!(date_string(19808), "2024-03-26");
        assert_eq!(day_of_date("2024-03-26"), Some(19808));
    }
}
