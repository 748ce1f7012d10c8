//! The durable event store: the table catalog (built-in Defender schemas and user
//! tables), the write path (WAL with group commit → memtable → zstd Parquet segments in
//! day partitions, a versioned manifest), the query path (a DataFusion `TableProvider`
//! over a snapshot), and the ingest decoders and synthetic data generator that feed it.

pub mod catalog;
pub mod generate;
pub mod ingest;
pub mod storage;
