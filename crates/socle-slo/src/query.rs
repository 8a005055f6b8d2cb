//! Sloth's SLI query templates: `{{.window}}` (spaces allowed inside the braces) stands for the
//! window each recording rule measures.

/// Where `{{ .window }}` occurs in `query`: (start, end) byte ranges.
fn window_vars(query: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = query[from..].find("{{").map(|i| i + from) {
        let inner_start = open + 2;
        let Some(close) = query[inner_start..].find("}}").map(|i| i + inner_start) else {
            break;
        };
        // Sloth's regex: `{{ *\.window *}}` (spaces only, no other whitespace).
        if query[inner_start..close].trim_matches(' ') == ".window" {
            out.push((open, close + 2));
        }
        from = close + 2;
    }
    out
}

/// Whether the query uses the window variable.
pub fn has_window(query: &str) -> bool {
    !window_vars(query).is_empty()
}

/// The query with every `{{.window}}` replaced by `window`.
pub fn render(query: &str, window: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut last = 0;
    for (start, end) in window_vars(query) {
        out.push_str(&query[last..start]);
        out.push_str(window);
        last = end;
    }
    out.push_str(&query[last..]);
    out
}

/// Checks a query as Sloth does: rendered with a 1m window, then parsed as PromQL.
pub fn check_promql(query: &str) -> Result<(), String> {
    if query.trim().is_empty() {
        return Err("the query is required".into());
    }
    let rendered = render(query, "1m");
    if rendered.contains("{{") {
        return Err("only the {{.window}} template variable is supported".into());
    }
    promql_parser::parser::parse(&rendered)
        .map(|_| ())
        .map_err(|e| format!("invalid PromQL: {}", e.trim()))
}

/// A series a query reads: its metric name and its label matchers `(name, value)` (the value
/// as written, a regex for `=~`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub metric: Option<String>,
    pub labels: Vec<(String, String)>,
}

/// Every series selector of a query (rendered with a 1m window), in the order written.
pub fn selectors(query: &str) -> Result<Vec<Selector>, String> {
    use promql_parser::parser::{Expr, VectorSelector};
    fn of(vs: &VectorSelector) -> Selector {
        Selector {
            metric: vs.name.clone(),
            labels: vs
                .matchers
                .matchers
                .iter()
                .filter(|m| m.name != "__name__")
                .map(|m| (m.name.clone(), m.value.clone()))
                .collect(),
        }
    }
    fn walk(e: &Expr, out: &mut Vec<Selector>) {
        match e {
            Expr::Aggregate(a) => {
                walk(&a.expr, out);
                if let Some(p) = &a.param {
                    walk(p, out);
                }
            }
            Expr::Unary(u) => walk(&u.expr, out),
            Expr::Binary(b) => {
                walk(&b.lhs, out);
                walk(&b.rhs, out);
            }
            Expr::Paren(p) => walk(&p.expr, out),
            Expr::Subquery(s) => walk(&s.expr, out),
            Expr::Call(c) => c.args.args.iter().for_each(|a| walk(a, out)),
            Expr::VectorSelector(vs) => out.push(of(vs)),
            Expr::MatrixSelector(ms) => out.push(of(&ms.vs)),
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
    }
    let expr = promql_parser::parser::parse(&render(query, "1m"))
        .map_err(|e| format!("invalid PromQL: {}", e.trim()))?;
    let mut out = Vec::new();
    walk(&expr, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_spelling_of_the_window_variable() {
        assert_eq!(render("rate(x[{{.window}}])", "5m"), "rate(x[5m])");
        assert_eq!(
            render("rate(x[{{ .window }}]) / rate(y[{{.window  }}])", "1h"),
            "rate(x[1h]) / rate(y[1h])"
        );
        assert!(!has_window("rate(x[5m])"));
        assert!(!has_window("rate(x[{{.Window}}])"));
    }

    #[test]
    fn lists_the_series_a_query_reads() {
        let s = selectors(
            "(sum(rate(a_count[{{.window}}])) - sum(rate(a_bucket{le=\"0.25\",x=~\"5..\"}[{{.window}}])))",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].metric.as_deref(), Some("a_count"));
        assert_eq!(
            s[1].labels,
            vec![("le".into(), "0.25".into()), ("x".into(), "5..".into())]
        );
    }

    #[test]
    fn checks_promql_after_rendering() {
        assert!(check_promql("sum(rate(x{a=\"b\"}[{{.window}}]))").is_ok());
        assert!(check_promql("sum(rate(x[{{.window}}]").is_err());
        assert!(check_promql("rate(x[{{.other}}])").is_err());
        assert!(check_promql("  ").is_err());
    }
}
