//! A `sql` rule folded into the table's aggregation, so it costs no scan of its own: a rule that
//! is one aggregate over the checked table (`SELECT count(*) FROM {object} WHERE amount < 0`,
//! `SELECT avg(amount) FROM {object}`) measures the same as the aggregation column
//! `count(*) FILTER (WHERE amount < 0)` or `avg(amount)`. An aggregate query without `GROUP BY`
//! returns exactly one row, so the rule's "first column of the first row" is that column.
//!
//! Folding is an allowlist: one statement, one `SELECT` of one expression from the checked table
//! alone (no alias, join, CTE, subquery, `DISTINCT`, `GROUP BY`, `HAVING`, `ORDER BY`, `LIMIT`,
//! window), every column inside a known aggregate, every other function a known deterministic
//! scalar one. Anything else runs as the rule's own query, as before.

use sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    Ident, ObjectNamePart, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
};
use sqlparser::dialect::{Dialect as ParserDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use super::sql::Dialect;

/// Aggregates whose `FILTER (WHERE …)` restricts them to the rule's rows.
const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "total",
    "bool_and",
    "bool_or",
    "every",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
];

/// Deterministic functions of their arguments alone (no clock, no randomness, no table).
const SCALARS: &[&str] = &[
    "abs",
    "round",
    "ceil",
    "ceiling",
    "floor",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "lower",
    "upper",
    "length",
    "char_length",
    "sqrt",
    "power",
    "sign",
    "mod",
    "ln",
    "exp",
];

/// The rule `query` as one aggregate expression over `table` (SQL text of `d`), or `None` when
/// it is not one the fold takes. `is_table(name, quoted)` says whether the rule's `FROM` names
/// the checked table.
pub fn fold(d: Dialect, query: &str, is_table: impl Fn(&str, bool) -> bool) -> Option<String> {
    let mut statements = parse(d, query)?;
    let [Statement::Query(q)] = statements.as_mut_slice() else {
        return None;
    };
    let select = plain_select(q)?;
    if !reads_only(&select.from, &is_table) {
        return None;
    }
    let filter = select.selection.take();
    if let Some(mut f) = filter.clone()
        && !row_expr(&mut f)
    {
        return None;
    }
    let mut expr = match select.projection.as_mut_slice() {
        [SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }] => e.clone(),
        _ => return None,
    };
    let mut found = false;
    (fold_above(&mut expr, filter.as_ref(), &mut found) && found).then(|| expr.to_string())
}

/// The query's statements as the engine's dialect reads them.
fn parse(d: Dialect, query: &str) -> Option<Vec<Statement>> {
    let parser: &dyn ParserDialect = match d {
        Dialect::Postgres => &PostgreSqlDialect {},
        Dialect::Sqlite => &SQLiteDialect {},
    };
    Parser::parse_sql(parser, query).ok()
}

/// A rule's value read as text (PostgreSQL's `::text`, a JSON scalar): a number, or a boolean
/// as 1/0; anything else is no value.
pub fn value_of_text(text: &str) -> Option<f64> {
    match text {
        "true" => Some(1.0),
        "false" => Some(0.0),
        other => other.parse().ok(),
    }
}

/// The names a rule's query may read as columns (every identifier in it, lower-cased; an
/// over-approximation), or `None` when it reads whole rows (`*` in a select list) or does not
/// parse: the engine then keeps every column.
pub fn columns_read(d: Dialect, query: &str) -> Option<Vec<String>> {
    use sqlparser::ast::{Visit, Visitor};
    use std::ops::ControlFlow;
    struct Names(Vec<String>);
    impl Visitor for Names {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if whole_rows(&q.body) {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Identifier(i) => self.0.push(i.value.to_lowercase()),
                Expr::CompoundIdentifier(parts) => {
                    self.0.extend(parts.last().map(|i| i.value.to_lowercase()));
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    fn whole_rows(body: &SetExpr) -> bool {
        match body {
            SetExpr::Select(s) => s.projection.iter().any(|p| {
                matches!(
                    p,
                    SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
                )
            }),
            SetExpr::SetOperation { left, right, .. } => whole_rows(left) || whole_rows(right),
            SetExpr::Query(q) => whole_rows(&q.body),
            _ => false,
        }
    }
    let statements = parse(d, query)?;
    let mut names = Names(Vec::new());
    if statements.visit(&mut names).is_break() {
        return None;
    }
    names.0.sort();
    names.0.dedup();
    Some(names.0)
}

/// The query's single `SELECT` with nothing around it that changes its one row.
fn plain_select(q: &mut Query) -> Option<&mut Select> {
    if q.with.is_some()
        || q.order_by.is_some()
        || q.limit_clause.is_some()
        || q.fetch.is_some()
        || !q.locks.is_empty()
        || q.for_clause.is_some()
        || q.settings.is_some()
        || q.format_clause.is_some()
        || !q.pipe_operators.is_empty()
    {
        return None;
    }
    let SetExpr::Select(s) = q.body.as_mut() else {
        return None;
    };
    let grouped = match &s.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(e, m) => !e.is_empty() || !m.is_empty(),
    };
    let plain = s.distinct.is_none()
        && s.top.is_none()
        && s.exclude.is_none()
        && s.into.is_none()
        && s.lateral_views.is_empty()
        && s.prewhere.is_none()
        && !grouped
        && s.cluster_by.is_empty()
        && s.distribute_by.is_empty()
        && s.sort_by.is_empty()
        && s.having.is_none()
        && s.named_window.is_empty()
        && s.qualify.is_none()
        && s.value_table_mode.is_none()
        && s.connect_by.is_none();
    plain.then_some(s.as_mut())
}

/// `FROM` is the checked table alone, by a single unaliased name.
fn reads_only(
    from: &[sqlparser::ast::TableWithJoins],
    is_table: &impl Fn(&str, bool) -> bool,
) -> bool {
    let [only] = from else {
        return false;
    };
    if !only.joins.is_empty() {
        return false;
    }
    let TableFactor::Table {
        name,
        alias: None,
        args: None,
        with_hints,
        version: None,
        with_ordinality: false,
        partitions,
        json_path: None,
        sample: None,
        index_hints,
    } = &only.relation
    else {
        return false;
    };
    if !with_hints.is_empty() || !partitions.is_empty() || !index_hints.is_empty() {
        return false;
    }
    match name.0.as_slice() {
        [
            ObjectNamePart::Identifier(Ident {
                value, quote_style, ..
            }),
        ] => is_table(value, quote_style.is_some()),
        _ => false,
    }
}

/// The projection, above the aggregates: no column outside an aggregate; each aggregate gets
/// the rule's `WHERE` as its `FILTER` (and'ed with its own). Sets `found` on an aggregate.
fn fold_above(e: &mut Expr, filter: Option<&Expr>, found: &mut bool) -> bool {
    match e {
        Expr::Identifier(_) => false,
        Expr::Function(f) if is_aggregate(f) => {
            if !plain_call(f) || !aggregate_args(f) {
                return false;
            }
            if let Some(p) = filter {
                f.filter = Some(Box::new(match f.filter.take() {
                    Some(own) => Expr::BinaryOp {
                        left: Box::new(Expr::Nested(Box::new(p.clone()))),
                        op: BinaryOperator::And,
                        right: Box::new(Expr::Nested(own)),
                    },
                    None => p.clone(),
                }));
            }
            *found = true;
            true
        }
        _ => children(e).is_some_and(|cs| cs.into_iter().all(|c| fold_above(c, filter, found))),
    }
}

/// A row expression (the `WHERE`, an aggregate's arguments): allowed forms, no aggregate.
fn row_expr(e: &mut Expr) -> bool {
    match e {
        Expr::Identifier(_) => true,
        Expr::Function(f) if is_aggregate(f) => false,
        _ => children(e).is_some_and(|cs| cs.into_iter().all(row_expr)),
    }
}

/// An aggregate's arguments (`*` allowed) and its own filter are row expressions.
fn aggregate_args(f: &mut Function) -> bool {
    if let Some(own) = f.filter.as_deref_mut()
        && !row_expr(own)
    {
        return false;
    }
    match &mut f.args {
        FunctionArguments::List(list) => {
            list.clauses.is_empty()
                && list.args.iter_mut().all(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => row_expr(x),
                    FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => true,
                    _ => false,
                })
        }
        _ => false,
    }
}

/// The sub-expressions of an allowed form (a leaf has none), or `None` for a form outside the
/// allowlist: subqueries, unknown functions, `EXISTS`, `ANY`, … Columns and aggregates are the
/// callers' to judge.
fn children(e: &mut Expr) -> Option<Vec<&mut Expr>> {
    Some(match e {
        Expr::Value(_) | Expr::TypedString { .. } => vec![],
        Expr::IsNull(x)
        | Expr::IsNotNull(x)
        | Expr::IsTrue(x)
        | Expr::IsNotTrue(x)
        | Expr::IsFalse(x)
        | Expr::IsNotFalse(x)
        | Expr::Nested(x)
        | Expr::UnaryOp { expr: x, .. }
        | Expr::Cast {
            expr: x,
            format: None,
            ..
        } => vec![x.as_mut()],
        Expr::IsDistinctFrom(a, b)
        | Expr::IsNotDistinctFrom(a, b)
        | Expr::BinaryOp {
            left: a, right: b, ..
        }
        | Expr::Like {
            expr: a,
            pattern: b,
            any: false,
            escape_char: None,
            ..
        }
        | Expr::ILike {
            expr: a,
            pattern: b,
            any: false,
            escape_char: None,
            ..
        } => vec![a.as_mut(), b.as_mut()],
        Expr::Between {
            expr, low, high, ..
        } => vec![expr.as_mut(), low.as_mut(), high.as_mut()],
        Expr::InList { expr, list, .. } => {
            let mut v = vec![expr.as_mut()];
            v.extend(list.iter_mut());
            v
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            let mut v: Vec<&mut Expr> = operand.iter_mut().map(|b| b.as_mut()).collect();
            for w in conditions.iter_mut() {
                v.push(&mut w.condition);
                v.push(&mut w.result);
            }
            v.extend(else_result.iter_mut().map(|b| b.as_mut()));
            v
        }
        Expr::Function(f) if is_scalar(f) => match &mut f.args {
            FunctionArguments::None => vec![],
            FunctionArguments::List(list)
                if list.clauses.is_empty() && list.duplicate_treatment.is_none() =>
            {
                let mut v = Vec::new();
                for a in list.args.iter_mut() {
                    match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => v.push(x),
                        _ => return None,
                    }
                }
                v
            }
            _ => return None,
        },
        _ => return None,
    })
}

fn plain_name(func: &Function) -> Option<String> {
    match func.name.0.as_slice() {
        [ObjectNamePart::Identifier(i)] if i.quote_style.is_none() => {
            Some(i.value.to_ascii_lowercase())
        }
        _ => None,
    }
}

fn plain_call(func: &Function) -> bool {
    !func.uses_odbc_syntax
        && matches!(func.parameters, FunctionArguments::None)
        && func.null_treatment.is_none()
        && func.over.is_none()
        && func.within_group.is_empty()
}

fn is_aggregate(func: &Function) -> bool {
    plain_name(func).is_some_and(|n| AGGREGATES.contains(&n.as_str()))
}

fn is_scalar(func: &Function) -> bool {
    plain_call(func)
        && func.filter.is_none()
        && plain_name(func).is_some_and(|n| SCALARS.contains(&n.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders(name: &str, quoted: bool) -> bool {
        if quoted {
            name == "orders"
        } else {
            name.eq_ignore_ascii_case("orders")
        }
    }

    fn pg(q: &str) -> Option<String> {
        fold(Dialect::Postgres, q, orders)
    }

    #[test]
    fn a_where_becomes_the_filter_of_each_aggregate() {
        assert_eq!(
            pg("SELECT count(*) FROM orders WHERE amount < 0").as_deref(),
            Some("count(*) FILTER (WHERE amount < 0)")
        );
        assert_eq!(
            pg("SELECT round(avg(amount), 2) / NULLIF(max(qty), 0) FROM \"orders\" WHERE qty > 1")
                .as_deref(),
            Some(
                "round(avg(amount) FILTER (WHERE qty > 1), 2) / NULLIF(max(qty) FILTER (WHERE qty > 1), 0)"
            )
        );
    }

    #[test]
    fn an_aggregate_without_where_is_kept_as_written() {
        assert_eq!(
            pg("SELECT avg(amount) AS a FROM orders").as_deref(),
            Some("avg(amount)")
        );
        assert_eq!(
            pg("SELECT count(DISTINCT email) FROM Orders").as_deref(),
            Some("count(DISTINCT email)")
        );
    }

    #[test]
    fn a_quote_in_a_literal_stays_inside_it() {
        assert_eq!(
            pg("SELECT count(*) FROM orders WHERE status = 'it''s''); DROP TABLE t; --'")
                .as_deref(),
            Some("count(*) FILTER (WHERE status = 'it''s''); DROP TABLE t; --')")
        );
    }

    #[test]
    fn an_aggregate_s_own_filter_is_and_ed_with_the_where() {
        assert_eq!(
            pg("SELECT count(*) FILTER (WHERE qty > 2) FROM orders WHERE amount > 0").as_deref(),
            Some("count(*) FILTER (WHERE (amount > 0) AND (qty > 2))")
        );
    }

    #[test]
    fn queries_that_are_not_one_aggregate_of_the_table_are_not_folded() {
        for q in [
            "SELECT amount FROM orders",
            "SELECT amount + count(*) FROM orders",
            "SELECT count(*) FROM orders GROUP BY status",
            "SELECT count(*) FROM orders HAVING count(*) > 1",
            "SELECT count(*) FROM orders LIMIT 0",
            "SELECT count(*) FROM orders o",
            "SELECT count(*) FROM customers",
            "SELECT count(*) FROM \"Orders\"",
            "SELECT count(*) FROM other.orders",
            "SELECT count(*) FROM orders JOIN customers ON true",
            "SELECT count(*) FROM orders, customers",
            "SELECT count(*) FROM orders WHERE id IN (SELECT id FROM customers)",
            "SELECT count(*) FROM orders WHERE random() < 0.5",
            "SELECT count(*) FROM orders WHERE max(qty) > 1",
            "SELECT sum(count(*)) FROM orders",
            "SELECT my_agg(amount) FROM orders",
            "SELECT count(*) OVER () FROM orders",
            "SELECT DISTINCT count(*) FROM orders",
            "SELECT count(*), sum(amount) FROM orders",
            "WITH o AS (SELECT * FROM orders) SELECT count(*) FROM o",
            "SELECT count(*) FROM orders UNION SELECT 1",
            "SELECT 1 FROM orders",
            "SELECT count(*) FROM orders; SELECT 1",
            "SELECT count(orders.id) FROM orders",
        ] {
            assert_eq!(pg(q), None, "{q}");
        }
    }

    #[test]
    fn the_columns_a_rule_reads_are_its_identifiers_unless_it_reads_whole_rows() {
        assert_eq!(
            columns_read(
                Dialect::Sqlite,
                "SELECT count(*) FROM t WHERE \"Amount\" < 0 AND t.qty IN (SELECT qty FROM t)"
            ),
            Some(vec!["amount".into(), "qty".into()])
        );
        assert_eq!(
            columns_read(Dialect::Sqlite, "SELECT count(*) FROM t"),
            Some(vec![])
        );
        assert_eq!(columns_read(Dialect::Sqlite, "SELECT * FROM t"), None);
        assert_eq!(
            columns_read(Dialect::Sqlite, "SELECT count(*) FROM (SELECT t.* FROM t)"),
            None
        );
        assert_eq!(columns_read(Dialect::Sqlite, "SELEC"), None);
    }

    #[test]
    fn sqlite_rules_fold_in_sqlite_s_syntax() {
        assert_eq!(
            fold(
                Dialect::Sqlite,
                "SELECT total(amount) FROM orders WHERE sku NOT LIKE 'SKU-%'",
                orders
            )
            .as_deref(),
            Some("total(amount) FILTER (WHERE sku NOT LIKE 'SKU-%')")
        );
    }
}
