//! Synthetic, linked Defender data: EmailEvents → EmailUrlInfo → UrlClickEvents by
//! NetworkMessageId, shaped after the real records in `shared/design/DOMAIN.md`.
//!
//! - ActionType: ClickAllowed dominant (~88 %), then ClickBlocked (~7 %),
//!   UrlScanInProgress (~2 %), ClickBlockedByTenantPolicy (~2 %), UrlErrorPage (~1 %).
//! - Verdicts Phish/Malware/Spam with DetectionMethods JSON strings such as
//!   `{"Phish":["URL detonation reputation"]}` on blocked clicks and detected mail.
//! - Click-through: 8 % of ClickBlocked/UrlScanInProgress clicks get a second row with
//!   the same ReportId and IsClickedThrough = true, a few seconds to two minutes later.
//! - Workload Email (80 %), Teams, Office, Copilot; Email clicks carry their message's
//!   NetworkMessageId and SourceId = NetworkMessageId, AppName `Mail`, AppVersion
//!   `0.0.0000`; clicks before June 2024 lack the three newer columns, as old records do.
//! - Zipf-popular URLs, domains, senders and users; IPv4 and IPv6 client addresses;
//!   lower-case UPNs; UrlChain a JSON array string (`","` before 2025, `", "` after).
//! - Times follow a working-day rhythm (busy UTC office hours, quiet weekends) over the
//!   `days` before `end`, at 100 ns ticks.
//!
//! Deterministic: a seed gives the same rows, whatever the thread count, because each
//! chunk of rows has its own random stream derived from (seed, chunk index). Columns
//! are appended with Arrow builders; no row goes through serde.

mod tables;
mod world;
mod write;

pub use tables::GeneratedChunk;
pub use write::FileFormat;

use datafusion::arrow::record_batch::RecordBatch;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant};
use world::{Clock, World};

/// The tables the generator fills, in the order they are linked.
pub const GENERATED_TABLES: [&str; 3] = ["EmailEvents", "EmailUrlInfo", "UrlClickEvents"];

/// Clicks per day when only a number of days is given.
pub const DEFAULT_CLICKS_PER_DAY: u64 = 20_000;

/// 2026-07-20T00:00:00Z: the default end of the generated window (fixed, so that a
/// seed alone reproduces a data set).
pub const DEFAULT_END: i64 = 1_784_505_600_000_000_000;

#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub seed: u64,
    /// UrlClickEvents rows; EmailEvents and EmailUrlInfo get about 1.1× and 3.4× as many.
    pub clicks: u64,
    /// The window's length, ending at `end`.
    pub days: u32,
    /// End of the window, nanoseconds since the Unix epoch (exclusive).
    pub end: i64,
    /// Clicks per generated chunk (each table gets one batch per chunk).
    pub chunk_clicks: usize,
    /// Users in the tenant; by default one per 50 clicks, 100 to 50 000.
    pub users: Option<usize>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            seed: 1,
            clicks: 7 * DEFAULT_CLICKS_PER_DAY,
            days: 7,
            end: DEFAULT_END,
            chunk_clicks: 65_536,
            users: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("writing: {0}")]
    Write(String),
}

impl GenerateError {
    pub(crate) fn io(path: &Path, error: std::io::Error) -> Self {
        GenerateError::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// Makes the data. Cheap to share between threads: [`Generator::chunk`] takes `&self`.
pub struct Generator {
    opts: GenerateOptions,
    world: World,
    clock: Clock,
}

impl Generator {
    pub fn new(opts: GenerateOptions) -> Generator {
        let users = opts
            .users
            .unwrap_or_else(|| (opts.clicks / 50).clamp(100, 50_000) as usize);
        Generator {
            world: World::new(opts.seed, users),
            clock: Clock::new(opts.end, opts.days),
            opts,
        }
    }

    pub fn options(&self) -> &GenerateOptions {
        &self.opts
    }

    /// The tenant id the Defender stream records carry.
    pub fn tenant_id(&self) -> &str {
        &self.world.tenant_id
    }

    pub fn chunk_count(&self) -> u64 {
        self.opts.clicks.div_ceil(self.chunk_clicks() as u64)
    }

    fn chunk_clicks(&self) -> usize {
        self.opts.chunk_clicks.clamp(1, 1 << 20)
    }

    /// Chunk `index` (`0..chunk_count()`), always the same for the same options.
    pub fn chunk(&self, index: u64) -> GeneratedChunk {
        let size = self.chunk_clicks() as u64;
        let clicks = self.opts.clicks.saturating_sub(index * size).min(size) as usize;
        tables::chunk(&self.world, &self.clock, self.opts.seed, index, clicks)
    }

    /// Every chunk in order, as (table, batch).
    pub fn batches(&self) -> impl Iterator<Item = (&'static str, RecordBatch)> + '_ {
        (0..self.chunk_count()).flat_map(|i| self.chunk(i).into_tables())
    }
}

/// What [`write_files`] wrote.
#[derive(Debug)]
pub struct WrittenFiles {
    /// (table, file, rows)
    pub files: Vec<(String, PathBuf, u64)>,
    pub elapsed: Duration,
}

impl WrittenFiles {
    pub fn total_rows(&self) -> u64 {
        self.files.iter().map(|f| f.2).sum()
    }
}

/// Writes one file per table, `<dir>/<Table>.<ext>`, generating chunks on several
/// threads and writing each table on its own. `only` names the tables to write (empty:
/// all of [`GENERATED_TABLES`]; the data is the same either way). `progress` gets the
/// rows written so far.
pub fn write_files(
    generator: &Generator,
    format: FileFormat,
    dir: &Path,
    only: &[&str],
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> Result<WrittenFiles, GenerateError> {
    let started = Instant::now();
    if let Some(bad) = only
        .iter()
        .find(|t| !GENERATED_TABLES.iter().any(|g| g.eq_ignore_ascii_case(t)))
    {
        return Err(GenerateError::Write(format!(
            "'{bad}' is not a generated table; these are: {}",
            GENERATED_TABLES.join(", ")
        )));
    }
    let wanted: Vec<bool> = GENERATED_TABLES
        .iter()
        .map(|g| only.is_empty() || only.iter().any(|t| g.eq_ignore_ascii_case(t)))
        .collect();
    std::fs::create_dir_all(dir).map_err(|e| GenerateError::io(dir, e))?;
    let mut files = Vec::new();
    let mut outs = Vec::new();
    for (i, t) in GENERATED_TABLES.iter().enumerate() {
        if !wanted[i] {
            continue;
        }
        let path = dir.join(format!("{t}.{}", format.extension()));
        let cols = engine::catalog::builtin_schema(t).unwrap_or_default();
        let seed = generator.opts.seed.wrapping_add(i as u64);
        outs.push(write::TableFile::create(
            &path,
            t,
            &cols,
            format,
            generator.tenant_id(),
            seed,
        )?);
        files.push((t.to_string(), path, 0u64));
    }
    let chunks = generator.chunk_count();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8)
        .min(chunks.max(1) as usize);
    let result = std::thread::scope(|s| -> Result<(), GenerateError> {
        // Generators: worker w makes chunks w, w + workers, ...; read back in order.
        let mut chunk_rx: Vec<Receiver<GeneratedChunk>> = Vec::new();
        for w in 0..workers {
            let (tx, rx) = sync_channel::<GeneratedChunk>(1);
            chunk_rx.push(rx);
            s.spawn(move || {
                let mut i = w as u64;
                while i < chunks {
                    if tx.send(generator.chunk(i)).is_err() {
                        return;
                    }
                    i += workers as u64;
                }
            });
        }
        // Writers: one thread per table file.
        let mut batch_tx: Vec<SyncSender<RecordBatch>> = Vec::new();
        let mut handles = Vec::new();
        for mut out in outs.drain(..) {
            let (tx, rx) = sync_channel::<RecordBatch>(2);
            batch_tx.push(tx);
            handles.push(s.spawn(move || -> Result<(), GenerateError> {
                for b in rx {
                    out.write(&b)?;
                }
                out.finish()
            }));
        }
        let mut written = 0u64;
        'chunks: for i in 0..chunks {
            let Ok(chunk) = chunk_rx[(i % workers as u64) as usize].recv() else {
                break;
            };
            let kept = chunk
                .into_tables()
                .into_iter()
                .enumerate()
                .filter(|(i, _)| wanted[*i])
                .map(|(_, t)| t);
            for (k, (_, batch)) in kept.enumerate() {
                let n = batch.num_rows() as u64;
                if batch_tx[k].send(batch).is_err() {
                    break 'chunks; // the writer failed; its error is reported below
                }
                files[k].2 += n;
                written += n;
            }
            if let Some(p) = progress {
                p(written);
            }
        }
        drop(batch_tx);
        drop(chunk_rx);
        for h in handles {
            h.join()
                .map_err(|_| GenerateError::Write("a writer thread panicked".into()))??;
        }
        Ok(())
    });
    result?;
    Ok(WrittenFiles {
        files,
        elapsed: started.elapsed(),
    })
}
