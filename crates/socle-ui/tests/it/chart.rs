//! Tests for the SVG line charts and sparklines.

use proptest::prelude::*;
use socle_ui::chart::{Chart, Point, fmt_num, line_chart, nice_ticks, sparkline};

fn points(values: &[(&str, Option<f64>)]) -> Vec<Point> {
    values
        .iter()
        .map(|(label, value)| Point {
            label: (*label).to_owned(),
            value: *value,
        })
        .collect()
}

fn chart<'a>(title: &'a str, unit: &'a str, points: &'a [Point]) -> String {
    line_chart(&Chart {
        title,
        unit,
        points,
        width: 480,
        height: 200,
    })
    .into_string()
}

/// One tag per line, for readable snapshots.
fn pretty(svg: &str) -> String {
    svg.replace("><", ">\n<")
}

#[test]
fn gaps_split_the_line_into_one_path_per_run() {
    let pts = points(&[
        ("Oct 6", Some(1.0)),
        ("Oct 13", Some(2.0)),
        ("Oct 20", None),
        ("Oct 27", Some(3.0)),
        ("Nov 3", Some(4.0)),
    ]);
    let svg = chart("Deploys", "per day", &pts);
    assert_eq!(svg.matches("<path").count(), 2, "{svg}");
    assert_eq!(svg.matches(r#"<path class="chart-line""#).count(), 2);
    // One dot per value, none for the missing week.
    assert_eq!(svg.matches("<circle").count(), 4);
    // Each run is a separate path: the first has two points, "M… L…".
    let first_d = svg
        .split(r#"class="chart-line" d=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a path");
    assert_eq!(first_d.matches('M').count(), 1);
    assert_eq!(first_d.matches('L').count(), 1);
}

#[test]
fn nan_and_infinite_values_are_gaps() {
    let pts = points(&[
        ("a", Some(1.0)),
        ("b", Some(f64::NAN)),
        ("c", Some(2.0)),
        ("d", Some(f64::INFINITY)),
        ("e", Some(3.0)),
    ]);
    let svg = chart("Lead time", "h", &pts);
    assert_eq!(svg.matches("<path").count(), 3);
    assert_eq!(svg.matches("<circle").count(), 3);
    assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
}

#[test]
fn ticks_are_nice_and_cover_the_maximum() {
    assert_eq!(nice_ticks(4.1), vec![0.0, 2.0, 4.0, 6.0]);
    assert_eq!(nice_ticks(3.4), vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_eq!(nice_ticks(100.0), vec![0.0, 25.0, 50.0, 75.0, 100.0]);
    assert_eq!(nice_ticks(7.0), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
    assert_eq!(nice_ticks(9.0), vec![0.0, 2.5, 5.0, 7.5, 10.0]);
    assert_eq!(nice_ticks(0.3), vec![0.0, 0.1, 0.2, 0.30000000000000004]);
    // Degenerate maxima fall back to a 0..1 axis.
    for max in [0.0, -5.0, f64::NAN, f64::INFINITY] {
        assert_eq!(nice_ticks(max), vec![0.0, 0.25, 0.5, 0.75, 1.0], "{max}");
    }
}

#[test]
fn y_axis_labels_match_the_ticks() {
    let pts = points(&[("Oct 6", Some(1.2)), ("Oct 13", Some(4.1))]);
    let svg = chart("Deploys", "per day", &pts);
    let y_labels = svg
        .split(r#"<g class="chart-label chart-label-y" text-anchor="end">"#)
        .nth(1)
        .and_then(|s| s.split("</g>").next())
        .expect("y labels");
    let texts: Vec<&str> = y_labels
        .split("</text>")
        .filter_map(|t| t.rsplit('>').next())
        .filter(|t| !t.is_empty())
        .collect();
    assert_eq!(texts, ["0", "2", "4", "6"]);
    assert_eq!(
        svg.matches("<line").count(),
        4 + 1,
        "4 gridlines and the axis"
    );
}

proptest! {
    #[test]
    fn nice_ticks_properties(max in 1e-6f64..1e12) {
        let ticks = nice_ticks(max);
        prop_assert!((3..=5).contains(&ticks.len()), "{ticks:?}");
        prop_assert_eq!(ticks[0], 0.0);
        prop_assert!(*ticks.last().unwrap() >= max * (1.0 - 1e-9), "{ticks:?} < {max}");
        let step = ticks[1];
        let mantissa = step / 10f64.powf(step.log10().floor());
        prop_assert!(
            [1.0, 2.0, 2.5, 5.0, 10.0].iter().any(|m| (m - mantissa).abs() < 1e-6),
            "step {step} is not nice"
        );
    }

    #[test]
    fn never_panics(values in proptest::collection::vec(proptest::option::of(any::<f64>()), 0..40)) {
        let pts: Vec<Point> = values.iter().map(|v| Point { label: "w".into(), value: *v }).collect();
        let svg = chart("Any", "u", &pts);
        prop_assert!(svg.starts_with("<svg"));
        let spark = sparkline(&values, 80, 20, "trend").into_string();
        prop_assert_eq!(spark.matches("<path").count(), 1);
    }
}

#[test]
fn numbers_are_compact() {
    assert_eq!(fmt_num(3.0), "3");
    assert_eq!(fmt_num(2.5), "2.5");
    assert_eq!(fmt_num(1.23456), "1.23");
    assert_eq!(fmt_num(-0.001), "0");
    assert_eq!(fmt_num(-0.0), "0");
    assert_eq!(fmt_num(-1.5), "-1.5");
    assert_eq!(fmt_num(1000.0), "1000");
}

#[test]
fn description_summarises_the_series() {
    let pts = points(&[
        ("Oct 6", Some(1.2)),
        ("Oct 13", Some(0.5)),
        ("Oct 20", Some(4.1)),
        ("Oct 27", Some(3.4)),
    ]);
    let svg = chart("Deploys", "per day", &pts);
    assert!(
        svg.contains("<desc id=\"chart-deploys-desc\">From 1.2 to 3.4 per day; lowest 0.5, highest 4.1</desc>"),
        "{svg}"
    );
    let with_gap = points(&[("a", Some(2.0)), ("b", None), ("c", Some(1.0))]);
    let svg = chart("Failures", "", &with_gap);
    assert!(
        svg.contains(">From 2 to 1; lowest 1, highest 2; no data for 1 of 3 weeks</desc>"),
        "{svg}"
    );
}

#[test]
fn all_none_says_no_data() {
    let pts = points(&[("Oct 6", None), ("Oct 13", None)]);
    let svg = chart("MTTR", "h", &pts);
    assert!(svg.contains(">No data</desc>"), "{svg}");
    assert!(!svg.contains("<path"));
    assert!(!svg.contains("<circle"));
    // The axis is still drawn, with a 0..1 scale.
    assert!(svg.contains(">0</text>") && svg.contains(">1</text>"));
    assert!(chart("Empty", "h", &[]).contains(">No data</desc>"));
}

#[test]
fn all_zero_and_single_point_series() {
    let zeros = points(&[("a", Some(0.0)), ("b", Some(0.0)), ("c", Some(0.0))]);
    let svg = chart("Zero", "", &zeros);
    assert_eq!(svg.matches("<path").count(), 1);
    assert!(svg.contains("From 0 to 0; lowest 0, highest 0"));

    let single = points(&[("Oct 6", Some(2.0))]);
    let svg = chart("One", "per day", &single);
    assert!(svg.contains(">A single value: 2 per day</desc>"), "{svg}");
    // A single point sits in the middle of the plot (480 wide: 44..468).
    assert!(
        svg.contains(r#"<circle class="chart-dot" cx="256""#),
        "{svg}"
    );

    let negative = points(&[("a", Some(-3.0)), ("b", Some(1.0))]);
    let svg = chart("Negative", "", &negative);
    assert!(svg.contains("lowest -3, highest 1"));
}

#[test]
fn text_is_escaped() {
    let pts = points(&[("<script>", Some(1.0)), ("b&c", Some(2.0))]);
    let svg = chart("<script>alert(1)</script>", "\"units\"", &pts);
    assert!(!svg.contains("<script>"), "{svg}");
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;</title>"));
    assert!(svg.contains("<title>&lt;script&gt;: 1 &quot;units&quot;</title>"));
    assert!(svg.contains(">b&amp;c</text>"));
}

#[test]
fn dots_have_hover_titles() {
    let pts = points(&[("Oct 6", Some(1.25)), ("Oct 13", Some(3.0))]);
    let svg = chart("Deploys", "per day", &pts);
    assert!(svg.contains("<title>Oct 6: 1.25 per day</title></circle>"));
    assert!(svg.contains("<title>Oct 13: 3 per day</title></circle>"));
}

#[test]
fn x_labels_are_thinned() {
    let labels: Vec<String> = (1..=26).map(|w| format!("W{w}")).collect();
    let pts: Vec<Point> = labels
        .iter()
        .map(|l| Point {
            label: l.clone(),
            value: Some(1.0),
        })
        .collect();
    let svg = chart("Half a year", "", &pts);
    let x_labels = svg
        .split(r#"<g class="chart-label chart-label-x" text-anchor="middle">"#)
        .nth(1)
        .and_then(|s| s.split("</g>").next())
        .expect("x labels");
    let count = x_labels.matches("<text").count();
    assert!((2..=8).contains(&count), "{count} labels");
    assert!(x_labels.contains(">W1<"));
    // All points still get a dot.
    assert_eq!(svg.matches("<circle").count(), 26);
}

#[test]
fn ids_derive_from_the_title() {
    let pts = points(&[("a", Some(1.0))]);
    let a = chart("Deployment frequency", "", &pts);
    let b = chart("Change failure rate (%)", "", &pts);
    assert!(a.contains(r#"id="chart-deployment-frequency""#));
    assert!(a.contains(
        r#"aria-labelledby="chart-deployment-frequency-title chart-deployment-frequency-desc""#
    ));
    assert!(b.contains(r#"id="chart-change-failure-rate-title""#));
    assert!(chart("!!!", "", &pts).contains(r#"id="chart-chart""#));
    // Deterministic.
    assert_eq!(a, chart("Deployment frequency", "", &pts));
}

#[test]
fn sparkline_is_a_single_labelled_path() {
    let svg = sparkline(
        &[Some(1.0), Some(3.0), None, Some(2.0)],
        80,
        20,
        "Deploys <trend>",
    )
    .into_string();
    assert!(svg.starts_with(r#"<svg class="sparkline""#));
    assert!(svg.contains(r#"role="img""#));
    assert!(
        svg.contains(r#"aria-label="Deploys &lt;trend&gt;""#),
        "{svg}"
    );
    assert_eq!(svg.matches("<path").count(), 1);
    assert!(!svg.contains("<text") && !svg.contains("<line"));
    // Lowest value at the bottom (20 - 1.5), highest at the top (1.5); gap → new sub-path.
    assert!(
        svg.contains(r#"d="M1.5 18.5 L27.17 1.5 M77.5 10 h2""#),
        "{svg}"
    );
}

#[test]
fn snapshot_small_chart() {
    let pts = points(&[
        ("Oct 6", Some(1.2)),
        ("Oct 13", Some(2.0)),
        ("Oct 20", None),
        ("Oct 27", Some(3.4)),
    ]);
    let svg = line_chart(&Chart {
        title: "Deployment frequency",
        unit: "per day",
        points: &pts,
        width: 320,
        height: 160,
    })
    .into_string();
    insta::assert_snapshot!(pretty(&svg));
}

/// A bar chart scales its bars to the largest value, lists every bar in its description and
/// escapes labels.
#[test]
fn bar_chart_scales_describes_and_escapes() {
    use socle_ui::chart::{Bar, bar_chart};
    let bars = [
        Bar {
            label: "(none)".into(),
            value: 2.0,
        },
        Bar {
            label: "<b>Gold</b>".into(),
            value: 4.0,
        },
    ];
    let svg = bar_chart("Levels of <x>", &bars, 400).into_string();
    assert!(
        svg.contains(
            "<desc id=\"chart-levels-of-x-desc\">(none): 2, &lt;b&gt;Gold&lt;/b&gt;: 4</desc>"
        ),
        "{svg}"
    );
    assert!(!svg.contains("<b>"), "{svg}");
    // 400 wide: 234 units of room; the largest bar takes it all, the other half.
    assert!(svg.contains("width=\"234\""), "{svg}");
    assert!(svg.contains("width=\"117\""), "{svg}");
    let empty = bar_chart("Empty", &[], 400).into_string();
    assert!(empty.contains(">No data</desc>"), "{empty}");
}
