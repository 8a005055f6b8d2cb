//! `socle campaign` (list, show, promote, remind): campaigns from the platform directory's
//! `campaigns/*.yaml`.

use clap::Subcommand;

use super::scorecard::Common;
use crate::output::{self, Outcome};
use socle_app::scorecards::ScoreState;
use socle_app::scorecards::campaigns::Delivery;

#[derive(Subcommand)]
pub enum CampaignCmd {
    /// The platform's campaigns (those of --platform's campaigns/ folder).
    #[command(after_help = "Example:\n  socle campaign list --platform ./platform")]
    List {
        #[command(flatten)]
        common: Common,
    },
    /// One campaign's progress: per team (furthest behind first), with the burn-up.
    #[command(
        after_help = "Example:\n  socle campaign show readme-everywhere --platform ./platform"
    )]
    Show {
        /// The campaign's name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Prints the scorecard file with the campaign's rules added at a level, to commit to the
    /// platform's scorecards/ folder.
    #[command(
        after_help = "Example:\n  socle campaign promote readme-everywhere --into production-readiness --level Silver --platform ./platform > platform/scorecards/production-readiness.yaml"
    )]
    Promote {
        /// The campaign's name.
        name: String,
        /// The scorecard that takes the rules.
        #[arg(long)]
        into: String,
        /// The level of the scorecard the rules go to.
        #[arg(long)]
        level: String,
        #[command(flatten)]
        common: Common,
    },
    /// Reminds every team still behind on an open campaign at the webhook its Group names
    /// (annotation socle.dev/campaign-webhook); exit 1 when a reminder failed.
    #[command(after_help = "Example:\n  socle campaign remind --platform ./platform")]
    Remind {
        #[command(flatten)]
        common: Common,
    },
}

pub async fn run(cmd: CampaignCmd) -> anyhow::Result<Outcome> {
    let actor = super::operator();
    match cmd {
        CampaignCmd::List { common } => {
            let app = common.app().await?;
            match app.campaign_list(&actor) {
                Ok(l) => Outcome::list(common.output, &l, |l| {
                    let rows: Vec<Vec<String>> = l
                        .iter()
                        .map(|c| {
                            vec![
                                c.name.clone(),
                                c.start.clone(),
                                c.target.clone(),
                                c.rules.to_string(),
                            ]
                        })
                        .collect();
                    output::table(&["NAME", "START", "TARGET", "RULES"], &rows)
                }),
                Err(e) => super::failure(&e, common.output),
            }
        }
        CampaignCmd::Show { name, common } => {
            let app = common.app().await?;
            let mut report = app.campaign_report(&actor, &name).await;
            if matches!(&report, Ok(r) if r.state == ScoreState::Queued) {
                app.rescore_pending().await?;
                report = app.campaign_report(&actor, &name).await;
            }
            match report {
                Ok(r) => Outcome::new(common.output, &r, |r| {
                    let rows: Vec<Vec<String>> = r
                        .teams
                        .iter()
                        .map(|t| {
                            vec![
                                t.team.clone(),
                                format!("{}/{}", t.passing, t.entities),
                                format!("{:.0}%", t.progress * 100.0),
                                if t.behind { "behind" } else { "on track" }.into(),
                            ]
                        })
                        .collect();
                    format!(
                        "{} — {} of {} entities pass, {:.0}% of the time gone (target {})\n\n{}",
                        r.campaign.title,
                        r.passing,
                        r.entities,
                        r.expected * 100.0,
                        r.campaign.target,
                        output::table(&["TEAM", "PASSING", "PROGRESS", "STATUS"], &rows)
                    )
                }),
                Err(e) => super::failure(&e, common.output),
            }
        }
        CampaignCmd::Promote {
            name,
            into,
            level,
            common,
        } => {
            let app = common.app().await?;
            match app.promote_campaign(&actor, &name, &into, &level) {
                Ok(yaml) => Outcome::new(
                    common.output,
                    &serde_json::json!({"file": yaml.as_str()}),
                    |_| yaml.clone(),
                ),
                Err(e) => super::failure(&e, common.output),
            }
        }
        CampaignCmd::Remind { common } => {
            let app = common.app().await?;
            match app.send_campaign_reminders().await {
                Ok(list) => {
                    let failed = list
                        .iter()
                        .any(|r| matches!(r.outcome, Delivery::Failed(_)));
                    Ok(Outcome::list(common.output, &list, |l| {
                        let rows: Vec<Vec<String>> = l
                            .iter()
                            .map(|r| {
                                vec![r.campaign.clone(), r.team.clone(), r.outcome.to_string()]
                            })
                            .collect();
                        output::table(&["CAMPAIGN", "TEAM", "OUTCOME"], &rows)
                    })?
                    .failed(failed))
                }
                Err(e) => super::failure(&e, common.output),
            }
        }
    }
}
