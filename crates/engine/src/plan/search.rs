//! `search`: a predicate over one table (`T | search ...`) or many (`search in (T1, T2)
//! ...`, or every table), where a bare string looks for a term in any column.

use super::expr::{Bound, ExprCtx};
use super::{Env, Planner, Tabular};
use crate::error::{QResult, QueryError};
use crate::udf::value_fn::ValueFnKind;
use datafusion::logical_expr::LogicalPlanBuilder;
use kql::ast::{self, ExprKind};
use kql_value::ops::StrKind;
use kql_value::{KqlType, Value};

impl Planner<'_> {
    pub fn plan_search(
        &self,
        input: Option<Tabular>,
        op: &ast::Operator,
        tables: &[ast::Ident],
        predicate: &ast::Expr,
        env: &Env,
    ) -> QResult<Tabular> {
        let case_sensitive = op.options.iter().any(|o| {
            o.name.name == "kind"
                && matches!(&o.value.kind, ExprKind::Name(id) if id.name == "case_sensitive")
        });
        if let Some(t) = input {
            return self.search_filter(&t, predicate, case_sensitive, env);
        }
        // The tables to search: those named (with wildcards), else every table and
        // every table-valued `let` in scope.
        let mut names: Vec<String> = Vec::new();
        let mut candidates: Vec<String> = env.names().map(String::from).collect();
        candidates.sort();
        candidates.extend(self.tables.table_names());
        for c in candidates {
            let wanted = tables.is_empty()
                || tables
                    .iter()
                    .any(|p| super::operators::glob_match(&p.name, &c));
            if wanted && !names.contains(&c) {
                names.push(c);
            }
        }
        let mut legs = Vec::new();
        for n in names {
            let id = ast::Ident {
                name: n.clone(),
                span: predicate.span,
            };
            let as_expr = ast::Expr {
                kind: ExprKind::Name(id.clone()),
                span: predicate.span,
            };
            if !self.is_tabular(&as_expr, env) {
                continue;
            }
            let t = self.resolve_table(&id, env)?;
            // A table the predicate does not apply to (a column it lacks) is skipped.
            if let Ok(filtered) = self.search_filter(&t, predicate, case_sensitive, env) {
                legs.push((n, filtered));
            }
        }
        if legs.is_empty() {
            return Err(QueryError::semantic(
                "search: no table has the columns this predicate uses",
                predicate.span,
            ));
        }
        self.union_tabulars(legs, Some("$table".into()), false)
    }

    fn search_filter(
        &self,
        t: &Tabular,
        predicate: &ast::Expr,
        case_sensitive: bool,
        env: &Env,
    ) -> QResult<Tabular> {
        let pred = match &predicate.kind {
            ExprKind::Literal(ast::Literal::String(term)) => {
                self.any_column_has(t, term, case_sensitive)
            }
            _ => {
                let mut cx = ExprCtx::new(Some(t), env, "search");
                let b = self.bind_scalar(predicate, &mut cx)?;
                self.convert_bound(b, KqlType::Bool)
            }
        };
        let plan = LogicalPlanBuilder::from(t.plan.clone())
            .filter(pred.expr)?
            .build()?;
        Ok(t.with_plan(plan))
    }

    /// `term` as a whole term of any column's text (`*` in the term: substring).
    fn any_column_has(&self, t: &Tabular, term: &str, case_sensitive: bool) -> Bound {
        let (kind, needle) = if term.contains('*') {
            (StrKind::Contains, term.replace('*', ""))
        } else {
            (StrKind::Has, term.to_string())
        };
        let mut any = Bound::constant(Value::Bool(false), KqlType::Bool);
        for (i, c) in t.cols.iter().enumerate() {
            let col = self.convert_bound(Bound::column(t.col_expr(i), c.ty), KqlType::String);
            let m = self.value_call(
                "search",
                ValueFnKind::Str {
                    kind,
                    case_sensitive,
                    negated: false,
                },
                vec![
                    col,
                    Bound::constant(Value::String(needle.clone()), KqlType::String),
                ],
                KqlType::Bool,
                false,
            );
            any = self.bind_logical(ast::BinaryOp::Or, any, m);
        }
        any
    }
}
