//! `clickhunt`: the command-line front end.

mod generate_cmd;
mod ingest_cmd;
mod keys_cmd;
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
    command: Command,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
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

fn load_tables(engine: &Engine, args: &QueryArgs) -> Result<()> {
    if let Some(dir) = &args.data {
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
    Ok(())
}

fn run_query(args: QueryArgs) -> ExitCode {
    let text = match read_query(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let engine = Engine::new();
    if let Err(e) = load_tables(&engine, &args) {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(engine.query(&text)) {
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

fn print_result(result: &engine::QueryResult, format: Format) -> Result<()> {
    match format {
        Format::Json => println!("{}", engine::format::to_json(result)?),
        Format::Jsonl => print!("{}", engine::format::to_jsonl(result)?),
        Format::Csv => print!("{}", engine::format::to_csv(result)?),
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
            println!("{t}");
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
