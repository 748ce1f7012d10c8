//! `clickhunt serve`: the HTTP hunting service (Kusto REST, Defender and Graph hunting
//! APIs, ingest) over a data directory, or over an in-memory engine without one.

use anyhow::{bail, Context, Result};
use engine::Engine;
use server::auth::{keys_path, KeyFile};
use server::{AppState, ServerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::generate::{GenerateOptions, Generator, DEFAULT_CLICKS_PER_DAY, GENERATED_TABLES};
use store::storage::Store;

/// Days of data `--demo` generates.
const DEMO_DAYS: u32 = 30;

/// How long running requests may finish after Ctrl-C/SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The data directory (created if needed). Without it the tables live in memory
    /// and are empty (unless --demo).
    #[arg(long, env = "CLICKHUNT_DATA")]
    data: Option<PathBuf>,
    /// Address to listen on. A non-loopback address requires API keys.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Fill an empty data directory (or the in-memory tables) with --demo-days of
    /// generated EmailEvents, EmailUrlInfo and UrlClickEvents.
    #[arg(long)]
    demo: bool,
    /// Days of data --demo generates (ending now).
    #[arg(long, default_value_t = DEMO_DAYS, value_parser = clap::value_parser!(u32).range(1..=3650))]
    demo_days: u32,
    /// UrlClickEvents rows per day --demo generates (with their emails).
    #[arg(long, default_value_t = DEFAULT_CLICKS_PER_DAY)]
    demo_clicks_per_day: u64,
    /// The API key file; default `<data>/keys.json`.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// The database name the Kusto protocol reports.
    #[arg(long, default_value = "hunting")]
    database: String,
    /// Longest run time of a query, in seconds.
    #[arg(long, default_value_t = 600)]
    query_timeout_secs: u64,
    /// Queries running at once; more wait up to 30 s, then get 429.
    #[arg(long, default_value_t = 8)]
    max_concurrent_queries: usize,
    /// Requests per minute per API key (0: no limit).
    #[arg(long, default_value_t = 600)]
    rate_limit: u32,
    /// Memory one query may hold, in MiB; a query over it fails with
    /// Defender's "excessive resource consumption" message (0: no cap).
    #[arg(long, default_value_t = 8192)]
    query_memory_mib: usize,
    /// A browser origin allowed to call the API, besides the ADX web UI (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
}

pub fn run(args: ServeArgs) -> Result<()> {
    server::init_logging();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("clickhunt-http")
        .build()
        .context("starting the runtime")?;
    rt.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> Result<()> {
    let keys = args
        .keys
        .clone()
        .or_else(|| args.data.as_deref().map(keys_path));
    let public = !server::is_loopback(&args.listen);
    if public {
        let count = match &keys {
            Some(p) => KeyFile::load(p)
                .with_context(|| format!("reading {}", p.display()))?
                .keys
                .len(),
            None => 0,
        };
        if count == 0 {
            bail!(
                "refusing to listen on {} without API keys: anyone on the network could query and change the data.\n\
                 Create a key first:  clickhunt keys create --role reader --data <DIR>\n\
                 (or listen on 127.0.0.1 only)",
                args.listen
            );
        }
    }
    let engine = Arc::new(Engine::with_config(engine::EngineConfig {
        memory_limit: (args.query_memory_mib > 0).then(|| args.query_memory_mib * 1024 * 1024),
        target_partitions: None,
    }));
    let store = match &args.data {
        Some(dir) => {
            let store = Store::open(dir)
                .with_context(|| format!("opening the data directory {}", dir.display()))?;
            if args.demo {
                fill_demo_store(&store, &args).await?;
            }
            store.register_into(&engine);
            Some(store)
        }
        None => {
            if args.demo {
                fill_demo_memory(&engine, &args)?;
            }
            None
        }
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let mut allowed_origins = ServerConfig::default().allowed_origins;
    allowed_origins.extend(args.allow_origins.iter().cloned());
    let config = ServerConfig {
        database: args.database.clone(),
        query_timeout: Duration::from_secs(args.query_timeout_secs.max(1)),
        max_concurrent_queries: args.max_concurrent_queries.max(1),
        rate_limit_per_minute: (args.rate_limit > 0).then_some(args.rate_limit),
        keys_path: keys.clone(),
        public,
        address: addr.to_string(),
        allowed_origins,
        data_dir: args.data.clone(),
        ..ServerConfig::default()
    };
    let state =
        AppState::new(engine, store.clone(), config).context("starting the query runtime")?;
    tracing::info!(
        address = %addr,
        data = ?args.data,
        keys = ?keys,
        database = %args.database,
        "clickhunt serving: Kusto http://{addr}/ (v1/v2 REST), Defender /api/advancedhunting/run, Graph /v1.0/security/runHuntingQuery"
    );
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        server::shutdown_signal().await;
        tracing::info!("shutting down: finishing running requests");
        let _ = stopping_tx.send(());
    };
    let served = server::serve(listener, state, shutdown);
    tokio::select! {
        r = served => r.context("serving")?,
        _ = async {
            let _ = stopping_rx.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => tracing::warn!("requests still running after {SHUTDOWN_GRACE:?}; stopping anyway"),
    }
    if let Some(store) = store {
        store.close().await.context("closing the data directory")?;
    }
    tracing::info!("stopped");
    Ok(())
}

fn demo_generator(args: &ServeArgs) -> Generator {
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(store::generate::DEFAULT_END, |d| d.as_nanos() as i64);
    Generator::new(GenerateOptions {
        clicks: args.demo_days as u64 * args.demo_clicks_per_day,
        days: args.demo_days,
        end,
        ..GenerateOptions::default()
    })
}

/// Generates the demo data into the store when its generated tables are all empty.
async fn fill_demo_store(store: &Store, args: &ServeArgs) -> Result<()> {
    for t in GENERATED_TABLES {
        let stats = store.table_stats(t)?;
        if !stats.segments.is_empty() || stats.memtable_rows > 0 {
            tracing::info!(
                table = t,
                "--demo: the data directory already has data; not generating"
            );
            return Ok(());
        }
    }
    tracing::info!(days = args.demo_days, "--demo: generating data");
    let generator = demo_generator(args);
    let mut rows = 0usize;
    for i in 0..generator.chunk_count() {
        for (table, batch) in generator.chunk(i).into_tables() {
            rows += batch.num_rows();
            store
                .append(table, batch)
                .await
                .with_context(|| format!("appending demo rows to {table}"))?;
        }
    }
    store.flush().await.context("flushing demo data")?;
    tracing::info!(rows, "--demo: data generated");
    Ok(())
}

/// Generates the demo data into in-memory tables (no data directory).
fn fill_demo_memory(engine: &Engine, args: &ServeArgs) -> Result<()> {
    let generator = demo_generator(args);
    let mut by_table: std::collections::BTreeMap<&str, Vec<_>> = Default::default();
    for (table, batch) in generator.batches() {
        by_table.entry(table).or_default().push(batch);
    }
    for (table, batches) in by_table {
        let cols = engine
            .table_columns(table)
            .with_context(|| format!("{table} is not a built-in table"))?;
        engine
            .register_batches(table, cols, batches)
            .map_err(|e| anyhow::anyhow!("loading demo {table}: {e}"))?;
    }
    tracing::info!(days = args.demo_days, "--demo: in-memory data generated");
    Ok(())
}
