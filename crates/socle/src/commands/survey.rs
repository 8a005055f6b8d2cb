//! `socle survey` (list, show, results): the platform's surveys and their anonymous results.
//! Answering is for people, in the portal or through the API.

use std::path::PathBuf;

use clap::Subcommand;

use super::setup::{AppSetup, LimitArgs, StoreArgs, open_app};
use crate::output::{self, Format, Outcome};

#[derive(Subcommand)]
pub enum SurveyCmd {
    /// The platform's surveys (the built-in DevEx survey and those of --platform's surveys/
    /// folder), with their open round.
    #[command(after_help = "Example:\n  socle survey list --platform ./platform -o json")]
    List {
        #[command(flatten)]
        common: Common,
    },
    /// One survey's questions and schedule.
    #[command(after_help = "Example:\n  socle survey show devex")]
    Show {
        /// The survey's name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// A round's results for the organisation and per team (a group only past the respondent
    /// threshold), compared with the round before.
    #[command(
        after_help = "Example:\n  socle survey results devex\n  socle survey results devex --round 2026-04-05 -o json"
    )]
    Results {
        /// The survey's name.
        name: String,
        /// The round (the day it opened, YYYY-MM-DD); default: the latest.
        #[arg(long)]
        round: Option<String>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Args)]
pub struct Common {
    /// Platform configuration directory (its surveys/*.yaml are added to the built-in ones).
    #[arg(long)]
    platform: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// How to print the result: table (default), json or yaml.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

impl Common {
    async fn app(&self) -> anyhow::Result<std::sync::Arc<socle_app::App>> {
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

fn figure(q: &socle_survey::QuestionResult) -> String {
    use socle_survey::Summary;
    let ci = |ci: &Option<[f64; 2]>| {
        ci.map(|[lo, hi]| format!(" [{lo:.2}, {hi:.2}]"))
            .unwrap_or_default()
    };
    let main = match &q.summary {
        Summary::Likert { mean, ci: c, .. } => mean
            .map(|m| format!("mean {m:.2}{}", ci(c)))
            .unwrap_or_else(|| "-".into()),
        Summary::Enps { score, ci: c, .. } => score
            .map(|s| format!("eNPS {s:+.0}{}", ci(c)))
            .unwrap_or_else(|| "-".into()),
        Summary::Choices { counts } => counts
            .iter()
            .map(|c| format!("{}: {}", c.option, c.count))
            .collect::<Vec<_>>()
            .join(", "),
        Summary::Text { texts } => format!("{} texts", texts.len()),
    };
    match q.change {
        Some(c) => format!("{main} ({c:+.2})"),
        None => main,
    }
}

fn results_table(r: &socle_app::surveys::SurveyResults) -> String {
    let mut out = format!(
        "{} — round {}{} (groups shown from {} respondents)\n",
        r.title,
        r.round.id,
        r.previous_round
            .as_ref()
            .map(|p| format!(", compared with {p}"))
            .unwrap_or_default(),
        r.threshold
    );
    for g in &r.groups {
        match &g.outcome {
            socle_survey::Outcome::NotEnoughAnswers => {
                out.push_str(&format!("\n{}: not enough answers\n", g.group));
            }
            socle_survey::Outcome::Shown {
                respondents,
                questions,
            } => {
                out.push_str(&format!("\n{} ({respondents} respondents)\n", g.group));
                let rows: Vec<Vec<String>> = questions
                    .iter()
                    .map(|q| vec![q.id.clone(), q.answers.to_string(), figure(q)])
                    .collect();
                out.push_str(&output::table(&["QUESTION", "ANSWERS", "RESULT"], &rows));
            }
        }
    }
    out
}

pub async fn run(cmd: SurveyCmd) -> anyhow::Result<Outcome> {
    let actor = super::operator();
    match cmd {
        SurveyCmd::List { common } => {
            let app = common.app().await?;
            let list = match app.list_surveys(&actor).await {
                Ok(l) => l,
                Err(e) => return super::failure(&e, common.output),
            };
            Outcome::list(common.output, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .iter()
                    .map(|s| {
                        vec![
                            s.name.clone(),
                            s.questions.to_string(),
                            s.open_round
                                .as_ref()
                                .map(|r| r.id.clone())
                                .unwrap_or_else(|| "-".into()),
                            s.rounds.len().to_string(),
                            s.source.clone(),
                        ]
                    })
                    .collect();
                output::table(
                    &["NAME", "QUESTIONS", "OPEN ROUND", "ROUNDS", "SOURCE"],
                    &rows,
                )
            })
        }
        SurveyCmd::Show { name, common } => {
            let app = common.app().await?;
            let s = match app.survey(&actor, &name).await {
                Ok(s) => s,
                Err(e) => return super::failure(&e, common.output),
            };
            Outcome::new(common.output, &s, |s| {
                let rows: Vec<Vec<String>> = s
                    .question_list
                    .iter()
                    .map(|q| {
                        vec![
                            q.id.clone(),
                            q.kind.name().to_owned(),
                            q.theme.clone().unwrap_or_default(),
                            q.text.clone(),
                        ]
                    })
                    .collect();
                format!(
                    "{}\n\n{}",
                    s.info.title,
                    output::table(&["ID", "TYPE", "THEME", "QUESTION"], &rows)
                )
            })
        }
        SurveyCmd::Results {
            name,
            round,
            common,
        } => {
            let app = common.app().await?;
            match app.survey_results(&actor, &name, round.as_deref()).await {
                Ok(r) => Outcome::new(common.output, &r, results_table),
                Err(e) => super::failure(&e, common.output),
            }
        }
    }
}
