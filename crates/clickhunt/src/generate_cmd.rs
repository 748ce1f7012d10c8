//! `clickhunt generate`: synthetic, linked EmailEvents / EmailUrlInfo / UrlClickEvents
//! files, one per table, in any format `clickhunt ingest` reads.

use anyhow::{bail, Context, Result};
use std::io::IsTerminal;
use std::path::PathBuf;
use store::generate::{self, FileFormat, GenerateOptions, Generator, DEFAULT_CLICKS_PER_DAY};

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// UrlClickEvents rows to generate (EmailEvents and EmailUrlInfo get about 1.1x
    /// and 2.4x as many). Default: 20 000 per day.
    #[arg(long)]
    rows: Option<u64>,
    /// Days of data, ending at --end.
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// Random seed: the same seed (and --end) gives the same data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// End of the time window (ISO 8601); default: now.
    #[arg(long)]
    end: Option<String>,
    /// File format.
    #[arg(long, default_value = "parquet", value_parser = ["parquet", "jsonl", "csv", "defender"])]
    format: String,
    /// Output directory (created if needed); files are named <Table>.<ext>.
    #[arg(long)]
    out: PathBuf,
    /// Write only these tables (comma-separated; default all three). The rows are the
    /// same as when all are written.
    #[arg(long, value_delimiter = ',')]
    tables: Vec<String>,
}

pub fn run(args: GenerateArgs) -> Result<()> {
    if args.days == 0 {
        bail!("--days must be at least 1");
    }
    let format: FileFormat = args.format.parse().map_err(anyhow::Error::msg)?;
    let end = match &args.end {
        Some(t) => kql_value::format::parse_datetime(t)
            .with_context(|| format!("--end: '{t}' is not a datetime"))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(generate::DEFAULT_END, |d| {
                d.as_secs() as i64 * 1_000_000_000
            }),
    };
    let clicks = args
        .rows
        .unwrap_or(args.days as u64 * DEFAULT_CLICKS_PER_DAY);
    let generator = Generator::new(GenerateOptions {
        seed: args.seed,
        clicks,
        days: args.days,
        end,
        ..GenerateOptions::default()
    });
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {human_pos} rows written [{elapsed}] {per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b
    });
    let progress = |rows: u64| {
        if let Some(b) = &bar {
            b.set_position(rows);
        }
    };
    let written = generate::write_files(
        &generator,
        format,
        &args.out,
        &args.tables.iter().map(String::as_str).collect::<Vec<_>>(),
        Some(&progress),
    )
    .with_context(|| format!("writing to {}", args.out.display()))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for (table, path, rows) in &written.files {
        println!("{table:<16} {rows:>12} rows  {}", path.display());
    }
    let secs = written.elapsed.as_secs_f64().max(1e-9);
    let total = written.total_rows();
    eprintln!(
        "{total} rows in {secs:.2} s ({:.0} rows/s), seed {}",
        total as f64 / secs,
        args.seed
    );
    Ok(())
}
