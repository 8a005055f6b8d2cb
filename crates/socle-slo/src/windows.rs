//! Multi-window multi-burn-rate alert windows per SLO period: Sloth's built-in catalog (Google's
//! SRE workbook numbers for 30 and 28 days) and custom `AlertWindows` (`sloth.slok.dev/v1`).

use serde::Deserialize;

use crate::gofmt::PromDuration;

/// One alert window pair: the error budget share it spends, over a short and a long window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub error_budget_percent: f64,
    pub short: PromDuration,
    pub long: PromDuration,
}

/// The four windows of one SLO period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Windows {
    pub period: PromDuration,
    pub page_quick: Window,
    pub page_slow: Window,
    pub ticket_quick: Window,
    pub ticket_slow: Window,
}

const fn w(percent: f64, short: PromDuration, long: PromDuration) -> Window {
    Window {
        error_budget_percent: percent,
        short,
        long,
    }
}

const fn google(period: PromDuration) -> Windows {
    Windows {
        period,
        page_quick: w(2.0, PromDuration::minutes(5), PromDuration::hours(1)),
        page_slow: w(5.0, PromDuration::minutes(30), PromDuration::hours(6)),
        ticket_quick: w(10.0, PromDuration::hours(2), PromDuration::days(1)),
        ticket_slow: w(10.0, PromDuration::hours(6), PromDuration::days(3)),
    }
}

/// Sloth's embedded catalog: `google-30d.yaml` and `google-28d.yaml`.
pub const DEFAULT_WINDOWS: [Windows; 2] = [
    google(PromDuration::days(30)),
    google(PromDuration::days(28)),
];

impl Windows {
    /// The burn rate that spends `window`'s error budget share over its long window
    /// (Sloth's `getBurnRateFactor`, with Go's `Duration.Hours()`).
    pub fn burn_rate(&self, window: &Window) -> f64 {
        let hours_required = window.error_budget_percent * self.period.hours_f64() / 100.0;
        hours_required / window.long.hours_f64()
    }

    /// Every window the alerts read, without duplicates, shortest first.
    pub fn alert_windows(&self) -> Vec<PromDuration> {
        let mut all = vec![
            self.page_quick.short,
            self.page_quick.long,
            self.page_slow.short,
            self.page_slow.long,
            self.ticket_quick.short,
            self.ticket_quick.long,
            self.ticket_slow.short,
            self.ticket_slow.long,
        ];
        all.sort();
        all.dedup();
        all
    }
}

/// A windows catalog: which SLO periods can be alerted on.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowCatalog(Vec<Windows>);

impl Default for WindowCatalog {
    fn default() -> Self {
        Self(DEFAULT_WINDOWS.to_vec())
    }
}

/// An `AlertWindows` document that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid alert windows: {0}")]
pub struct WindowsError(pub String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlertWindowsDoc {
    api_version: String,
    kind: String,
    spec: AlertWindowsSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlertWindowsSpec {
    slo_period: String,
    page: Pair,
    ticket: Pair,
}

#[derive(Deserialize)]
struct Pair {
    quick: WindowSpec,
    slow: WindowSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WindowSpec {
    error_budget_percent: f64,
    short_window: String,
    long_window: String,
}

fn window(spec: &WindowSpec, what: &str) -> Result<Window, WindowsError> {
    let d = |t: &str| PromDuration::parse(t).map_err(|e| WindowsError(format!("{what}: {e}")));
    let out = w(
        spec.error_budget_percent,
        d(&spec.short_window)?,
        d(&spec.long_window)?,
    );
    if out.short.0 == 0 || out.long.0 == 0 || out.error_budget_percent == 0.0 {
        return Err(WindowsError(format!(
            "{what}: the short and long windows and the error budget percent are required"
        )));
    }
    Ok(out)
}

impl WindowCatalog {
    /// A catalog made of custom `AlertWindows` documents only (as Sloth's
    /// `--slo-period-windows-path`, which replaces the built-in ones).
    pub fn from_yaml_documents(texts: &[&str]) -> Result<Self, WindowsError> {
        let mut out: Vec<Windows> = Vec::new();
        for text in texts {
            let doc: AlertWindowsDoc =
                serde_saphyr::from_str(text).map_err(|e| WindowsError(e.to_string()))?;
            if doc.api_version != "sloth.slok.dev/v1" || doc.kind != "AlertWindows" {
                return Err(WindowsError(
                    "expected apiVersion sloth.slok.dev/v1 and kind AlertWindows".into(),
                ));
            }
            let period = PromDuration::parse(&doc.spec.slo_period)
                .map_err(|e| WindowsError(format!("sloPeriod: {e}")))?;
            if period.0 == 0 {
                return Err(WindowsError("sloPeriod is required".into()));
            }
            let ws = Windows {
                period,
                page_quick: window(&doc.spec.page.quick, "page.quick")?,
                page_slow: window(&doc.spec.page.slow, "page.slow")?,
                ticket_quick: window(&doc.spec.ticket.quick, "ticket.quick")?,
                ticket_slow: window(&doc.spec.ticket.slow, "ticket.slow")?,
            };
            match out.iter().find(|o| o.period == period) {
                Some(existing) if *existing != ws => {
                    return Err(WindowsError(format!(
                        "the {period} SLO period is defined twice"
                    )));
                }
                Some(_) => {}
                None => out.push(ws),
            }
        }
        Ok(Self(out))
    }

    /// The windows of an SLO period, when the catalog has them.
    pub fn get(&self, period: PromDuration) -> Option<&Windows> {
        self.0.iter().find(|w| w.period == period)
    }

    /// The periods the catalog supports.
    pub fn periods(&self) -> Vec<PromDuration> {
        self.0.iter().map(|w| w.period).collect()
    }
}
