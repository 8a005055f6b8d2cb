//! `socle adoption report`: is the platform used, and does it help — the organisation's (or a
//! team's) adoption figures and each team's DORA keys and survey results before and after it
//! adopted Socle, with the caveats.

use std::path::PathBuf;

use clap::Subcommand;
use socle_adoption::{AdoptionReport, KeyChange, SurveyScore, TeamImpact};

use super::setup::{AppSetup, LimitArgs, StoreArgs, open_app};
use crate::output::{self, Format, Outcome};

#[derive(Subcommand)]
pub enum AdoptionCmd {
    /// Adoption (services from golden paths, deployed through Socle, with docs and SLOs, at
    /// each scorecard level; golden-path runs; time to first deploy; active people, counted)
    /// and impact (each team's DORA keys and survey results before and after its adoption
    /// date, with caveats).
    #[command(
        after_help = "Example:\n  socle adoption report\n  socle adoption report --team team-checkout --since 180d -o json"
    )]
    Report {
        /// One team's report (`team-a` or `group:default/team-a`); default: the organisation.
        #[arg(long)]
        team: Option<String>,
        /// How far back, e.g. 90d (default), 26w; at most 1,096 days.
        #[arg(long)]
        since: Option<String>,
        /// Platform configuration directory (its surveys/ and scorecards/).
        #[arg(long)]
        platform: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        limits: LimitArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.0} %", v * 100.0))
}

fn num(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}{unit}"))
}

fn adoption_table(a: &AdoptionReport) -> String {
    let n = &a.now;
    let mut out = format!("{} — {} to {}\n\n", a.scope, a.from, a.to);
    let rows = vec![
        vec!["services".into(), n.services.to_string(), String::new()],
        vec![
            "from a golden path".into(),
            n.golden_path.to_string(),
            pct(n.golden_path_share),
        ],
        vec![
            "deployed through Socle".into(),
            n.deployed_through_socle.to_string(),
            pct(n.deployed_share),
        ],
        vec![
            "with docs".into(),
            n.with_docs.to_string(),
            pct(n.docs_share),
        ],
        vec!["with SLOs".into(), n.with_slo.to_string(), pct(n.slo_share)],
    ];
    out.push_str(&output::table(&["SERVICES", "COUNT", "SHARE"], &rows));
    let t = &a.time_to_first_deploy;
    out.push_str(&format!(
        "\ntime to first deploy: median {}, p90 {} ({} services; {} not deployed yet)\n",
        num(t.median_hours, " h"),
        num(t.p90_hours, " h"),
        t.services,
        t.not_deployed
    ));
    if !a.templates.is_empty() {
        let rows: Vec<Vec<String>> = a
            .templates
            .iter()
            .map(|t| {
                vec![
                    t.template.clone(),
                    t.runs.to_string(),
                    pct(t.success_rate),
                    num(t.duration_median_seconds, " s"),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&output::table(
            &["TEMPLATE", "RUNS", "SUCCESS", "MEDIAN DURATION"],
            &rows,
        ));
    }
    for c in &a.scorecards {
        let levels: Vec<String> = c
            .levels
            .iter()
            .map(|l| format!("{} {}", l.level.as_deref().unwrap_or("below"), pct(l.share)))
            .collect();
        out.push_str(&format!("\n{}: {}", c.scorecard, levels.join(", ")));
    }
    out
}

fn key_row(k: &KeyChange) -> Vec<String> {
    vec![
        k.key.replace('_', " "),
        num(k.before, ""),
        num(k.after, ""),
        match k.better {
            Some(true) => "better".into(),
            Some(false) => "worse".into(),
            None => "-".into(),
        },
    ]
}

fn score(s: &SurveyScore) -> String {
    match s {
        SurveyScore::Shown {
            likert_mean, enps, ..
        } => format!("mean {} eNPS {}", num(*likert_mean, ""), num(*enps, "")),
        SurveyScore::NotEnoughAnswers => "not enough answers".into(),
        SurveyScore::NoRound => "no round".into(),
    }
}

fn impact_table(t: &TeamImpact) -> String {
    let mut out = format!(
        "\n\n{}: adopted {}{}\n",
        t.team,
        t.adopted_at.as_deref().unwrap_or("not yet"),
        t.adopted_by
            .map(|b| format!(
                " ({})",
                serde_json::to_value(b)
                    .unwrap_or_default()
                    .as_str()
                    .unwrap_or_default()
            ))
            .unwrap_or_default()
    );
    if !t.keys.is_empty() {
        let rows: Vec<Vec<String>> = t.keys.iter().map(key_row).collect();
        out.push_str(&output::table(&["KEY", "BEFORE", "AFTER", "CHANGE"], &rows));
    }
    for s in &t.surveys {
        out.push_str(&format!(
            "survey {}: before {}, after {}\n",
            s.survey,
            score(&s.before.score),
            score(&s.after.score)
        ));
    }
    for c in &t.caveats {
        out.push_str(&format!("caveat: {}\n", c.message));
    }
    out
}

pub async fn run(cmd: AdoptionCmd) -> anyhow::Result<Outcome> {
    let AdoptionCmd::Report {
        team,
        since,
        platform,
        store,
        limits,
        output,
    } = cmd;
    let db = store.open_to_read().await?;
    let config = AppSetup {
        store: &store,
        platform: platform.as_ref(),
        guardrails: "none",
        limits: limits.limits(),
    }
    .config()?;
    let app = open_app(db, config).await?;
    let actor = super::operator();
    match team {
        Some(team) => match app.adoption_team(&actor, &team, since.as_deref()).await {
            Ok(r) => Outcome::new(output, &r, |r| {
                format!("{}{}", adoption_table(&r.adoption), impact_table(&r.impact))
            }),
            Err(e) => super::failure(&e, output),
        },
        None => match app.adoption_overview(&actor, since.as_deref()).await {
            Ok(r) => Outcome::new(output, &r, |r| {
                let i = &r.impact;
                let mut s = adoption_table(&r.adoption);
                s.push_str(&format!(
                    "\n\nimpact: {} teams, {} adopted, {} compared before/after\n",
                    i.teams, i.adopted, i.compared
                ));
                let rows: Vec<Vec<String>> = i
                    .keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.key.replace('_', " "),
                            k.improved.to_string(),
                            k.worsened.to_string(),
                            k.not_compared.to_string(),
                        ]
                    })
                    .collect();
                s.push_str(&output::table(
                    &["KEY", "IMPROVED", "WORSENED", "NOT COMPARED"],
                    &rows,
                ));
                for t in &r.teams {
                    s.push_str(&impact_table(t));
                }
                s
            }),
            Err(e) => super::failure(&e, output),
        },
    }
}
