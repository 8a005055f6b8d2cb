//! Lineage from a model's SQL (sqlparser, PostgreSQL dialect): the relations it reads — every
//! table reference, in subqueries, joins, set operations and CTE bodies included, minus the
//! names of the CTEs in scope where it appears — and, for a plain `SELECT … FROM …`, where each
//! output column comes from. `*` and expressions are reported as such; a column whose table
//! cannot be told without the database's catalog is reported unresolved, never guessed.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;
use sqlparser::ast::{
    Expr, Ident, ObjectName, Query, SelectItem, SelectItemQualifiedWildcardKind, SetExpr,
    Statement, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::render::Rendered;
use super::{Model, PipelineError, RenderTarget};

/// A relation a model reads.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Dataset {
    /// Another model of the pipeline.
    Model { name: String },
    /// A raw table declared with `source('source', 'table')`.
    Source { source: String, table: String },
    /// Any other relation, named as written (unquoted names lower-cased, as PostgreSQL folds
    /// them).
    External { name: String },
}

impl Dataset {
    /// `model:x`, `source:s.t` or `table:name`.
    pub fn key(&self) -> String {
        match self {
            Dataset::Model { name } => format!("model:{name}"),
            Dataset::Source { source, table } => format!("source:{source}.{table}"),
            Dataset::External { name } => format!("table:{name}"),
        }
    }
}

/// Where an output column comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ColumnSource {
    /// A column of a relation the model reads.
    Column { dataset: Dataset, column: String },
    /// `*` (every relation read: `dataset` is `None`) or `t.*`.
    Star { dataset: Option<Dataset> },
    /// Any other expression, as written.
    Expression { sql: String },
    /// A column whose relation cannot be told from the SQL alone (unqualified in a join, or read
    /// from a CTE or a subquery).
    Unresolved { reason: String },
}

/// One output column of a plain select.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ColumnLineage {
    pub output: String,
    pub source: ColumnSource,
}

/// A name as PostgreSQL reads it: quoted as written, unquoted lower-cased.
fn norm(i: &Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

fn parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| p.as_ident().map_or_else(|| p.to_string(), norm))
        .collect()
}

/// The query a model's SQL is: exactly one read-only query, or why not (and the line).
pub fn parse_query(sql: &str) -> Result<Query, (Option<usize>, String)> {
    static AT: OnceLock<Regex> = OnceLock::new();
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| {
        let text = e.to_string();
        let at = AT.get_or_init(|| Regex::new(r"at Line: (\d+), Column: \d+").expect("pattern"));
        let line = at
            .captures(&text)
            .and_then(|c| c[1].parse::<usize>().ok())
            .or_else(|| {
                // An error at the end of the text carries no position: the last line.
                text.contains("found: EOF")
                    .then(|| sql.trim_end().lines().count().max(1))
            });
        (line, format!("the SQL could not be read: {text}"))
    })?;
    match statements.into_iter().collect::<Vec<_>>().as_mut_slice() {
        [Statement::Query(q)] if crate::quality::guard::read_only(q) => Ok(*q.clone()),
        [] => Err((None, "the model holds no SQL statement".into())),
        _ => Err((
            None,
            "a model must be exactly one read-only query (SELECT, WITH … SELECT, or a set operation), so it was not run"
                .into(),
        )),
    }
}

/// The CTE scope of one query being visited.
struct Frame {
    query: *const Query,
    /// Names visible from outside this query's own WITH.
    outer: Vec<String>,
    /// Its CTEs: the query of each, and its name.
    ctes: Vec<(*const Query, String)>,
    recursive: bool,
}

impl Frame {
    fn visible(&self) -> impl Iterator<Item = &String> {
        self.outer.iter().chain(self.ctes.iter().map(|(_, n)| n))
    }
}

/// Collects table references, each once in order of appearance, skipping CTE names in scope.
#[derive(Default)]
struct Tables {
    stack: Vec<Frame>,
    found: Vec<Vec<String>>,
}

impl Visitor for Tables {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        let outer = match self.stack.last() {
            None => Vec::new(),
            Some(parent) => match parent.ctes.iter().position(|(p, _)| std::ptr::eq(*p, q)) {
                // A CTE's body sees the CTEs before it (all of them, under WITH RECURSIVE).
                Some(i) => {
                    let upto = if parent.recursive {
                        parent.ctes.len()
                    } else {
                        i
                    };
                    let mut v = parent.outer.clone();
                    v.extend(parent.ctes[..upto].iter().map(|(_, n)| n.clone()));
                    v
                }
                None => parent.visible().cloned().collect(),
            },
        };
        let (ctes, recursive) = match &q.with {
            Some(w) => (
                w.cte_tables
                    .iter()
                    .map(|c| (&*c.query as *const Query, norm(&c.alias.name)))
                    .collect(),
                w.recursive,
            ),
            None => (Vec::new(), false),
        };
        self.stack.push(Frame {
            query: q,
            outer,
            ctes,
            recursive,
        });
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if self.stack.last().is_some_and(|f| std::ptr::eq(f.query, q)) {
            self.stack.pop();
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table {
            name, args: None, ..
        } = t
        {
            let p = parts(name);
            let is_cte = p.len() == 1
                && self
                    .stack
                    .last()
                    .is_some_and(|f| f.visible().any(|n| *n == p[0]));
            if !is_cte && !self.found.contains(&p) {
                self.found.push(p);
            }
        }
        ControlFlow::Continue(())
    }
}

/// Every relation `q` reads (schema-qualified as written), CTEs left out, each once.
pub fn tables_read(q: &Query) -> Vec<Vec<String>> {
    let mut v = Tables::default();
    let _ = q.visit(&mut v);
    v.found
}

/// How a model's references map to datasets.
struct Resolver<'a> {
    target: &'a RenderTarget,
    names: &'a BTreeMap<&'a str, &'a str>,
    /// `source.table` calls of this model.
    sources: Vec<(String, String)>,
}

impl Resolver<'_> {
    fn dataset(&self, p: &[String]) -> Dataset {
        let model = match (self.target.schema.as_deref(), p) {
            (Some(s), [schema, name]) if schema == s => Some(name),
            (None, [name]) => Some(name),
            _ => None,
        };
        if let Some(name) = model.filter(|n| self.names.contains_key(n.as_str())) {
            return Dataset::Model { name: name.clone() };
        }
        if let [schema, table] = p {
            for (source, t) in &self.sources {
                if t == table && self.target.source_schema(source) == schema {
                    return Dataset::Source {
                        source: source.clone(),
                        table: t.clone(),
                    };
                }
            }
        }
        Dataset::External { name: p.join(".") }
    }
}

/// Deepest chain of CTEs a column is traced through.
const MAX_CTE_DEPTH: usize = 16;

/// What a FROM item reads.
enum Input {
    Dataset(Dataset),
    /// A CTE that is a plain select: its columns, already traced.
    Columns(String, Vec<ColumnLineage>),
    /// Something a column cannot be traced through, and why.
    Opaque(String),
}

/// What a FROM item is, under the name a column may qualify it with.
struct Binding {
    key: String,
    full: Vec<String>,
    input: Input,
}

/// The CTEs visible in a query, in definition order (a later one shadows an earlier one of the
/// same name); `None` for those of a `WITH RECURSIVE`, whose columns are not traced.
type Scope<'q> = Vec<(String, Option<&'q Query>)>;

fn scope_of<'q>(q: &'q Query, outer: &Scope<'q>) -> Scope<'q> {
    let mut visible = outer.clone();
    if let Some(w) = &q.with {
        for c in &w.cte_tables {
            let body = (!w.recursive).then_some(&*c.query);
            visible.push((norm(&c.alias.name), body));
        }
    }
    visible
}

fn cte_input(name: &str, visible: &Scope<'_>, r: &Resolver, depth: usize) -> Option<Input> {
    let at = visible.iter().rposition(|(n, _)| n == name)?;
    let input = match visible[at].1 {
        None => Input::Opaque(format!("read from the recursive CTE {name}")),
        Some(_) if depth >= MAX_CTE_DEPTH => {
            Input::Opaque(format!("read through more than {MAX_CTE_DEPTH} CTEs"))
        }
        Some(body) => {
            // A CTE's body sees the CTEs defined before it.
            let before: Scope<'_> = visible[..at].to_vec();
            match columns_in(body, &before, r, depth + 1) {
                Some(cols) => Input::Columns(name.to_owned(), cols),
                None => Input::Opaque(format!("read from the CTE {name}, not a plain select")),
            }
        }
    };
    Some(input)
}

fn bindings(
    select: &sqlparser::ast::Select,
    visible: &Scope<'_>,
    r: &Resolver,
    depth: usize,
) -> Vec<Binding> {
    let mut out = Vec::new();
    let factors = select
        .from
        .iter()
        .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    for f in factors {
        let (key, full, input) = match f {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                let p = parts(name);
                let key = alias
                    .as_ref()
                    .map_or_else(|| p.last().cloned().unwrap_or_default(), |a| norm(&a.name));
                let cte = match p.as_slice() {
                    [one] => cte_input(one, visible, r, depth),
                    _ => None,
                };
                let input = cte.unwrap_or_else(|| Input::Dataset(r.dataset(&p)));
                (key, p, input)
            }
            other => {
                let key = table_alias(other).unwrap_or_default();
                let input = Input::Opaque("read from a subquery or function".into());
                (key, vec![], input)
            }
        };
        out.push(Binding { key, full, input });
    }
    out
}

fn table_alias(f: &TableFactor) -> Option<String> {
    match f {
        TableFactor::Derived { alias, .. }
        | TableFactor::TableFunction { alias, .. }
        | TableFactor::Function { alias, .. } => alias.as_ref().map(|a| norm(&a.name)),
        _ => None,
    }
}

/// Where `column` of a binding comes from.
fn column_from(b: &Binding, column: String) -> ColumnSource {
    match &b.input {
        Input::Dataset(d) => ColumnSource::Column {
            dataset: d.clone(),
            column,
        },
        Input::Columns(name, cols) => {
            if let Some(c) = cols.iter().find(|c| c.output == column) {
                return c.source.clone();
            }
            // `select * from x` passes x's columns through.
            match cols.as_slice() {
                [
                    ColumnLineage {
                        source:
                            ColumnSource::Star {
                                dataset: Some(d), ..
                            },
                        ..
                    },
                ] => ColumnSource::Column {
                    dataset: d.clone(),
                    column,
                },
                _ => ColumnSource::Unresolved {
                    reason: format!("{column} is not a column the CTE {name} names"),
                },
            }
        }
        Input::Opaque(reason) => ColumnSource::Unresolved {
            reason: reason.clone(),
        },
    }
}

fn resolve(b: &[Binding], qualifier: &[String], column: String) -> ColumnSource {
    let found: Vec<&Binding> = if qualifier.is_empty() {
        if b.len() == 1 {
            vec![&b[0]]
        } else {
            return ColumnSource::Unresolved {
                reason: format!(
                    "{column} names no table and the query reads {} relations",
                    b.len()
                ),
            };
        }
    } else {
        b.iter()
            .filter(|x| {
                (qualifier.len() == 1 && x.key == qualifier[0]) || x.full.as_slice() == qualifier
            })
            .collect()
    };
    match found.as_slice() {
        [one] => column_from(one, column),
        _ => ColumnSource::Unresolved {
            reason: format!("{} names no single relation read", qualifier.join(".")),
        },
    }
}

fn column_of(expr: &Expr, b: &[Binding]) -> Option<(String, ColumnSource)> {
    match expr {
        Expr::Identifier(i) => Some((norm(i), resolve(b, &[], norm(i)))),
        Expr::CompoundIdentifier(ids) if ids.len() >= 2 => {
            let (col, qual) = ids.split_last()?;
            let qual: Vec<String> = qual.iter().map(norm).collect();
            Some((norm(col), resolve(b, &qual, norm(col))))
        }
        Expr::Nested(inner) => column_of(inner, b),
        _ => None,
    }
}

/// Column lineage of a plain select (no set operation, no VALUES); `None` otherwise.
fn columns(q: &Query, r: &Resolver) -> Option<Vec<ColumnLineage>> {
    columns_in(q, &Vec::new(), r, 0)
}

/// Column lineage of `q`, the CTEs of `outer` visible to it (traced through when they are
/// plain selects themselves).
fn columns_in(
    q: &Query,
    outer: &Scope<'_>,
    r: &Resolver,
    depth: usize,
) -> Option<Vec<ColumnLineage>> {
    let SetExpr::Select(select) = &*q.body else {
        return None;
    };
    let visible = scope_of(q, outer);
    let b = bindings(select, &visible, r, depth);
    let lineage = select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) => match column_of(e, &b) {
                Some((output, source)) => ColumnLineage { output, source },
                None => ColumnLineage {
                    output: e.to_string(),
                    source: ColumnSource::Expression { sql: e.to_string() },
                },
            },
            SelectItem::ExprWithAlias { expr, alias } => ColumnLineage {
                output: norm(alias),
                source: column_of(expr, &b).map_or_else(
                    || ColumnSource::Expression {
                        sql: expr.to_string(),
                    },
                    |(_, s)| s,
                ),
            },
            SelectItem::Wildcard(_) => ColumnLineage {
                output: "*".into(),
                source: match b.as_slice() {
                    [one] => star(one),
                    _ => ColumnSource::Star { dataset: None },
                },
            },
            SelectItem::QualifiedWildcard(kind, _) => {
                let output = item.to_string();
                let source = match kind {
                    SelectItemQualifiedWildcardKind::ObjectName(n) => {
                        let p = parts(n);
                        match b
                            .iter()
                            .find(|x| (p.len() == 1 && x.key == p[0]) || x.full == p)
                        {
                            Some(one) => star(one),
                            None => ColumnSource::Unresolved {
                                reason: format!("{} names no relation read", p.join(".")),
                            },
                        }
                    }
                    SelectItemQualifiedWildcardKind::Expr(e) => {
                        ColumnSource::Expression { sql: e.to_string() }
                    }
                };
                ColumnLineage { output, source }
            }
        })
        .collect();
    Some(lineage)
}

fn star(b: &Binding) -> ColumnSource {
    match &b.input {
        Input::Dataset(d) => ColumnSource::Star {
            dataset: Some(d.clone()),
        },
        Input::Columns(name, cols) => match cols.as_slice() {
            [
                one @ ColumnLineage {
                    source: ColumnSource::Star { .. },
                    ..
                },
            ] => one.source.clone(),
            _ => ColumnSource::Unresolved {
                reason: format!("* over the CTE {name}: its columns are listed on it"),
            },
        },
        Input::Opaque(reason) => ColumnSource::Unresolved {
            reason: reason.clone(),
        },
    }
}

/// A rendered model read: its SQL parsed (one read-only query), what it reads, its columns.
pub fn read_model(
    r: Rendered,
    target: &RenderTarget,
    names: &BTreeMap<&str, &str>,
) -> Result<Model, PipelineError> {
    let query = parse_query(&r.sql).map_err(|(line, m)| PipelineError::new(&r.file, line, m))?;
    let resolver = Resolver {
        target,
        names,
        sources: r
            .sources
            .iter()
            .filter_map(|c| {
                c.name
                    .split_once('.')
                    .map(|(s, t)| (s.to_owned(), t.to_owned()))
            })
            .collect(),
    };
    let mut reads: Vec<Dataset> = Vec::new();
    for p in tables_read(&query) {
        let d = resolver.dataset(&p);
        if !reads.contains(&d) {
            reads.push(d);
        }
    }
    let columns = columns(&query, &resolver);
    Ok(Model {
        name: r.name,
        file: r.file,
        config: r.config,
        config_line: r.config_line,
        relation: r.relation,
        sql: r.sql,
        refs: r.refs,
        sources: r.sources,
        reads,
        columns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(sql: &str) -> Vec<String> {
        let q = parse_query(sql).unwrap();
        tables_read(&q).into_iter().map(|p| p.join(".")).collect()
    }

    #[test]
    fn tables_minus_ctes_through_subqueries_joins_and_set_operations() {
        let cases: &[(&str, &[&str])] = &[
            ("SELECT a FROM t", &["t"]),
            ("SELECT a FROM s.T JOIN \"U\" ON true", &["s.t", "U"]),
            ("WITH c AS (SELECT * FROM t) SELECT * FROM c", &["t"]),
            (
                "WITH c AS (SELECT * FROM t), d AS (SELECT * FROM c JOIN u USING (id)) SELECT * FROM d",
                &["t", "u"],
            ),
            // a CTE is not in scope in its own body (not recursive): the table is read
            (
                "WITH orders AS (SELECT * FROM orders) SELECT * FROM orders",
                &["orders"],
            ),
            (
                "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) SELECT * FROM r",
                &[],
            ),
            ("SELECT * FROM (SELECT * FROM t) x", &["t"]),
            (
                "SELECT * FROM a WHERE id IN (SELECT id FROM b)",
                &["a", "b"],
            ),
            (
                "SELECT (SELECT max(x) FROM m), coalesce((SELECT 1 FROM n LIMIT 1), 0) FROM a",
                &["m", "n", "a"],
            ),
            (
                "SELECT a FROM x UNION SELECT a FROM y EXCEPT SELECT a FROM z",
                &["x", "y", "z"],
            ),
            ("SELECT * FROM generate_series(1, 3)", &[]),
            // a CTE name inside a subquery of another scope is still the CTE
            (
                "WITH c AS (SELECT 1) SELECT * FROM t WHERE EXISTS (SELECT 1 FROM c)",
                &["t"],
            ),
            // a CTE defined in a subquery is not visible outside it
            (
                "SELECT * FROM (WITH c AS (SELECT 1) SELECT * FROM c) s, c",
                &["c"],
            ),
            ("SELECT * FROM t, t AS t2", &["t"]),
        ];
        for (sql, want) in cases {
            assert_eq!(read(sql), *want, "{sql}");
        }
    }

    #[test]
    fn only_one_read_only_query_is_a_model() {
        for bad in [
            "SELECT 1; DROP TABLE t",
            "DROP TABLE t",
            "WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d",
            "INSERT INTO t SELECT 1",
            "SELECT * FROM t FOR UPDATE",
        ] {
            assert!(parse_query(bad).is_err(), "{bad}");
        }
        let (line, _) = parse_query("SELECT 1\nFROM t\nWHERE )").unwrap_err();
        assert_eq!(line, Some(3));
        let (line, _) = parse_query("SELECT 1\nFROM t\nWHERE (").unwrap_err();
        assert_eq!(line, Some(3));
    }

    fn lineage(sql: &str) -> Option<Vec<(String, ColumnSource)>> {
        let target = RenderTarget {
            schema: Some("a".into()),
            sources: BTreeMap::new(),
        };
        let names: BTreeMap<&str, &str> = [("orders", "models/orders.sql")].into();
        let r = Resolver {
            target: &target,
            names: &names,
            sources: vec![("shop".into(), "raw".into())],
        };
        let q = parse_query(sql).unwrap();
        columns(&q, &r).map(|v| v.into_iter().map(|c| (c.output, c.source)).collect())
    }

    fn col(d: Dataset, c: &str) -> ColumnSource {
        ColumnSource::Column {
            dataset: d,
            column: c.into(),
        }
    }

    fn model(n: &str) -> Dataset {
        Dataset::Model { name: n.into() }
    }

    #[test]
    fn plain_select_columns_map_to_their_table() {
        let got =
            lineage("SELECT id, amount AS total, o.Day, o.* FROM \"a\".\"orders\" o").unwrap();
        assert_eq!(
            got,
            vec![
                ("id".into(), col(model("orders"), "id")),
                ("total".into(), col(model("orders"), "amount")),
                ("day".into(), col(model("orders"), "day")),
                (
                    "o.*".into(),
                    ColumnSource::Star {
                        dataset: Some(model("orders"))
                    }
                ),
            ]
        );
    }

    #[test]
    fn joins_resolve_qualified_columns_and_refuse_to_guess_the_rest() {
        let got = lineage(
            "SELECT o.id, c.name, status, sum(o.x) AS s, * FROM a.orders o JOIN \"shop\".\"raw\" c ON o.c = c.id",
        )
        .unwrap();
        assert_eq!(got[0], ("id".into(), col(model("orders"), "id")));
        assert_eq!(
            got[1],
            (
                "name".into(),
                col(
                    Dataset::Source {
                        source: "shop".into(),
                        table: "raw".into()
                    },
                    "name"
                )
            )
        );
        assert!(matches!(got[2].1, ColumnSource::Unresolved { .. }));
        assert_eq!(
            got[3],
            (
                "s".into(),
                ColumnSource::Expression {
                    sql: "sum(o.x)".into()
                }
            )
        );
        assert_eq!(got[4], ("*".into(), ColumnSource::Star { dataset: None }));
    }

    #[test]
    fn columns_are_traced_through_ctes_that_are_plain_selects() {
        let got = lineage(
            "WITH o AS (SELECT * FROM a.orders), t AS (SELECT id, amount AS total FROM o) \
             SELECT t.id, total, 1 AS one FROM t",
        )
        .unwrap();
        assert_eq!(got[0], ("id".into(), col(model("orders"), "id")));
        assert_eq!(got[1], ("total".into(), col(model("orders"), "amount")));
        // A CTE is not in scope in its own body: `o` here is the table.
        let got = lineage("WITH o AS (SELECT x FROM o) SELECT x FROM o").unwrap();
        assert_eq!(got[0].1, col(Dataset::External { name: "o".into() }, "x"));
    }

    #[test]
    fn ctes_and_set_operations_are_not_guessed() {
        let got = lineage("WITH c AS (SELECT 1 AS x) SELECT y FROM c").unwrap();
        assert!(
            matches!(got[0].1, ColumnSource::Unresolved { .. }),
            "{got:?}"
        );
        let got = lineage(
            "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) SELECT n FROM r",
        )
        .unwrap();
        assert!(
            matches!(got[0].1, ColumnSource::Unresolved { .. }),
            "{got:?}"
        );
        let got =
            lineage("WITH u AS (SELECT a FROM t UNION SELECT a FROM v) SELECT a FROM u").unwrap();
        assert!(
            matches!(got[0].1, ColumnSource::Unresolved { .. }),
            "{got:?}"
        );
        assert_eq!(lineage("SELECT a FROM t UNION SELECT a FROM u"), None);
        let got = lineage("SELECT x FROM elsewhere.t").unwrap();
        assert_eq!(
            got[0].1,
            col(
                Dataset::External {
                    name: "elsewhere.t".into()
                },
                "x"
            )
        );
    }
}
