//! `clickhunt`: the command-line front end.

mod generate_cmd;
mod ingest_cmd;
mod keys_cmd;
mod repl;
mod serve_cmd;
mod tables;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use engine::Engine;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "clickhunt", version, about = "Hunt phishing clicks with KQL")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a KQL query and print the result.
    Query(QueryArgs),
    /// Append files (Defender streaming records, portal CSV, JSON lines, Parquet) to the store.
    Ingest(ingest_cmd::IngestArgs),
    /// Write synthetic, linked EmailEvents/EmailUrlInfo/UrlClickEvents files.
    Generate(generate_cmd::GenerateArgs),
    /// Serve the hunting APIs over HTTP (Kusto REST, Defender, Graph, ingest).
    Serve(serve_cmd::ServeArgs),
    /// Create, list and revoke API keys for `serve`.
    Keys(keys_cmd::KeysArgs),
    /// An interactive KQL shell (also what `clickhunt` alone starts).
    Repl(ReplArgs),
}

#[derive(clap::Args, Default)]
struct ReplArgs {
    /// The data directory (a store made by `clickhunt ingest`/`serve`).
    #[arg(long, env = "CLICKHUNT_DATA")]
    data: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Table,
    Csv,
    Json,
    Jsonl,
}

#[derive(clap::Args)]
struct QueryArgs {
    /// The query text, or `-` to read it from standard input.
    query: Option<String>,
    /// Read the query from a file.
    #[arg(long, short = 'f')]
    file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// A directory of table files named `<Table>.{jsonl,csv,parquet}`.
    #[arg(long, env = "CLICKHUNT_DATA")]
    data: Option<PathBuf>,
    /// Load a table from a file: `Name=path.{jsonl,csv,parquet}` (repeatable).
    #[arg(long = "table", value_name = "NAME=PATH")]
    tables: Vec<String>,
    /// Show the plan and, for tables in a store, which segment files the scan reads
    /// and which it prunes by time, instead of running the query.
    #[arg(long)]
    explain: bool,
    /// Run the query this many times in this process and print the last result
    /// (for timing; see --timings).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
    /// Write each run's wall time as JSON (`{"runs_ms": [...]}`) to this file.
    #[arg(long, value_name = "FILE")]
    timings: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        return run_repl(ReplArgs {
            data: std::env::var_os("CLICKHUNT_DATA").map(PathBuf::from),
        });
    };
    match command {
        Command::Repl(args) => run_repl(args),
        Command::Query(args) => run_query(args),
        Command::Ingest(args) => match ingest_cmd::run(args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Generate(args) => match generate_cmd::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Serve(args) => match serve_cmd::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Keys(args) => match keys_cmd::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

fn read_query(args: &QueryArgs) -> Result<String> {
    match (&args.file, args.query.as_deref()) {
        (Some(f), None) => std::fs::read_to_string(f)
            .with_context(|| format!("cannot read query file {}", f.display())),
        (None, Some("-")) => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            Ok(s)
        }
        (None, Some(q)) => Ok(q.to_string()),
        (Some(_), Some(_)) => bail!("give the query as an argument or with --file, not both"),
        (None, None) => {
            bail!("no query: give it as an argument, with --file, or '-' for standard input")
        }
    }
}

/// The runtime the CLI's queries and store calls run on.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Whether `dir` is a clickhunt store (rather than a folder of table files).
fn is_store_dir(dir: &std::path::Path) -> bool {
    dir.join("LOCK").exists() || dir.join("catalog.json").exists()
}

/// Opens the store in `dir` for reading and registers its tables.
fn attach_store(engine: &Engine, dir: &std::path::Path) -> Result<store::storage::Store> {
    let s = store::storage::Store::open_read_only(dir)
        .map_err(|e| anyhow::anyhow!("cannot open the store in {}: {e}", dir.display()))?;
    s.register_into(engine);
    Ok(s)
}

/// Runs a management command (`.show tables`, `.create table`...) against the store:
/// read-only first, then as the writer for commands that change it.
fn run_management(dir: &std::path::Path, text: &str) -> Result<engine::QueryResult> {
    runtime()?.block_on(async {
        let ro = store::storage::Store::open_read_only(dir)
            .map_err(|e| anyhow::anyhow!("cannot open the store in {}: {e}", dir.display()))?;
        match ro.execute_management(text).await {
            Ok(r) => Ok(r),
            Err(store::storage::StoreError::ReadOnly(_)) => {
                drop(ro);
                let rw = store::storage::Store::open(dir).map_err(|e| {
                    anyhow::anyhow!("cannot open the store in {}: {e}", dir.display())
                })?;
                let r = rw
                    .execute_management(text)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                rw.close().await.map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(r)
            }
            Err(e) => Err(anyhow::anyhow!("{e}")),
        }
    })
}

/// Registers the tables `args` name; returns the store when `--data` is one.
fn load_tables(engine: &Engine, args: &QueryArgs) -> Result<Option<store::storage::Store>> {
    let mut store = None;
    if let Some(dir) = args.data.as_ref().filter(|d| is_store_dir(d)) {
        store = Some(attach_store(engine, dir)?);
    } else if let Some(dir) = &args.data {
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read data directory {}", dir.display()))?;
        for e in entries {
            let path = e?.path();
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if path.is_file()
                && matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("jsonl" | "csv" | "parquet")
                )
            {
                tables::load_table(engine, stem, &path)?;
            }
        }
    }
    for spec in &args.tables {
        let Some((name, path)) = spec.split_once('=') else {
            bail!("--table expects Name=path, got '{spec}'");
        };
        tables::load_table(engine, name, std::path::Path::new(path))?;
    }
    Ok(store)
}

fn run_query(args: QueryArgs) -> ExitCode {
    let text = match read_query(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    if store::catalog::is_management_command(&text) {
        let Some(dir) = args.data.as_ref().filter(|d| is_store_dir(d)) else {
            eprintln!("error: management commands need a store: pass --data DIR (made by clickhunt ingest or serve)");
            return ExitCode::from(2);
        };
        return match run_management(dir, &text).and_then(|r| print_result(&r, args.format)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let engine = Engine::new();
    let store = match load_tables(&engine, &args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if args.explain {
        return match rt.block_on(engine.explain(&text)) {
            Ok(explained) => {
                print_explain(&explained, store.as_ref());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprint!("{}", err.render(&text));
                ExitCode::FAILURE
            }
        };
    }
    let mut runs_ms = Vec::new();
    let mut outcome = None;
    for _ in 0..args.repeat {
        let started = std::time::Instant::now();
        let r = rt.block_on(engine.query(&text));
        runs_ms.push(started.elapsed().as_secs_f64() * 1e3);
        let failed = r.is_err();
        outcome = Some(r);
        if failed {
            break;
        }
    }
    if let Some(path) = &args.timings {
        let body = serde_json::json!({ "runs_ms": runs_ms });
        if let Err(e) = std::fs::write(path, body.to_string()) {
            eprintln!("error: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let Some(outcome) = outcome else {
        return ExitCode::FAILURE;
    };
    match outcome {
        Ok(result) => match print_result(&result, args.format) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Err(err) => {
            if args.format == Format::Json {
                let lc = err.line_col(&text);
                let mut message = err.message.clone();
                if let Some(h) = &err.help {
                    message = format!("{message} ({h})");
                }
                let body = serde_json::json!({"error": {
                    "message": message,
                    "line": lc.map(|l| l.line),
                    "column": lc.map(|l| l.column),
                }});
                println!("{body}");
            }
            eprint!("{}", err.render(&text));
            ExitCode::FAILURE
        }
    }
}

/// Prints `--explain`: the plans, then per store table the files read and pruned.
fn print_explain(explained: &engine::Explained, store: Option<&store::storage::Store>) {
    println!("Logical plan:\n{}\n", explained.logical);
    println!("Physical plan:\n{}", explained.physical);
    let Some(store) = store else {
        return;
    };
    let fmt_bound = |b: Option<i64>| {
        b.map_or("unbounded".to_string(), |ns| {
            kql_value::format::format_datetime(ns)
        })
    };
    let catalog = store.catalog();
    for table in catalog.names() {
        let Some(stats) = store.last_scan_stats(table) else {
            continue;
        };
        println!(
            "\n{table}: time range {} .. {}; {} file{} scanned ({} rows), {} pruned ({} rows); memtable batches {}",
            fmt_bound(stats.time_from),
            fmt_bound(stats.time_to),
            stats.files_scanned.len(),
            if stats.files_scanned.len() == 1 { "" } else { "s" },
            stats.rows_in_scanned_files,
            stats.files_pruned.len(),
            stats.rows_in_pruned_files,
            stats.memtable_batches,
        );
        for f in &stats.files_scanned {
            println!("  scan   {f}");
        }
        for f in &stats.files_pruned {
            println!("  pruned {f}");
        }
    }
}

/// Writes a result to standard output. A reader that stopped reading (`| head`) is
/// not an error: the output is simply cut short.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: writing the result: {e}");
        }
    }
}

fn print_result(result: &engine::QueryResult, format: Format) -> Result<()> {
    match format {
        Format::Json => emit(&format!("{}\n", engine::format::to_json(result)?)),
        Format::Jsonl => emit(&engine::format::to_jsonl(result)?),
        Format::Csv => emit(&engine::format::to_csv(result)?),
        Format::Table => {
            let mut t = comfy_table::Table::new();
            t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
            t.set_header(result.columns.iter().map(|c| c.name.clone()));
            for row in engine::format::result_rows(result)? {
                t.add_row(
                    row.iter()
                        .zip(&result.columns)
                        .map(|(v, c)| engine::format::value_text(v, c.ty)),
                );
            }
            emit(&format!("{t}\n"));
            let n = result.num_rows();
            eprintln!(
                "{n} row{}{}",
                if n == 1 { "" } else { "s" },
                if result.truncated { " (truncated)" } else { "" }
            );
        }
    }
    Ok(())
}

/// The interactive shell over the store in `--data` (or the built-in empty tables).
fn run_repl(args: ReplArgs) -> ExitCode {
    let engine = Engine::new();
    let dir = args.data.filter(|d| is_store_dir(d));
    if let Some(d) = &dir {
        if let Err(e) = attach_store(&engine, d) {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let run = |text: &str| {
        if store::catalog::is_management_command(text) {
            let result = match &dir {
                Some(d) => run_management(d, text),
                None if text.trim() == ".show tables" => {
                    let rows: Vec<String> = engine.table_names();
                    println!("{}", rows.join("\n"));
                    return;
                }
                None => Err(anyhow::anyhow!(
                    "management commands need a store: start with --data DIR"
                )),
            };
            match result.and_then(|r| print_result(&r, Format::Table)) {
                Ok(()) => {}
                Err(e) => eprintln!("error: {e:#}"),
            }
            return;
        }
        match rt.block_on(engine.query(text)) {
            Ok(r) => {
                if let Err(e) = print_result(&r, Format::Table) {
                    eprintln!("error: {e:#}");
                }
            }
            Err(err) => eprint!("{}", err.render(text)),
        }
    };
    match repl::run_repl(&engine, run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
