//! The binder and planner: KQL AST → DataFusion `LogicalPlan`, with KQL names, types and
//! scoping rules. Each tabular operator family is planned in its own module; scalar
//! expressions in `expr`, function calls in `functions`, aggregates in `aggregates`.
//!
//! Every plan travels as a [`Tabular`]: the DataFusion plan plus the KQL name and type of
//! each output column (Arrow alone cannot tell `guid` and `dynamic` from `string`).

mod aggregates;
mod expr;
mod functions;
mod join;
mod make_series;
mod multi_column;
mod mv_apply;
mod mv_expand;
mod operators;
mod parse_op;
mod plugins;
mod search;
mod sources;
mod summarize;
mod top_nested;

use crate::error::{suggest, QResult, QueryError};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::Column;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::SessionContext;
use kql::ast::{self, Span};
use kql_value::{KqlType, Value};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

pub(crate) use expr::Bound;

/// The aggregation functions `summarize` accepts.
pub fn aggregate_names() -> impl Iterator<Item = &'static str> {
    aggregates::AGGREGATES.iter().copied()
}

/// A column of a tabular result: its KQL name and type.
#[derive(Clone, Debug, PartialEq)]
pub struct Col {
    pub name: String,
    pub ty: KqlType,
}

impl Col {
    pub fn new(name: impl Into<String>, ty: KqlType) -> Col {
        Col {
            name: name.into(),
            ty,
        }
    }
}

/// A planned tabular expression.
#[derive(Clone, Debug)]
pub struct Tabular {
    pub plan: LogicalPlan,
    /// One per output field of `plan`, in order.
    pub cols: Vec<Col>,
    /// Whether row order is meaningful (after sort/top/serialize/range), which window
    /// functions such as `prev()` and `row_number()` require.
    pub serialized: bool,
    /// The name given by `as` (what `union withsource=` reports for this leg).
    pub name: Option<String>,
}

impl Tabular {
    /// A reference to output column `i`, qualified as the plan qualifies it.
    pub fn col_expr(&self, i: usize) -> Expr {
        let (q, f) = self.plan.schema().qualified_field(i);
        Expr::Column(Column::new(q.cloned(), f.name()))
    }

    pub fn find(&self, name: &str) -> Option<usize> {
        self.cols.iter().position(|c| c.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.cols.iter().map(|c| c.name.as_str())
    }

    /// Projects `items` (expression, output column), aliasing each to its KQL name.
    pub fn project(&self, items: Vec<(Expr, Col)>) -> QResult<Tabular> {
        let mut seen = std::collections::HashSet::new();
        for (_, c) in &items {
            if !seen.insert(c.name.clone()) {
                return Err(QueryError::execution(format!(
                    "A column named '{}' appears more than once in the result",
                    c.name
                )));
            }
        }
        let exprs: Vec<Expr> = items
            .iter()
            .map(|(e, c)| e.clone().alias(c.name.clone()))
            .collect();
        let plan = LogicalPlanBuilder::from(self.plan.clone())
            .project(exprs)?
            .build()?;
        Ok(Tabular {
            plan,
            cols: items.into_iter().map(|(_, c)| c).collect(),
            serialized: self.serialized,
            name: self.name.clone(),
        })
    }

    /// Every column as (reference, column), to build projections that keep them.
    pub fn passthrough(&self) -> Vec<(Expr, Col)> {
        (0..self.cols.len())
            .map(|i| (self.col_expr(i), self.cols[i].clone()))
            .collect()
    }

    pub fn with_plan(&self, plan: LogicalPlan) -> Tabular {
        Tabular {
            plan,
            cols: self.cols.clone(),
            serialized: self.serialized,
            name: self.name.clone(),
        }
    }
}

/// What a `let` name stands for.
#[derive(Clone, Debug)]
pub(crate) enum Binding {
    Scalar(Bound),
    Tabular(Tabular),
    Function(Rc<ast::FunctionDef>, Env),
}

/// The names in scope: `let` statements and function parameters.
#[derive(Clone, Debug, Default)]
pub(crate) struct Env {
    vars: HashMap<String, Binding>,
}

impl Env {
    pub fn get(&self, name: &str) -> Option<&Binding> {
        self.vars.get(name)
    }
    pub fn insert(&mut self, name: impl Into<String>, b: Binding) {
        self.vars.insert(name.into(), b);
    }
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(|s| s.as_str())
    }
}

/// Where the planner gets tables from.
pub trait TableSource {
    /// The table called `name` as a plan (Kusto table names are case-sensitive).
    fn table(&self, name: &str) -> Option<Tabular>;
    /// All table names, for suggestions and `union *`.
    fn table_names(&self) -> Vec<String>;
}

/// Client request properties set with `set`.
#[derive(Clone, Debug, Default)]
pub struct RequestOptions {
    /// `query_now`: pins `now()`/`ago()` (ns since epoch).
    pub query_now: Option<i64>,
    /// `truncationmaxrecords`
    pub truncation_max_records: Option<u64>,
    /// `notruncation`
    pub no_truncation: bool,
    /// `query_bin_auto_size` and `query_bin_auto_at`, for `bin_auto()`.
    pub bin_auto_size: Option<Value>,
    pub bin_auto_at: Option<Value>,
}

/// A chart hint from `render`.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderHint {
    pub visualization: String,
    pub properties: Vec<(String, serde_json::Value)>,
}

/// The planned query: the result plan and what travels beside it.
pub struct PlannedQuery {
    pub result: Tabular,
    pub render: Option<RenderHint>,
    pub options: RequestOptions,
}

pub(crate) struct Planner<'a> {
    pub tables: &'a dyn TableSource,
    pub ctx: SessionContext,
    pub now: i64,
    pub render: std::cell::RefCell<Option<RenderHint>>,
    /// The query's `set` options (for functions such as `bin_auto` that read them).
    pub options: RequestOptions,
    /// Counter for internal column names (`__kql_3`).
    next_internal: std::cell::Cell<usize>,
}

/// Plans a parsed query.
pub(crate) fn plan_query(
    query: &ast::Query,
    tables: &dyn TableSource,
    ctx: SessionContext,
    now: i64,
) -> QResult<PlannedQuery> {
    // `set` statements come first in effect whatever their position.
    let mut options = RequestOptions::default();
    let mut planner = Planner {
        tables,
        ctx,
        now,
        render: Default::default(),
        options: RequestOptions::default(),
        next_internal: std::cell::Cell::new(0),
    };
    let env = Env::default();
    for st in &query.statements {
        if let ast::Statement::Set { name, value, span } = st {
            planner.apply_set(&mut options, name, value.as_ref(), *span, &env)?;
        }
    }
    if let Some(n) = options.query_now {
        planner.now = n;
    }
    planner.options = options.clone();
    let mut env = Env::default();
    let mut last: Option<Tabular> = None;
    for st in &query.statements {
        match st {
            ast::Statement::Set { .. } => {}
            ast::Statement::Let(l) => planner.bind_let(l, &mut env)?,
            ast::Statement::Query(e) => {
                planner.render.replace(None);
                last = Some(planner.plan_tabular(e, &env)?);
            }
        }
    }
    let Some(result) = last else {
        return Err(QueryError::semantic(
            "The query has no tabular statement to run: add an expression such as a table name after the 'let' statements",
            query
                .statements
                .last()
                .map(|s| match s {
                    ast::Statement::Let(l) => l.span,
                    ast::Statement::Set { span, .. } => *span,
                    ast::Statement::Query(e) => e.span,
                })
                .unwrap_or_default(),
        ));
    };
    Ok(PlannedQuery {
        result,
        render: planner.render.take(),
        options,
    })
}

impl Planner<'_> {
    pub fn internal_name(&self) -> String {
        let n = self.next_internal.get();
        self.next_internal.set(n + 1);
        format!("__kql_{n}")
    }

    fn apply_set(
        &self,
        options: &mut RequestOptions,
        name: &ast::Ident,
        value: Option<&ast::Expr>,
        span: Span,
        env: &Env,
    ) -> QResult<()> {
        let v = match value {
            Some(e) => self.const_value(e, env, "set")?,
            None => Value::Bool(true),
        };
        match name.name.as_str() {
            "query_now" => {
                match v.convert(KqlType::DateTime) {
                    Value::DateTime(t) => options.query_now = Some(t),
                    _ => return Err(QueryError::semantic(
                        "query_now must be a datetime, e.g. set query_now = datetime(2024-01-01);",
                        span,
                    )),
                }
            }
            "truncationmaxrecords" => match v.as_i64() {
                Some(n) if n >= 0 => options.truncation_max_records = Some(n as u64),
                _ => {
                    return Err(QueryError::semantic(
                        "truncationmaxrecords must be a non-negative number",
                        span,
                    ))
                }
            },
            "notruncation" => options.no_truncation = v.as_bool().unwrap_or(true),
            "query_bin_auto_size" => options.bin_auto_size = Some(v),
            "query_bin_auto_at" => options.bin_auto_at = Some(v),
            // Other request properties are accepted and have no effect here.
            _ => {}
        }
        Ok(())
    }

    fn bind_let(&self, l: &ast::LetStatement, env: &mut Env) -> QResult<()> {
        let binding = match &l.value {
            ast::LetValue::Function(f) => Binding::Function(Rc::new(f.clone()), env.clone()),
            ast::LetValue::Expr(e) => {
                if self.is_tabular(e, env) {
                    Binding::Tabular(self.plan_tabular(e, env)?)
                } else {
                    Binding::Scalar(self.bind_scalar_standalone(e, env, "let")?)
                }
            }
        };
        env.insert(l.name.name.clone(), binding);
        Ok(())
    }

    /// Whether `e` denotes a table (decided syntactically where possible, else by name).
    pub fn is_tabular(&self, e: &ast::Expr, env: &Env) -> bool {
        match &e.kind {
            ast::ExprKind::Pipe { .. } | ast::ExprKind::Source(_) => true,
            ast::ExprKind::Paren(inner) => self.is_tabular(inner, env),
            ast::ExprKind::Name(id) => match env.get(&id.name) {
                Some(Binding::Tabular(_)) => true,
                Some(Binding::Scalar(_)) => false,
                Some(Binding::Function(f, _)) => {
                    f.params.is_empty() && self.is_tabular(&f.body, env)
                }
                None => self.tables.table(&id.name).is_some(),
            },
            ast::ExprKind::Call { name, args } => match name.name.as_str() {
                "materialize" | "table" | "view" => true,
                "toscalar" => false,
                n => match env.get(n) {
                    Some(Binding::Function(f, fenv)) => {
                        let mut inner = fenv.clone();
                        for (p, a) in f.params.iter().zip(args) {
                            if matches!(p.ty, ast::ParamType::Tabular(_)) {
                                if let Ok(t) = self.plan_tabular(&a.value, env) {
                                    inner.insert(p.name.name.clone(), Binding::Tabular(t));
                                }
                            }
                        }
                        for l in &f.lets {
                            if let ast::LetValue::Function(fd) = &l.value {
                                inner.insert(
                                    l.name.name.clone(),
                                    Binding::Function(Rc::new(fd.clone()), inner.clone()),
                                );
                            } else if let ast::LetValue::Expr(le) = &l.value {
                                if self.is_tabular(le, &inner) {
                                    if let Ok(t) = self.plan_tabular(le, &inner) {
                                        inner.insert(l.name.name.clone(), Binding::Tabular(t));
                                    }
                                }
                            }
                        }
                        self.is_tabular(&f.body, &inner)
                    }
                    _ => false,
                },
            },
            _ => false,
        }
    }

    /// Plans a tabular expression.
    pub fn plan_tabular(&self, e: &ast::Expr, env: &Env) -> QResult<Tabular> {
        match &e.kind {
            ast::ExprKind::Pipe { input, op } => {
                let t = self.plan_tabular(input, env)?;
                self.plan_operator(t, op, env)
            }
            ast::ExprKind::Source(op) => self.plan_source(op, env),
            ast::ExprKind::Paren(inner) => self.plan_tabular(inner, env),
            ast::ExprKind::Name(id) => self.resolve_table(id, env),
            ast::ExprKind::Call { name, args } => self.plan_tabular_call(name, args, env, e.span),
            _ => Err(QueryError::semantic(
                "A tabular expression (a table name, a 'let' table or an operator) was expected here",
                e.span,
            )),
        }
    }

    pub(crate) fn resolve_table(&self, id: &ast::Ident, env: &Env) -> QResult<Tabular> {
        match env.get(&id.name) {
            Some(Binding::Tabular(t)) => return Ok(t.clone()),
            Some(Binding::Function(f, fenv)) if f.params.is_empty() => {
                let (f, fenv) = (f.clone(), fenv.clone());
                return self.call_tabular_function(&f, &fenv, &[], env, id.span);
            }
            Some(Binding::Scalar(_)) => {
                return Err(QueryError::semantic(
                    format!("'{}' is a scalar value, not a table", id.name),
                    id.span,
                ))
            }
            _ => {}
        }
        if let Some(t) = self.tables.table(&id.name) {
            return Ok(t);
        }
        let names = self.tables.table_names();
        let candidates: Vec<&str> = names
            .iter()
            .map(|s| s.as_str())
            .chain(env.names())
            .collect();
        let mut err = QueryError::semantic(
            format!(
                "Failed to resolve table or column expression named '{}'",
                id.name
            ),
            id.span,
        );
        if let Some(s) = suggest(&id.name, candidates) {
            err = err.with_help(s);
        }
        Err(err)
    }

    fn plan_tabular_call(
        &self,
        name: &ast::Ident,
        args: &[ast::Arg],
        env: &Env,
        span: Span,
    ) -> QResult<Tabular> {
        match name.name.as_str() {
            "materialize" | "view" if args.len() == 1 => self.plan_tabular(&args[0].value, env),
            "table" if args.len() == 1 => {
                let v = self.const_value(&args[0].value, env, "table")?;
                let id = ast::Ident {
                    name: v.to_kql_string(),
                    span: args[0].value.span,
                };
                self.resolve_table(&id, env)
            }
            n => match env.get(n) {
                Some(Binding::Function(f, fenv)) => {
                    let (f, fenv) = (f.clone(), fenv.clone());
                    self.call_tabular_function(&f, &fenv, args, env, span)
                }
                _ => Err(QueryError::semantic(
                    format!("'{n}' is not a tabular function"),
                    name.span,
                )),
            },
        }
    }

    /// Binds a user function's parameters to the call's arguments.
    pub fn bind_function_args(
        &self,
        f: &ast::FunctionDef,
        fenv: &Env,
        args: &[ast::Arg],
        env: &Env,
        span: Span,
        input: Option<&Tabular>,
    ) -> QResult<Env> {
        let mut inner = fenv.clone();
        let required = f.params.iter().filter(|p| p.default.is_none()).count();
        if args.len() < required || args.len() > f.params.len() {
            return Err(QueryError::semantic(
                format!(
                    "The function expects {} argument(s) but was given {}",
                    if required == f.params.len() {
                        required.to_string()
                    } else {
                        format!("{required} to {}", f.params.len())
                    },
                    args.len()
                ),
                span,
            ));
        }
        for (i, p) in f.params.iter().enumerate() {
            let binding = match (&p.ty, args.get(i)) {
                (ast::ParamType::Tabular(_), Some(a)) => {
                    Binding::Tabular(self.plan_tabular(&a.value, env)?)
                }
                (ast::ParamType::Tabular(_), None) => {
                    return Err(QueryError::semantic(
                        format!("missing tabular argument '{}'", p.name.name),
                        span,
                    ))
                }
                (ast::ParamType::Scalar(t), a) => {
                    let e = match a {
                        Some(a) => &a.value,
                        None => p.default.as_ref().ok_or_else(|| {
                            QueryError::semantic(
                                format!("missing argument '{}'", p.name.name),
                                span,
                            )
                        })?,
                    };
                    let mut b = self.bind_scalar_in(e, env, input, "function call")?;
                    let want = crate::plan::expr::type_of_name(*t);
                    if b.ty != want {
                        b = self.convert_bound(b, want);
                    }
                    Binding::Scalar(b)
                }
            };
            inner.insert(p.name.name.clone(), binding);
        }
        Ok(inner)
    }

    fn call_tabular_function(
        &self,
        f: &ast::FunctionDef,
        fenv: &Env,
        args: &[ast::Arg],
        env: &Env,
        span: Span,
    ) -> QResult<Tabular> {
        let mut inner = self.bind_function_args(f, fenv, args, env, span, None)?;
        for l in &f.lets {
            self.bind_let(l, &mut inner)?;
        }
        self.plan_tabular(&f.body, &inner)
    }

    /// Runs a plan now (for `toscalar`, `in (subquery)`, plugins whose output schema
    /// depends on the data).
    pub fn execute_now(&self, plan: &LogicalPlan) -> QResult<Vec<RecordBatch>> {
        let ctx = self.ctx.clone();
        let plan = plan.clone();
        let run = move || -> QResult<Vec<RecordBatch>> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| QueryError::execution(e.to_string()))?;
            rt.block_on(async move {
                let df = ctx.execute_logical_plan(plan).await?;
                crate::types::canonical_text(df.collect().await?)
            })
        };
        std::thread::scope(|s| {
            s.spawn(run)
                .join()
                .unwrap_or_else(|_| Err(QueryError::execution("a sub-query failed unexpectedly")))
        })
    }

    /// A plan over in-memory batches with the given KQL columns.
    pub fn memory_table(&self, cols: Vec<Col>, batches: Vec<RecordBatch>) -> QResult<Tabular> {
        let fields: Vec<_> = cols
            .iter()
            .map(|c| crate::types::kql_field(&c.name, c.ty))
            .collect();
        let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
        let batches = batches
            .into_iter()
            .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| QueryError::execution(e.to_string()))?;
        let table = datafusion::datasource::MemTable::try_new(schema, vec![batches])?;
        let plan = LogicalPlanBuilder::scan(
            self.internal_name(),
            datafusion::datasource::provider_as_source(Arc::new(table)),
            None,
        )?
        .build()?;
        Ok(Tabular {
            plan,
            cols,
            serialized: true,
            name: None,
        })
    }
}
