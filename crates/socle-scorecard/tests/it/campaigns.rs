//! Campaign files: a scorecard without levels, with start and target dates and a brief; errors
//! at their line and field path.

use socle_scorecard::{CAMPAIGN_LEVEL, Campaign, load, load_campaigns};

const CAMPAIGN: &str = "apiVersion: socle.dev/v1alpha1
kind: Campaign
metadata:
  name: readme-everywhere
  title: A README in every repository
spec:
  filter: {kind: Component}
  start: 2026-05-01
  target: 2026-06-30
  brief: Newcomers start from the README.
  rules:
    - id: readme
      check: {builtin: has-readme}
";

#[test]
fn a_campaign_has_one_level_dates_and_a_brief() {
    let c = load_campaigns(CAMPAIGN, "c.yaml").expect("loads").remove(0);
    assert_eq!(c.card.name, "readme-everywhere");
    assert_eq!(c.card.levels, [CAMPAIGN_LEVEL]);
    assert_eq!(c.card.rules[0].level, 0);
    assert_eq!(
        (c.start.to_string(), c.target.to_string()),
        ("2026-05-01".into(), "2026-06-30".into())
    );
    assert_eq!(c.brief, "Newcomers start from the README.");
    // 2026-05-31 is 30 of the 60 days.
    let day = Campaign::day_of(c.start) + 30;
    assert!((c.elapsed(day) - 0.5).abs() < 1e-9, "{}", c.elapsed(day));
    assert_eq!(c.elapsed(0), 0.0);
    assert_eq!(c.elapsed(i64::MAX / 2), 1.0);
    assert_eq!(Campaign::day_of(time::macros::date!(1970 - 01 - 02)), 1);
}

#[test]
fn campaign_mistakes_are_named_at_their_field() {
    let cases = [
        (
            "  target: 2026-06-30\n",
            "  target: 2026-04-30\n",
            "spec.target",
            "comes after the start",
        ),
        (
            "  start: 2026-05-01\n",
            "  start: May 1st\n",
            "spec.start",
            "is a date",
        ),
        (
            "  brief: Newcomers start from the README.\n",
            "",
            "spec.brief",
            "needs a brief",
        ),
        (
            "  filter: {kind: Component}\n",
            "  levels: [A, B]\n",
            "spec.levels",
            "no levels",
        ),
    ];
    for (from, to, path, says) in cases {
        let text = CAMPAIGN.replace(from, to);
        let e = load_campaigns(&text, "c.yaml").expect_err(&text);
        assert!(
            e.iter().any(|e| e.path == path && e.message.contains(says)),
            "{to}: {e:?}"
        );
    }
    // A scorecard file is not a campaign, and a scorecard has no dates.
    let e = load(CAMPAIGN, "c.yaml").expect_err("not a scorecard");
    assert!(
        e[0].message
            .contains("expected apiVersion socle.dev/v1alpha1, kind Scorecard"),
        "{e:?}"
    );
    let card = CAMPAIGN.replace("kind: Campaign", "kind: Scorecard");
    let e = load(&card, "c.yaml").expect_err("dates");
    assert!(e.iter().any(|e| e.path == "spec.start"), "{e:?}");
}
