//! `join` (all kinds; the default is `innerunique`) and `lookup`.

use super::{Col, Env, Planner, Tabular};
use crate::error::{QResult, QueryError};
use datafusion::common::{Column, JoinType};
use datafusion::logical_expr::{cast, Expr, LogicalPlanBuilder};
use kql::ast::{self, BinaryOp, ExprKind};

/// A join key pair: left column index, right column index.
type KeyPair = (usize, usize);

impl Planner<'_> {
    pub fn plan_join(
        &self,
        left: Tabular,
        op: &ast::Operator,
        right: &ast::Expr,
        on: &[ast::Expr],
        env: &Env,
        lookup: bool,
    ) -> QResult<Tabular> {
        let right = self.plan_tabular(right, env)?;
        let op_name = if lookup { "lookup" } else { "join" };
        let mut kind = if lookup {
            "leftouter".to_string()
        } else {
            "innerunique".to_string()
        };
        for o in &op.options {
            if o.name.name == "kind" {
                kind = match &o.value.kind {
                    ExprKind::Name(id) => id.name.clone(),
                    _ => self.const_value(&o.value, env, "join")?.to_kql_string(),
                };
            }
        }
        let mut keys: Vec<KeyPair> = Vec::new();
        for e in on {
            self.collect_join_keys(e, &left, &right, op_name, &mut keys)?;
        }
        if keys.is_empty() {
            return Err(QueryError::semantic(
                format!("'{op_name}' needs an 'on' clause naming the columns to match"),
                op.keyword_span,
            ));
        }
        let join_type = match kind.as_str() {
            "innerunique" | "inner" => JoinType::Inner,
            "leftouter" => JoinType::Left,
            "rightouter" => JoinType::Right,
            "fullouter" | "outer" => JoinType::Full,
            "leftsemi" => JoinType::LeftSemi,
            "rightsemi" => JoinType::RightSemi,
            "leftanti" | "anti" | "leftantisemi" => JoinType::LeftAnti,
            "rightanti" | "rightantisemi" => JoinType::RightAnti,
            other => {
                return Err(QueryError::semantic(
                    format!("Unknown join kind '{other}': use inner, innerunique, leftouter, rightouter, fullouter, leftsemi, rightsemi, leftanti or rightanti"),
                    op.keyword_span,
                ))
            }
        };
        if lookup && !matches!(join_type, JoinType::Left | JoinType::Inner) {
            return Err(QueryError::semantic(
                "lookup supports kind=leftouter and kind=inner",
                op.keyword_span,
            ));
        }
        // innerunique: one left row per key.
        let left = if kind == "innerunique" {
            let on_exprs: Vec<Expr> = keys.iter().map(|(l, _)| left.col_expr(*l)).collect();
            let select: Vec<Expr> = (0..left.cols.len()).map(|i| left.col_expr(i)).collect();
            let plan = LogicalPlanBuilder::from(left.plan.clone())
                .distinct_on(on_exprs, select, None)?
                .build()?;
            let t = left.with_plan(plan);
            // distinct_on yields the select expressions; re-alias to the KQL names.
            let items = t.passthrough();
            t.project(items)?
        } else {
            left
        };
        // Qualify both sides so equal names do not clash inside the join.
        let lq = self.internal_name();
        let rq = self.internal_name();
        let lplan = LogicalPlanBuilder::from(left.plan.clone())
            .alias(lq.clone())?
            .build()?;
        let rplan = LogicalPlanBuilder::from(right.plan.clone())
            .alias(rq.clone())?
            .build()?;
        let lcol =
            |i: usize| Expr::Column(Column::new(Some(lq.clone()), left.cols[i].name.clone()));
        let rcol =
            |i: usize| Expr::Column(Column::new(Some(rq.clone()), right.cols[i].name.clone()));
        let mut on_exprs = Vec::new();
        for (l, r) in &keys {
            let (lt, rt) = (left.cols[*l].ty, right.cols[*r].ty);
            let (le, re) = if lt == rt {
                (lcol(*l), rcol(*r))
            } else if lt.is_numeric() && rt.is_numeric() {
                let w = crate::types::arrow_type(lt.max(rt));
                (cast(lcol(*l), w.clone()), cast(rcol(*r), w))
            } else {
                return Err(QueryError::semantic(
                    format!(
                        "'{op_name}': the key columns '{}' ({lt}) and '{}' ({rt}) have different types",
                        left.cols[*l].name, right.cols[*r].name
                    ),
                    op.keyword_span,
                ));
            };
            on_exprs.push(le.eq(re));
        }
        let plan = LogicalPlanBuilder::from(lplan)
            .join_on(rplan, join_type, on_exprs)?
            .build()?;
        let joined = Tabular {
            plan,
            cols: vec![],
            serialized: false,
            name: None,
        };
        let mut proj: Vec<(Expr, Col)> = Vec::new();
        let left_out = !matches!(join_type, JoinType::RightSemi | JoinType::RightAnti);
        let right_out = matches!(
            join_type,
            JoinType::Inner
                | JoinType::Left
                | JoinType::Right
                | JoinType::Full
                | JoinType::RightSemi
                | JoinType::RightAnti
        );
        let mut taken: Vec<String> = Vec::new();
        if left_out {
            for (i, c) in left.cols.iter().enumerate() {
                // lookup/rightouter keep one key column: the right one fills gaps in outer joins.
                proj.push((lcol(i), c.clone()));
                taken.push(c.name.clone());
            }
        }
        if right_out {
            let only_right = !left_out;
            for (i, c) in right.cols.iter().enumerate() {
                if lookup
                    && keys
                        .iter()
                        .any(|(l, r)| *r == i && left.cols[*l].name == c.name)
                {
                    continue;
                }
                let mut name = c.name.clone();
                if !only_right && taken.contains(&name) {
                    let mut k = 1;
                    while taken.contains(&format!("{}{k}", c.name)) {
                        k += 1;
                    }
                    name = format!("{}{k}", c.name);
                }
                taken.push(name.clone());
                proj.push((rcol(i), Col::new(name, c.ty)));
            }
        }
        joined.project(proj)
    }

    fn collect_join_keys(
        &self,
        e: &ast::Expr,
        left: &Tabular,
        right: &Tabular,
        op_name: &str,
        keys: &mut Vec<KeyPair>,
    ) -> QResult<()> {
        match &e.kind {
            ExprKind::Name(id) => {
                let l = left.find(&id.name).ok_or_else(|| self.unknown_column(op_name, &id.name, id.span, left))?;
                let r = right.find(&id.name).ok_or_else(|| self.unknown_column(op_name, &id.name, id.span, right))?;
                keys.push((l, r));
                Ok(())
            }
            ExprKind::Paren(inner) => self.collect_join_keys(inner, left, right, op_name, keys),
            ExprKind::Binary { op: BinaryOp::And, left: a, right: b } => {
                self.collect_join_keys(a, left, right, op_name, keys)?;
                self.collect_join_keys(b, left, right, op_name, keys)
            }
            ExprKind::Binary { op: BinaryOp::Eq, left: a, right: b } => {
                let side = |x: &ast::Expr| -> Option<(String, String, kql::ast::Span)> {
                    if let ExprKind::Member { base, name } = &x.kind {
                        if let ExprKind::Name(b) = &base.kind {
                            return Some((b.name.clone(), name.name.clone(), name.span));
                        }
                    }
                    None
                };
                match (side(a), side(b)) {
                    (Some((sa, ca, spa)), Some((sb, cb, spb))) => {
                        let ((lc, lsp), (rc, rsp)) = match (sa.as_str(), sb.as_str()) {
                            ("$left", "$right") => ((ca, spa), (cb, spb)),
                            ("$right", "$left") => ((cb, spb), (ca, spa)),
                            _ => {
                                return Err(QueryError::semantic(
                                    "join conditions compare $left.column with $right.column",
                                    e.span,
                                ))
                            }
                        };
                        let l = left.find(&lc).ok_or_else(|| self.unknown_column(op_name, &lc, lsp, left))?;
                        let r = right.find(&rc).ok_or_else(|| self.unknown_column(op_name, &rc, rsp, right))?;
                        keys.push((l, r));
                        Ok(())
                    }
                    _ => Err(QueryError::semantic(
                        "join conditions must be column names or $left.column == $right.column",
                        e.span,
                    )),
                }
            }
            _ => Err(QueryError::semantic(
                "join conditions must be column names or $left.column == $right.column, combined with 'and' or ','",
                e.span,
            )),
        }
    }
}
