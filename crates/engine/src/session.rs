//! The engine's front door: tables, and running KQL text to typed results.

use crate::error::{QResult, QueryError};
use crate::plan::{plan_query, Col, RenderHint, RequestOptions, TableSource, Tabular};
use crate::types::kql_field;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::datasource::{provider_as_source, MemTable};
use datafusion::execution::context::SessionConfig;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder};
use datafusion::prelude::SessionContext;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// Kusto's default result limit (rows) when the client sets none.
pub const DEFAULT_TRUNCATION_MAX_RECORDS: u64 = 500_000;

/// Engine-wide settings.
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    /// Bytes that one query may hold (None: unlimited). Each query gets its own pool, so
    /// one heavy hunt fails alone and the others keep running.
    pub memory_limit: Option<usize>,
    /// Partitions a query runs on (None: the number of cores).
    pub target_partitions: Option<usize>,
}

struct TableEntry {
    cols: Vec<Col>,
    provider: Arc<dyn TableProvider>,
}

/// A KQL engine over a set of named tables.
pub struct Engine {
    ctx: SessionContext,
    memory_limit: Option<usize>,
    tables: RwLock<BTreeMap<String, Arc<TableEntry>>>,
}

/// The answer to a query.
#[derive(Debug)]
pub struct QueryResult {
    pub columns: Vec<Col>,
    pub batches: Vec<RecordBatch>,
    pub render: Option<RenderHint>,
    /// True when rows were cut at the truncation limit.
    pub truncated: bool,
}

impl QueryResult {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// An engine with the built-in Defender tables registered empty.
    pub fn new() -> Engine {
        Engine::with_config(EngineConfig::default())
    }

    /// An engine with limits: a memory cap on what running queries may hold (a query
    /// over it fails with Defender's "excessive resource consumption" message and the
    /// process stays up), and the number of partitions queries run on.
    pub fn with_config(config: EngineConfig) -> Engine {
        let session = SessionConfig::new()
            .with_target_partitions(config.target_partitions.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
            }))
            .with_information_schema(false)
            // Parquet scans (the store's segments) evaluate pushed-down filters while
            // decoding, cheapest first, and decode the other columns only for the rows
            // that pass: a needle lookup reads one column, not fifteen.
            .set_bool("datafusion.execution.parquet.pushdown_filters", true)
            .set_bool("datafusion.execution.parquet.reorder_filters", true);
        let engine = Engine {
            ctx: SessionContext::new_with_config(session),
            memory_limit: config.memory_limit,
            tables: RwLock::new(BTreeMap::new()),
        };
        for (name, spec) in crate::catalog::DEFENDER_TABLES {
            let cols = crate::catalog::parse_columns(spec);
            let _ = engine.register_batches(name, cols, vec![]);
        }
        engine
    }

    /// The Arrow schema clickhunt uses for these columns.
    pub fn arrow_schema(cols: &[Col]) -> SchemaRef {
        Arc::new(Schema::new(
            cols.iter()
                .map(|c| kql_field(&c.name, c.ty))
                .collect::<Vec<_>>(),
        ))
    }

    /// Registers (or replaces) a table backed by any DataFusion provider.
    pub fn register_table(&self, name: &str, cols: Vec<Col>, provider: Arc<dyn TableProvider>) {
        let mut t = self.tables.write().unwrap_or_else(|e| e.into_inner());
        t.insert(name.to_string(), Arc::new(TableEntry { cols, provider }));
    }

    /// Registers (or replaces) an in-memory table; batches are cast to the columns' types.
    pub fn register_batches(
        &self,
        name: &str,
        cols: Vec<Col>,
        batches: Vec<RecordBatch>,
    ) -> QResult<()> {
        let schema = Engine::arrow_schema(&cols);
        let batches = batches
            .into_iter()
            .map(|b| conform_batch(&b, &schema))
            .collect::<QResult<Vec<_>>>()?;
        let mem = MemTable::try_new(schema, vec![batches])?;
        self.register_table(name, cols, Arc::new(mem));
        Ok(())
    }

    /// The columns of table `name`.
    pub fn table_columns(&self, name: &str) -> Option<Vec<Col>> {
        let t = self.tables.read().unwrap_or_else(|e| e.into_inner());
        t.get(name).map(|e| e.cols.clone())
    }

    pub fn table_names(&self) -> Vec<String> {
        let t = self.tables.read().unwrap_or_else(|e| e.into_inner());
        t.keys().cloned().collect()
    }

    /// Parses, plans and runs `text`, with `now()` taken from the clock unless the query
    /// pins it with `set query_now`.
    pub async fn query(&self, text: &str) -> QResult<QueryResult> {
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
        self.query_at(text, now).await
    }

    /// As [`Engine::query`] with an explicit `now` (ns since the epoch).
    pub async fn query_at(&self, text: &str, now: i64) -> QResult<QueryResult> {
        let planned = self.plan_at(text, now)?;
        let limit = if planned.options.no_truncation {
            None
        } else {
            Some(
                planned
                    .options
                    .truncation_max_records
                    .unwrap_or(DEFAULT_TRUNCATION_MAX_RECORDS),
            )
        };
        let mut plan = planned.result.plan.clone();
        if let Some(l) = limit {
            plan = LogicalPlanBuilder::from(plan)
                .limit(0, Some(l as usize + 1))?
                .build()?;
        }
        let df = self.query_context().execute_logical_plan(plan).await?;
        let mut batches = crate::types::canonical_text(df.collect().await?)?;
        let mut truncated = false;
        if let Some(l) = limit {
            let total: usize = batches.iter().map(|b| b.num_rows()).sum();
            if total as u64 > l {
                truncated = true;
                batches = truncate(batches, l as usize);
            }
        }
        Ok(QueryResult {
            columns: planned.result.cols.clone(),
            batches,
            render: planned.render,
            truncated,
        })
    }

    /// The context one query runs in: the shared session, with a memory pool of its own
    /// when the engine has a per-query cap.
    fn query_context(&self) -> SessionContext {
        let Some(limit) = self.memory_limit else {
            return self.ctx.clone();
        };
        let state = self.ctx.state();
        let shared = state.runtime_env().clone();
        let runtime = datafusion::execution::runtime_env::RuntimeEnv {
            memory_pool: std::sync::Arc::new(
                datafusion::execution::memory_pool::GreedyMemoryPool::new(limit),
            ),
            disk_manager: shared.disk_manager.clone(),
            cache_manager: shared.cache_manager.clone(),
            object_store_registry: shared.object_store_registry.clone(),
        };
        let state =
            datafusion::execution::session_state::SessionStateBuilder::new_from_existing(state)
                .with_runtime_env(std::sync::Arc::new(runtime))
                .build();
        SessionContext::new_with_state(state)
    }

    /// The DataFusion session queries run in (for registering object stores).
    pub fn session(&self) -> &SessionContext {
        &self.ctx
    }

    /// Parses and plans without running (for EXPLAIN and validation).
    pub fn plan_at(&self, text: &str, now: i64) -> QResult<crate::plan::PlannedQuery> {
        let ast = kql::parse(text).map_err(|mut diags| {
            let first = diags.remove(0);
            QueryError::from(first)
        })?;
        let source = EngineTables { engine: self };
        plan_query(&ast, &source, self.ctx.clone(), now)
    }

    /// The optimized logical plan and the physical plan of `text`, as text, without
    /// running it. Planning the physical plan asks each table for its scan, so a
    /// pruning table (the store's) records what it would read.
    pub async fn explain(&self, text: &str) -> QResult<Explained> {
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
        let planned = self.plan_at(text, now)?;
        let state = self.ctx.state();
        let logical = state.optimize(&planned.result.plan)?;
        // `create_physical_plan` would optimize again: plan the optimized plan as is.
        let physical = state
            .query_planner()
            .create_physical_plan(&logical, &state)
            .await?;
        let logical_text = logical.display_indent().to_string();
        let physical_text = datafusion::physical_plan::displayable(physical.as_ref())
            .indent(true)
            .to_string();
        Ok(Explained {
            logical: logical_text,
            physical: physical_text,
        })
    }

    /// The options a query sets (for callers that apply limits themselves).
    pub fn request_options(&self, text: &str) -> RequestOptions {
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
        self.plan_at(text, now)
            .map(|p| p.options)
            .unwrap_or_default()
    }
}

/// What [`Engine::explain`] shows.
#[derive(Clone, Debug)]
pub struct Explained {
    pub logical: String,
    pub physical: String,
}

fn truncate(batches: Vec<RecordBatch>, n: usize) -> Vec<RecordBatch> {
    let mut left = n;
    let mut out = Vec::new();
    for b in batches {
        if left == 0 {
            break;
        }
        let take = b.num_rows().min(left);
        out.push(b.slice(0, take));
        left -= take;
    }
    out
}

/// Casts `b`'s columns to `schema` (by position).
fn conform_batch(b: &RecordBatch, schema: &SchemaRef) -> QResult<RecordBatch> {
    let cols = b
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                datafusion::arrow::compute::cast(c, f.data_type())
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| QueryError::execution(e.to_string()))?;
    RecordBatch::try_new(schema.clone(), cols).map_err(|e| QueryError::execution(e.to_string()))
}

struct EngineTables<'a> {
    engine: &'a Engine,
}

impl TableSource for EngineTables<'_> {
    fn table(&self, name: &str) -> Option<Tabular> {
        let entry = {
            let t = self.engine.tables.read().unwrap_or_else(|e| e.into_inner());
            t.get(name).cloned()?
        };
        let plan = LogicalPlanBuilder::scan(name, provider_as_source(entry.provider.clone()), None)
            .ok()?
            .build()
            .ok()?;
        let schema = plan.schema().clone();
        let cols: Vec<Col> = entry.cols.clone();
        if schema.fields().len() != cols.len() {
            return None;
        }
        let t = Tabular {
            plan,
            cols,
            serialized: false,
            name: None,
        };
        // Unqualify the columns so later operators see plain KQL names.
        let items: Vec<(Expr, Col)> = t.passthrough();
        t.project(items).ok()
    }

    fn table_names(&self) -> Vec<String> {
        self.engine.table_names()
    }
}
