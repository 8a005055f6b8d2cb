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
    fn checks_promql_after_rendering() {
        assert!(check_promql("sum(rate(x{a=\"b\"}[{{.window}}]))").is_ok());
        assert!(check_promql("sum(rate(x[{{.window}}]").is_err());
        assert!(check_promql("rate(x[{{.other}}])").is_err());
        assert!(check_promql("  ").is_err());
    }
}
