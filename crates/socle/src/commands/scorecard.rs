//! `socle scorecard` (list, show, eval, rescore, history) and `socle findings` (import, list).

use std::path::PathBuf;

use clap::Subcommand;

use super::setup::{AppSetup, LimitArgs, StoreArgs, open_app};
use crate::output::{self, Format, Outcome};
use socle_app::scorecards::ScoreState;

#[derive(Subcommand)]
pub enum ScorecardCmd {
    /// The platform's scorecards (built-in and those of --platform's scorecards/ folder).
    #[command(after_help = "Example:\n  socle scorecard list --platform ./platform -o json")]
    List {
        #[command(flatten)]
        common: Common,
    },
    /// One scorecard over the catalog: levels held, rules passed, leaderboard by team.
    #[command(after_help = "Example:\n  socle scorecard show production-readiness")]
    Show {
        /// The scorecard's name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Scores entities: their level and failing rules with fix-it texts (exit 1 when an
    /// entity's checks could not be evaluated).
    #[command(
        after_help = "Example:\n  socle scorecard eval --entity component:default/orders-api\n  socle scorecard eval -o json > levels.json"
    )]
    Eval {
        /// Only this entity (`kind:namespace/name`); default: every entity.
        #[arg(long)]
        entity: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Scores every entity against every scorecard now and keeps the results and the level of
    /// the day (what `socle serve` does periodically).
    #[command(after_help = "Example:\n  socle scorecard rescore --platform ./platform")]
    Rescore {
        #[command(flatten)]
        common: Common,
    },
    /// A scorecard's levels per day: how many entities held each level (of one entity or
    /// one team with --entity / --team).
    #[command(
        after_help = "Example:\n  socle scorecard history production-readiness --team team-a --days 30"
    )]
    History {
        /// The scorecard's name.
        name: String,
        /// Only this entity (`kind:namespace/name`).
        #[arg(long)]
        entity: Option<String>,
        /// Only the entities this team owns (`team-a` or `group:default/team-a`).
        #[arg(long)]
        team: Option<String>,
        /// How many days back (at most 366).
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Args)]
pub struct Common {
    /// Platform configuration directory (its scorecards/*.yaml are added to the built-in ones).
    #[arg(long)]
    platform: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// How to print the result: table (default), json or yaml.
    #[arg(long, short, value_enum, default_value_t)]
    pub output: Format,
}

impl Common {
    pub async fn app(&self) -> anyhow::Result<std::sync::Arc<socle_app::App>> {
        let store = self.store.open_to_read().await?;
        let config = AppSetup {
            store: &self.store,
            platform: self.platform.as_ref(),
            guardrails: "none",
            limits: self.limits.limits(),
        }
        .config()?;
        open_app(store, config).await
    }
}

fn results_table(results: &[socle_scorecard::CardResult]) -> String {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.entity.clone(),
                r.scorecard.clone(),
                r.level.clone().unwrap_or_else(|| "-".into()),
                format!("{}/{}", r.passed, r.total),
            ]
        })
        .collect();
    let mut out = output::table(&["ENTITY", "SCORECARD", "LEVEL", "PASSED"], &rows);
    for r in results {
        if let Some(e) = &r.error {
            out.push_str(&format!("\n{} ({}): error: {e}\n", r.entity, r.scorecard));
        }
        let failing: Vec<_> = r.rules.iter().filter(|x| !x.passed).collect();
        if failing.is_empty() || results.len() > 1 {
            continue;
        }
        out.push_str(&format!("\nTo reach the next level of {}:\n", r.scorecard));
        for f in failing {
            out.push_str(&format!(
                "  [{}] {}: {}\n",
                f.level,
                f.title,
                f.fixit.as_deref().unwrap_or_default()
            ));
            if let Some(m) = &f.message {
                out.push_str(&format!("      {m}\n"));
            }
        }
    }
    out
}

pub async fn run(cmd: ScorecardCmd) -> anyhow::Result<Outcome> {
    let actor = super::operator();
    match cmd {
        ScorecardCmd::List { common } => {
            let app = common.app().await?;
            let list = match app.scorecard_list(&actor) {
                Ok(l) => l,
                Err(e) => return super::failure(&e, common.output),
            };
            Outcome::list(common.output, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .iter()
                    .map(|s| {
                        vec![
                            s.name.clone(),
                            s.levels.join(" < "),
                            s.rules.to_string(),
                            s.source.clone(),
                        ]
                    })
                    .collect();
                output::table(&["NAME", "LEVELS", "RULES", "SOURCE"], &rows)
            })
        }
        ScorecardCmd::Show { name, common } => {
            let app = common.app().await?;
            // No background here: a pass the report queued runs now.
            let mut report = app.scorecard_report(&actor, &name).await;
            if matches!(&report, Ok(r) if r.state == ScoreState::Queued) {
                app.rescore_pending().await?;
                report = app.scorecard_report(&actor, &name).await;
            }
            let report = match report {
                Ok(r) => r,
                Err(e) => return super::failure(&e, common.output),
            };
            Outcome::new(common.output, &report, |r| {
                let levels: Vec<Vec<String>> = r
                    .distribution
                    .iter()
                    .map(|l| {
                        vec![
                            l.level.clone().unwrap_or_else(|| "(none)".into()),
                            l.entities.to_string(),
                        ]
                    })
                    .collect();
                let teams: Vec<Vec<String>> = r
                    .leaderboard
                    .iter()
                    .map(|t| {
                        vec![
                            t.team.clone(),
                            t.entities.to_string(),
                            format!("{:.2}", t.score),
                        ]
                    })
                    .collect();
                format!(
                    "{} — {} entities\n\n{}\n{}",
                    r.scorecard.title,
                    r.entities,
                    output::table(&["LEVEL", "ENTITIES"], &levels),
                    output::table(&["TEAM", "ENTITIES", "SCORE"], &teams)
                )
            })
        }
        ScorecardCmd::Eval { entity, common } => {
            let app = common.app().await?;
            let result = match &entity {
                Some(e) => app.entity_scorecards(&actor, e).await,
                None => app.scorecard_eval_all(&actor).await,
            };
            let results = match result {
                Ok(r) => r,
                Err(e) => return super::failure(&e, common.output),
            };
            let failed = results.iter().any(|r| r.error.is_some());
            Ok(Outcome::list(common.output, &results, results_table)?.failed(failed))
        }
        ScorecardCmd::Rescore { common } => {
            let app = common.app().await?;
            match app.rescore_all().await {
                Ok(s) => Outcome::new(common.output, &s, |s| {
                    format!(
                        "{} entities scored, {} results kept in {} ms\n",
                        s.entities, s.results, s.millis
                    )
                }),
                Err(e) => super::failure(&e, common.output),
            }
        }
        ScorecardCmd::History {
            name,
            entity,
            team,
            days,
            common,
        } => {
            let app = common.app().await?;
            let mut history = app
                .scorecard_history(&actor, &name, entity.as_deref(), team.as_deref(), days)
                .await;
            if matches!(&history, Ok(h) if h.state == ScoreState::Queued) {
                app.rescore_pending().await?;
                history = app
                    .scorecard_history(&actor, &name, entity.as_deref(), team.as_deref(), days)
                    .await;
            }
            match history {
                Ok(h) => Outcome::new(common.output, &h, |h| {
                    let mut header = vec!["DAY".to_owned(), "(NONE)".to_owned()];
                    header.extend(h.levels.iter().map(|l| l.to_uppercase()));
                    let header: Vec<&str> = header.iter().map(String::as_str).collect();
                    let rows: Vec<Vec<String>> = h
                        .days
                        .iter()
                        .map(|d| {
                            std::iter::once(d.date.clone())
                                .chain(d.counts.iter().map(i64::to_string))
                                .collect()
                        })
                        .collect();
                    output::table(&header, &rows)
                }),
                Err(e) => super::failure(&e, common.output),
            }
        }
    }
}

#[derive(Subcommand)]
pub enum FindingsCmd {
    /// Import a scanner's SARIF 2.1.0 output for an entity; that tool's findings it no longer
    /// reports are closed.
    #[command(
        after_help = "Example:\n  checkov -d k8s/ -o sarif --output-file-path .\n  socle findings import results_sarif.sarif --entity component:default/orders-api"
    )]
    Import {
        /// The SARIF file.
        file: PathBuf,
        /// The entity the findings are about (`kind:namespace/name`).
        #[arg(long)]
        entity: String,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        limits: LimitArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// An entity's findings (open ones; --closed for closed ones too).
    #[command(after_help = "Example:\n  socle findings list --entity component:default/orders-api")]
    List {
        /// The entity (`kind:namespace/name`).
        #[arg(long)]
        entity: String,
        /// Closed findings too.
        #[arg(long)]
        closed: bool,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

pub async fn findings(cmd: FindingsCmd) -> anyhow::Result<Outcome> {
    let actor = super::operator();
    match cmd {
        FindingsCmd::Import {
            file,
            entity,
            store,
            limits,
            output,
        } => {
            super::must_exist(&file)?;
            let meta = std::fs::metadata(&file)?;
            if meta.len() > socle_app::scorecards::findings::MAX_SARIF_BYTES as u64 {
                anyhow::bail!(
                    "{} is larger than {} bytes",
                    file.display(),
                    socle_app::scorecards::findings::MAX_SARIF_BYTES
                );
            }
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let config = AppSetup {
                store: &store,
                platform: None,
                guardrails: "none",
                limits: limits.limits(),
            }
            .config()?;
            let app = open_app(store.open_to_read().await?, config).await?;
            match app.import_findings(&actor, &entity, text).await {
                Ok(o) => Outcome::new(output, &o, |o| {
                    format!(
                        "{}: {} findings from {} — {} opened, {} still open, {} closed\n",
                        o.entity,
                        o.findings,
                        o.tools.join(", "),
                        o.changes.opened,
                        o.changes.still_open,
                        o.changes.closed
                    )
                }),
                Err(e) => super::failure(&e, output),
            }
        }
        FindingsCmd::List {
            entity,
            closed,
            store,
            output,
        } => {
            let config = socle_app::AppConfig {
                refresh_interval: None,
                ..Default::default()
            };
            let app = open_app(store.open_to_read().await?, config).await?;
            match app.entity_findings(&actor, &entity, closed).await {
                Ok(list) => Outcome::list(output, &list, |l| {
                    let rows: Vec<Vec<String>> = l
                        .iter()
                        .map(|f| {
                            vec![
                                f.severity.clone(),
                                f.tool.clone(),
                                f.rule.clone(),
                                f.location.clone(),
                                super::fmt_time(Some(f.first_seen)),
                                if f.closed_at.is_some() {
                                    "closed"
                                } else {
                                    "open"
                                }
                                .into(),
                            ]
                        })
                        .collect();
                    output::table(
                        &[
                            "SEVERITY",
                            "TOOL",
                            "RULE",
                            "LOCATION",
                            "FIRST SEEN",
                            "STATE",
                        ],
                        &rows,
                    )
                }),
                Err(e) => super::failure(&e, output),
            }
        }
    }
}
