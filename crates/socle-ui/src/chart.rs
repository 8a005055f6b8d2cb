//! Server-side SVG line charts for weekly DORA trends (no JavaScript).
//!
//! [`line_chart`] draws a full chart: a y axis with a few "nice" ticks starting at zero,
//! gridlines, thinned x labels, the line (one `<path>` per run of consecutive values, so a
//! week without data leaves a gap) and one dot per value with a hover `<title>`.
//! [`sparkline`] draws a tiny axis-less trend line for tables and cards.
//!
//! Colours are left to CSS: the elements carry the classes `chart-grid`, `chart-axis`,
//! `chart-line`, `chart-dot` and `chart-label`; strokes default to `currentColor`.
//! Every piece of text goes through maud and is therefore escaped. The output is a pure
//! function of the input, so it is deterministic and snapshot-testable.

use maud::{Markup, html};

/// One data point of a chart: a week label and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The x-axis label, e.g. `"Oct 6"`.
    pub label: String,
    /// The value; `None` means "no data that week" and leaves a gap in the line.
    /// Non-finite values (NaN, ±∞) are treated like `None`.
    pub value: Option<f64>,
}

/// A line chart to draw with [`line_chart`].
#[derive(Debug, Clone, Copy)]
pub struct Chart<'a> {
    /// The chart's title (the accessible name, also used to derive unique element ids).
    pub title: &'a str,
    /// The unit shown after values, e.g. `"per day"` or `"h"`; may be empty.
    pub unit: &'a str,
    /// The points, left to right.
    pub points: &'a [Point],
    /// Width of the viewBox in user units.
    pub width: u32,
    /// Height of the viewBox in user units.
    pub height: u32,
}

/// Smallest drawable chart; smaller sizes are enlarged so the layout never degenerates.
const MIN_WIDTH: f64 = 160.0;
const MIN_HEIGHT: f64 = 100.0;
/// Space for the y tick labels.
const MARGIN_LEFT: f64 = 44.0;
const MARGIN_RIGHT: f64 = 12.0;
const MARGIN_TOP: f64 = 12.0;
/// Space for the x labels.
const MARGIN_BOTTOM: f64 = 28.0;
/// Horizontal inset of the first and last point, so edge labels stay inside the svg.
const X_INSET: f64 = 20.0;
/// At most this many x labels are drawn.
const MAX_X_LABELS: usize = 8;
/// Minimal horizontal room per x label, in user units.
const MIN_LABEL_SPACING: f64 = 56.0;

/// Draws a line chart as an inline `<svg class="chart" role="img">`.
///
/// The svg is labelled by a `<title>` (the chart title) and a `<desc>` summarising the
/// series in plain language ("From 1.2 to 3.4 per day; lowest 0.5, highest 4.1", or
/// "No data"). Element ids are derived from the slugified title, so two charts with
/// different titles can share a page.
pub fn line_chart(c: &Chart) -> Markup {
    let id = format!("chart-{}", slug(c.title));
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");

    let width = f64::from(c.width).max(MIN_WIDTH);
    let height = f64::from(c.height).max(MIN_HEIGHT);
    let plot_left = MARGIN_LEFT;
    let plot_right = width - MARGIN_RIGHT;
    let plot_top = MARGIN_TOP;
    let plot_bottom = height - MARGIN_BOTTOM;

    let values: Vec<Option<f64>> = c.points.iter().map(|p| clean(p.value)).collect();
    let max = values.iter().flatten().copied().fold(0.0_f64, f64::max);
    let ticks = nice_ticks(max);
    let top = ticks.last().copied().unwrap_or(1.0);

    let n = c.points.len();
    let x_of = |i: usize| -> f64 {
        if n <= 1 {
            (plot_left + plot_right) / 2.0
        } else {
            // Precision loss is irrelevant for indices of a chart.
            let (first, last) = (plot_left + X_INSET, plot_right - X_INSET);
            first + (last - first) * (i as f64) / ((n - 1) as f64)
        }
    };
    let y_of = |v: f64| -> f64 {
        let ratio = if top > 0.0 { v / top } else { 0.0 };
        // Negative (unexpected) values are pinned to the axis instead of leaving the plot.
        let ratio = if ratio.is_finite() {
            ratio.clamp(0.0, 1.0)
        } else {
            0.0
        };
        plot_bottom - (plot_bottom - plot_top) * ratio
    };

    let label_step = label_step(n, plot_right - plot_left - 2.0 * X_INSET);
    let paths: Vec<String> = runs(&values)
        .into_iter()
        .map(|run| {
            run.iter()
                .enumerate()
                .map(|(k, &(i, v))| {
                    let cmd = if k == 0 { 'M' } else { 'L' };
                    format!("{cmd}{} {}", fmt_num(x_of(i)), fmt_num(y_of(v)))
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();

    html! {
        svg class="chart" id=(id) viewBox=(format!("0 0 {} {}", fmt_num(width), fmt_num(height)))
            xmlns="http://www.w3.org/2000/svg" role="img"
            aria-labelledby=(format!("{title_id} {desc_id}")) {
            title id=(title_id) { (c.title) }
            desc id=(desc_id) { (describe(&values, c.unit)) }
            g class="chart-grid" stroke="currentColor" {
                @for t in &ticks {
                    line x1=(fmt_num(plot_left)) x2=(fmt_num(plot_right))
                        y1=(fmt_num(y_of(*t))) y2=(fmt_num(y_of(*t))) {}
                }
            }
            g class="chart-label chart-label-y" text-anchor="end" {
                @for t in &ticks {
                    text x=(fmt_num(plot_left - 6.0)) y=(fmt_num(y_of(*t) + 4.0)) { (fmt_num(*t)) }
                }
            }
            line class="chart-axis" stroke="currentColor"
                x1=(fmt_num(plot_left)) x2=(fmt_num(plot_right))
                y1=(fmt_num(plot_bottom)) y2=(fmt_num(plot_bottom)) {}
            g class="chart-label chart-label-x" text-anchor="middle" {
                @for (i, p) in c.points.iter().enumerate() {
                    @if i % label_step == 0 {
                        text x=(fmt_num(x_of(i))) y=(fmt_num(plot_bottom + 18.0)) { (p.label) }
                    }
                }
            }
            @for d in &paths {
                path class="chart-line" d=(d) fill="none" stroke="currentColor" {}
            }
            @for (i, (p, v)) in c.points.iter().zip(&values).enumerate() {
                @if let Some(v) = v {
                    circle class="chart-dot" cx=(fmt_num(x_of(i))) cy=(fmt_num(y_of(*v))) r="3" {
                        title { (p.label) ": " (with_unit(*v, c.unit)) }
                    }
                }
            }
        }
    }
}

/// Draws a small inline trend line: `<svg class="sparkline" role="img" aria-label=label>`
/// with a single `<path>` and no axes.
///
/// The line is scaled between the smallest and largest value; `None` and non-finite
/// values leave gaps (as separate sub-paths of the one `<path>`).
pub fn sparkline(values: &[Option<f64>], width: u32, height: u32, label: &str) -> Markup {
    let width = f64::from(width.max(8));
    let height = f64::from(height.max(4));
    let pad = 1.5;
    let values: Vec<Option<f64>> = values.iter().map(|v| clean(*v)).collect();
    let (lo, hi) = values
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let n = values.len();
    let x_of = |i: usize| -> f64 {
        if n <= 1 {
            width / 2.0
        } else {
            pad + (width - 2.0 * pad) * (i as f64) / ((n - 1) as f64)
        }
    };
    let y_of = |v: f64| -> f64 {
        let span = hi - lo;
        if span > 0.0 && span.is_finite() {
            height - pad - (height - 2.0 * pad) * (v - lo) / span
        } else {
            height / 2.0
        }
    };
    let d = runs(&values)
        .into_iter()
        .map(|run| match run.as_slice() {
            // A lone value is drawn as a short horizontal tick so it stays visible.
            [(i, v)] => format!("M{} {} h2", fmt_num(x_of(*i) - 1.0), fmt_num(y_of(*v))),
            _ => run
                .iter()
                .enumerate()
                .map(|(k, (i, v))| {
                    let cmd = if k == 0 { 'M' } else { 'L' };
                    format!("{cmd}{} {}", fmt_num(x_of(*i)), fmt_num(y_of(*v)))
                })
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect::<Vec<_>>()
        .join(" ");
    html! {
        svg class="sparkline" viewBox=(format!("0 0 {} {}", fmt_num(width), fmt_num(height)))
            width=(fmt_num(width)) height=(fmt_num(height))
            xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(label) {
            path class="sparkline-line" d=(d) fill="none" stroke="currentColor"
                stroke-linejoin="round" stroke-linecap="round" {}
        }
    }
}

/// One bar of a [`bar_chart`]: a label and a count.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
}

/// Height of one bar's row in a [`bar_chart`], and the room for its label.
const BAR_ROW: f64 = 28.0;
const BAR_LABEL: f64 = 110.0;
const BAR_VALUE: f64 = 56.0;

/// Draws a horizontal bar chart as an inline `<svg class="chart bars" role="img">`: one row
/// per bar (label, bar scaled to the largest value, value), labelled by a `<title>` and a
/// `<desc>` listing every bar in plain language ("Bronze: 3, Silver: 5"). Bars carry the
/// classes `chart-bar` and `chart-bar-N` (N: the bar's position) for CSS colours.
pub fn bar_chart(title: &str, bars: &[Bar], width: u32) -> Markup {
    let id = format!("chart-{}", slug(title));
    let width = f64::from(width).max(MIN_WIDTH + BAR_LABEL);
    let height = BAR_ROW * bars.len().max(1) as f64 + 8.0;
    let max = bars
        .iter()
        .map(|b| b.value)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let room = width - BAR_LABEL - BAR_VALUE;
    let len = |v: f64| {
        if max > 0.0 && v.is_finite() {
            (room * v / max).clamp(0.0, room)
        } else {
            0.0
        }
    };
    let desc = if bars.is_empty() {
        "No data".to_owned()
    } else {
        bars.iter()
            .map(|b| format!("{}: {}", b.label, fmt_num(b.value)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    html! {
        svg class="chart bars" id=(id) viewBox=(format!("0 0 {} {}", fmt_num(width), fmt_num(height)))
            xmlns="http://www.w3.org/2000/svg" role="img"
            aria-labelledby=(format!("{id}-title {id}-desc")) {
            title id=(format!("{id}-title")) { (title) }
            desc id=(format!("{id}-desc")) { (desc) }
            @for (i, b) in bars.iter().enumerate() {
                @let y = 4.0 + BAR_ROW * i as f64;
                text class="chart-label" x=(fmt_num(BAR_LABEL - 8.0)) y=(fmt_num(y + 18.0)) text-anchor="end" { (b.label) }
                rect class=(format!("chart-bar chart-bar-{i}")) x=(fmt_num(BAR_LABEL)) y=(fmt_num(y + 4.0))
                    width=(fmt_num(len(b.value))) height=(fmt_num(BAR_ROW - 8.0)) fill="currentColor" {
                    title { (b.label) ": " (fmt_num(b.value)) }
                }
                text class="chart-label" x=(fmt_num(BAR_LABEL + len(b.value) + 6.0)) y=(fmt_num(y + 18.0)) { (fmt_num(b.value)) }
            }
        }
    }
}

/// Returns 3–5 evenly spaced "nice" tick values (steps of 1, 2, 2.5 or 5 × 10ⁿ) starting
/// at 0, the last one being at least `max`.
///
/// A non-positive or non-finite `max` (all-zero, negative or empty series) yields the
/// ticks for a maximum of 1.
pub fn nice_ticks(max: f64) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 4.0;
    let magnitude = 10_f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| step * 4.0 >= max * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    if !(step.is_finite() && step > 0.0) {
        // Only reachable for absurd magnitudes near f64::MAX.
        return vec![0.0, max / 2.0, max];
    }
    let count = (max / step - 1e-9).ceil().clamp(2.0, 4.0);
    // `count` is a small integer in 2..=4.
    (0..=count as u32).map(|i| f64::from(i) * step).collect()
}

/// Formats a number compactly: at most two decimals, no trailing zeros, never `-0`.
///
/// Non-finite values are rendered as `"–"`.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    let s = format!("{v:.2}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" { "0".to_owned() } else { s }
}

/// Turns a title into an id-safe slug: lowercase ASCII letters and digits separated by
/// single dashes; `"chart"` when nothing is left.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "chart".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Keeps finite values only.
fn clean(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite())
}

/// Splits a series into runs of consecutive present values, as `(index, value)` pairs.
fn runs(values: &[Option<f64>]) -> Vec<Vec<(usize, f64)>> {
    let mut out: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => current.push((i, *v)),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Every how many points an x label is drawn, so that at most [`MAX_X_LABELS`] labels
/// appear and they keep [`MIN_LABEL_SPACING`] apart.
fn label_step(n: usize, plot_width: f64) -> usize {
    if n <= 1 {
        return 1;
    }
    // Truncation is intended: the number of labels that fit.
    let fit = ((plot_width / MIN_LABEL_SPACING).floor() as usize + 1).clamp(2, MAX_X_LABELS);
    n.div_ceil(fit).max(1)
}

/// `"3.4 per day"`, or just `"3.4"` without a unit.
fn with_unit(v: f64, unit: &str) -> String {
    if unit.is_empty() {
        fmt_num(v)
    } else {
        format!("{} {unit}", fmt_num(v))
    }
}

/// The plain-language summary used as the chart's `<desc>`.
fn describe(values: &[Option<f64>], unit: &str) -> String {
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let (Some(first), Some(last)) = (present.first(), present.last()) else {
        return "No data".to_owned();
    };
    let missing = values.len() - present.len();
    let mut text = if present.len() == 1 {
        format!("A single value: {}", with_unit(*first, unit))
    } else {
        let min = present.iter().copied().fold(f64::INFINITY, f64::min);
        let max = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!(
            "From {} to {}; lowest {}, highest {}",
            fmt_num(*first),
            with_unit(*last, unit),
            fmt_num(min),
            fmt_num(max)
        )
    };
    if missing > 0 {
        text.push_str(&format!(
            "; no data for {missing} of {} weeks",
            values.len()
        ));
    }
    text
}
