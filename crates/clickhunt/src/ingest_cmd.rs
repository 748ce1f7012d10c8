//! `clickhunt ingest`: decodes files (Defender streaming records, portal CSV exports,
//! JSON lines, Parquet, any of them gzipped) and appends their rows to the store.
//! Each file is ingested whole or not at all, unless --skip-bad-rows is given.

use anyhow::{anyhow, Context, Result};
use engine::Col;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::catalog::Catalog;
use store::ingest::{self, DecodeOptions, Decoded, Format, NewTable, RowError};
use store::storage::Store;

#[derive(clap::Args)]
pub struct IngestArgs {
    /// The data directory (created if needed).
    #[arg(long, env = "CLICKHUNT_DATA", default_value = "clickhunt-data")]
    data: PathBuf,
    /// The table for JSON lines, CSV and Parquet input (default: each file's name up to
    /// its first dot). Defender streaming records name their own tables.
    #[arg(long)]
    table: Option<String>,
    /// Input format.
    #[arg(long, default_value = "auto", value_parser = ["auto", "defender", "jsonl", "csv", "parquet"])]
    format: String,
    /// Create tables that do not exist, with the columns inferred from the input.
    #[arg(long)]
    create_tables: bool,
    /// Ingest the valid rows and write the rejected ones (JSON lines: source, line,
    /// column, reason, record) to this file, instead of rejecting a file with bad rows.
    #[arg(long, value_name = "FILE")]
    skip_bad_rows: Option<PathBuf>,
    /// Files to ingest.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Inputs at least this large get a progress bar (on a terminal).
const PROGRESS_BYTES: u64 = 8 << 20;

pub fn run(args: IngestArgs) -> Result<bool> {
    let format: Format = args.format.parse().map_err(anyhow::Error::msg)?;
    let rt = crate::runtime()?;
    let store = Store::open(&args.data)
        .with_context(|| format!("cannot open the data directory {}", args.data.display()))?;
    let mut rejected_out = match &args.skip_bad_rows {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => None,
    };
    let mut totals: BTreeMap<String, usize> = BTreeMap::new();
    let mut all_ok = true;
    for path in &args.files {
        let bar = progress_bar(path);
        let opts = DecodeOptions {
            table: args.table.clone(),
            create_tables: args.create_tables,
            skip_bad_rows: args.skip_bad_rows.is_some(),
            progress: bar
                .clone()
                .map(|b| -> ingest::Progress { Arc::new(move |rows| b.set_position(rows)) }),
            ..DecodeOptions::default()
        };
        let catalog = store.catalog();
        let result = load_file(&rt, &store, &catalog, path, format, opts, bar.as_ref());
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        match result {
            Ok(report) => {
                print_file(path, &report);
                for (t, n) in &report.rows {
                    *totals.entry(t.clone()).or_default() += n;
                }
                if let Some(out) = &mut rejected_out {
                    write_rejected(out, &report.rejected)?;
                }
            }
            Err(e) => {
                all_ok = false;
                eprintln!("error: {e:#}");
            }
        }
    }
    if let Some(mut out) = rejected_out {
        out.flush()?;
    }
    rt.block_on(async {
        store.flush().await?;
        // Loads write a segment per day per stage; merging each day's small segments
        // now keeps queries from opening hundreds of files.
        store.compact().await?;
        store.close().await
    })
    .context("flushing and compacting the store")?;
    if args.files.len() > 1 {
        println!("total:");
        for (t, n) in &totals {
            println!("  {t:<24} {n:>12} rows");
        }
    }
    Ok(all_ok)
}

struct FileReport {
    rows: BTreeMap<String, usize>,
    rejected: Vec<RowError>,
    unknown: BTreeMap<String, usize>,
    created: Vec<String>,
    ignored: BTreeMap<String, Vec<String>>,
    format: Format,
}

/// Decodes `path` on a thread of its own while this one writes the rows of known
/// tables as they come, as a bulk load per table (straight to segments, visible
/// together at the end). A file that fails to decode leaves nothing behind.
fn load_file(
    rt: &tokio::runtime::Runtime,
    store: &Store,
    catalog: &Catalog,
    path: &Path,
    format: Format,
    mut opts: DecodeOptions,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<FileReport> {
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    opts.stream = Some(tx);
    let lookup = |t: &str| -> Option<Vec<Col>> { catalog.get(t).map(|d| d.columns.clone()) };
    let mut loads: BTreeMap<String, store::storage::BulkLoad> = BTreeMap::new();
    // Rows of tables the file creates: appended once the table exists.
    let mut later: Vec<(String, datafusion::arrow::record_batch::RecordBatch)> = Vec::new();
    let (decoded, loaded) = std::thread::scope(|s| {
        let decoder = s.spawn(move || ingest::decode_file(path, format, &opts, &lookup));
        let loaded = (|| -> Result<()> {
            for (table, batch) in rx.iter() {
                if catalog.get(&table).is_none() {
                    later.push((table, batch));
                    continue;
                }
                if !loads.contains_key(&table) {
                    let load = rt
                        .block_on(store.bulk_load(&table))
                        .with_context(|| format!("loading {table}"))?;
                    loads.insert(table.clone(), load);
                }
                if let Some(load) = loads.get_mut(&table) {
                    rt.block_on(load.add(batch))
                        .with_context(|| format!("writing {table}"))?;
                }
            }
            Ok(())
        })();
        // On a failure here, draining lets the decoder finish (its sends then fail).
        drop(rx);
        let decoded = decoder
            .join()
            .map_err(|_| anyhow!("{}: the decoder failed unexpectedly", path.display()))
            .and_then(|d| d.map_err(|e| anyhow!(e)));
        (decoded, loaded)
    });
    let abort_all = |loads: BTreeMap<String, store::storage::BulkLoad>| {
        rt.block_on(async {
            for (_, l) in loads {
                l.abort().await;
            }
        })
    };
    let d = match (decoded, loaded) {
        (Ok(d), Ok(())) => d,
        (Err(e), _) => {
            abort_all(loads);
            return Err(e);
        }
        (_, Err(e)) => {
            abort_all(loads);
            return Err(e);
        }
    };
    if let Some(b) = bar {
        b.set_message("committing");
    }
    rt.block_on(async {
        for (table, load) in loads {
            load.commit()
                .await
                .with_context(|| format!("committing the rows of {table}"))?;
        }
        let mut d = d;
        d.batches.extend(later);
        store_file(store, catalog, d, bar).await
    })
}

/// Creates the new tables, then appends every batch it holds.
async fn store_file(
    store: &Store,
    catalog: &Catalog,
    d: Decoded,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<FileReport> {
    let mut created = Vec::new();
    for t in &d.created {
        if catalog.get(&t.name).is_none() {
            store
                .execute_management(&create_table_command(t))
                .await
                .with_context(|| format!("creating table {}", t.name))?;
            created.push(format!("{} ({})", t.name, schema_text(&t.columns)));
        }
    }
    let rows = d.rows_by_table();
    let mut appended = 0u64;
    for (table, batch) in d.batches {
        appended += batch.num_rows() as u64;
        store
            .append(&table, batch)
            .await
            .with_context(|| format!("appending to {table}"))?;
        if let Some(b) = bar {
            b.set_message("appending");
            b.set_position(appended);
        }
    }
    Ok(FileReport {
        rows,
        rejected: d.rejected,
        unknown: d.unknown,
        created,
        ignored: d
            .ignored_columns
            .into_iter()
            .map(|(t, c)| (t, c.into_iter().collect()))
            .collect(),
        format: d.format,
    })
}

/// `.create table T (["A"]:string, ...)`, names quoted so any column name works.
fn create_table_command(t: &NewTable) -> String {
    let cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            format!(
                "[{}]:{}",
                serde_json::Value::String(c.name.clone()),
                c.ty.name()
            )
        })
        .collect();
    format!(".create table {} ({})", t.name, cols.join(", "))
}

fn schema_text(cols: &[Col]) -> String {
    cols.iter()
        .map(|c| format!("{}:{}", c.name, c.ty.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_file(path: &Path, r: &FileReport) {
    println!("{} ({}):", path.display(), r.format);
    for t in &r.created {
        println!("  created table {t}");
    }
    for (t, n) in &r.rows {
        println!("  {t:<24} {n:>12} rows");
    }
    if r.rows.is_empty() {
        println!("  no rows");
    }
    if !r.rejected.is_empty() {
        println!("  {:<24} {:>12} rows skipped (bad)", "", r.rejected.len());
    }
    for (t, n) in &r.unknown {
        eprintln!(
            "warning: {}: {n} record{} of table '{t}', which does not exist, not ingested (use --create-tables)",
            path.display(),
            if *n == 1 { "" } else { "s" }
        );
    }
    for (t, cols) in &r.ignored {
        eprintln!(
            "note: {}: columns not in table {t} were ignored: {}",
            path.display(),
            cols.join(", ")
        );
    }
}

fn write_rejected(out: &mut impl Write, rows: &[RowError]) -> Result<()> {
    for r in rows {
        let line = serde_json::json!({
            "source": r.source,
            "line": r.line,
            "column": r.column,
            "reason": r.reason,
            "record": r.raw,
        });
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn progress_bar(path: &Path) -> Option<indicatif::ProgressBar> {
    let big = std::fs::metadata(path).is_ok_and(|m| m.len() >= PROGRESS_BYTES);
    if !big || !std::io::stderr().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::new_spinner();
    b.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {prefix} {human_pos} rows {msg} [{elapsed}] {per_sec}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    b.set_prefix(path.display().to_string());
    b.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(b)
}
