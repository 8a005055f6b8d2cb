//! Sloth's SLO validation (`pkg/common/validation`): names, objective range, SLI queries (with
//! `{{.window}}`, valid PromQL), alert names, labels and annotations, and a supported SLO period.

use crate::gofmt::PromDuration;
use crate::model::{AlertMeta, Field, Labels, Sli, Slo};
use crate::query::{check_promql, has_window};
use crate::windows::WindowCatalog;

/// One broken rule: the field it is about and why.
pub type Problem = (Field, String);

/// Sloth's name rule: starts and ends with an alphanumeric, only alphanumerics, `.`, `_`, `-`
/// (so at least two characters).
pub fn is_valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

fn name_problem(what: &str, name: &str) -> Option<String> {
    if name.is_empty() {
        Some(format!("the {what} is required"))
    } else if !is_valid_name(name) {
        Some(format!(
            "the {what} {name:?} must start and end with an alphanumeric and contain only alphanumerics, '.', '_' and '-'"
        ))
    } else {
        None
    }
}

fn label_problems(field: Field, what: &str, labels: &Labels, out: &mut Vec<Problem>) {
    for (k, v) in labels {
        if k == "__name__" {
            out.push((field, format!("the {what} key \"__name__\" is not allowed")));
        } else if k.is_empty() {
            out.push((field, format!("a {what} key is empty")));
        }
        if v.is_empty() {
            out.push((field, format!("the {what} {k:?} has an empty value")));
        }
    }
}

fn query_problems(field: Field, what: &str, query: &str, out: &mut Vec<Problem>) {
    if query.is_empty() {
        out.push((field, format!("the {what} query is required")));
    } else if !has_window(query) {
        out.push((
            field,
            format!("the {what} query must contain the {{{{.window}}}} variable"),
        ));
    } else if let Err(e) = check_promql(query) {
        out.push((field, format!("the {what} query: {e}")));
    }
}

fn sli_problems(sli: &Sli, out: &mut Vec<Problem>) {
    match sli {
        Sli::Missing => out.push((Field::Sli, "an SLI (events or raw) is required".into())),
        Sli::Ambiguous => out.push((Field::Sli, "only one SLI type (events, raw or plugin) is allowed".into())),
        Sli::Plugin { id } => out.push((
            Field::Sli,
            format!("SLI plugin {id:?}: Sloth SLI plugins are Go code and are not supported; write the query as events or raw"),
        )),
        Sli::Events {
            error_query,
            total_query,
        } => {
            if error_query == total_query {
                out.push((Field::Sli, "the error and total queries cannot be the same".into()));
            }
            query_problems(Field::ErrorQuery, "error", error_query, out);
            query_problems(Field::TotalQuery, "total", total_query, out);
        }
        Sli::Raw { error_ratio_query } => {
            query_problems(Field::RawQuery, "error ratio", error_ratio_query, out)
        }
    }
}

fn alert_problems(field: Field, what: &str, alert: &AlertMeta, out: &mut Vec<Problem>) {
    if alert.disable {
        return;
    }
    if alert.name.is_empty() {
        out.push((
            Field::AlertName,
            format!("the {what} alert name is required"),
        ));
    }
    label_problems(field, &format!("{what} alert label"), &alert.labels, out);
    for (k, v) in &alert.annotations {
        if k.is_empty() {
            out.push((field, format!("a {what} alert annotation key is empty")));
        }
        if v.is_empty() {
            out.push((
                field,
                format!("the {what} alert annotation {k:?} has an empty value"),
            ));
        }
    }
}

/// Every rule `slo` breaks, generated with `default_period` and `catalog`.
pub fn validate_slo(
    slo: &Slo,
    default_period: PromDuration,
    catalog: &WindowCatalog,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let name = name_problem("SLO name", &slo.name);
    let service = name_problem("service", &slo.service);
    // The id is service and name joined: checked on its own only when both are valid.
    let id = (name.is_none() && service.is_none())
        .then(|| name_problem("SLO id", &slo.id))
        .flatten();
    out.extend(name.into_iter().chain(id).map(|p| (Field::Name, p)));
    out.extend(service.map(|p| (Field::Service, p)));
    let period = slo.period.unwrap_or(default_period);
    if period.0 == 0 {
        out.push((Field::Period, "the SLO period is required".into()));
    } else if catalog.get(period).is_none() {
        let known: Vec<String> = catalog.periods().iter().map(|p| p.to_string()).collect();
        out.push((
            Field::Period,
            format!(
                "the {period} SLO period is not supported (known periods: {})",
                known.join(", ")
            ),
        ));
    }
    if !(slo.objective > 0.0 && slo.objective <= 100.0) {
        out.push((
            Field::Objective,
            format!(
                "the objective must be above 0 and at most 100 (percent), not {}",
                slo.objective
            ),
        ));
    }
    label_problems(Field::Labels, "label", &slo.labels, &mut out);
    sli_problems(&slo.sli, &mut out);
    alert_problems(Field::PageAlert, "page", &slo.page_alert, &mut out);
    alert_problems(Field::TicketAlert, "ticket", &slo.ticket_alert, &mut out);
    if !slo.plugins.is_empty() {
        out.push((
            Field::Plugins,
            format!(
                "SLO plugins ({}) are Go code Sloth loads and are not supported",
                slo.plugins.join(", ")
            ),
        ));
    }
    out
}
