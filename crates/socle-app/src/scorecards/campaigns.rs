//! Campaigns: rules every selected entity should pass by a target date. Each campaign is
//! evaluated as a one-level scorecard (`campaign:NAME` in the stored results and history), so
//! progress per team over time — the burn-up — is the history of that scorecard. Reminders go
//! to the webhook a team names on its Group entity, when that Group comes from a location that
//! may shape the organisation (Slack-compatible JSON, bounded and timed out, through
//! [`crate::net`]); a campaign's rules can be promoted into a scorecard (the new
//! scorecard file is returned, to be committed where the platform's scorecards live).

use std::collections::BTreeMap;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use serde::Serialize;
use serde_json::{Value, json};
use socle_scorecard::{Campaign, Check, Scorecard};
use socle_store::{DAY_MS, DayCount, ScoreRecord, ScoreSummary};

use super::evaluate::day_text;
use super::{CAMPAIGN_PREFIX, NO_OWNER, RuleInfo};
use crate::{Actor, App, AppError};

/// The annotation of a Group naming the webhook its campaign reminders go to.
pub const WEBHOOK_ANNOTATION: &str = "socle.dev/campaign-webhook";
/// How long one reminder may take, and the most of the receiver's answer read.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_WEBHOOK_ANSWER: usize = 16 * 1024;
/// Most failing entities a reminder names.
const MAX_NAMED: usize = 10;
/// Most failing entities a campaign's report lists per team.
pub const MAX_FAILING: i64 = 10;
/// A campaign's report lists the failing entities of this many teams (the furthest behind);
/// the others' are left empty (their counts are there).
pub const MAX_FAILING_TEAMS: usize = 200;
/// Most failing entities one team's report lists.
pub const MAX_TEAM_FAILING: i64 = 200;

/// A campaign as listed.
#[derive(Clone, Debug, Serialize)]
pub struct CampaignInfo {
    pub name: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub brief: String,
    /// `YYYY-MM-DD`.
    pub start: String,
    pub target: String,
    pub rules: usize,
    pub filter: socle_scorecard::Filter,
    pub source: String,
}

fn info(c: &Campaign) -> CampaignInfo {
    CampaignInfo {
        name: c.card.name.clone(),
        title: c.card.title.clone(),
        description: c.card.description.clone(),
        brief: c.brief.clone(),
        start: c.start.to_string(),
        target: c.target.to_string(),
        rules: c.card.rules.len(),
        filter: c.card.filter.clone(),
        source: c.card.source.clone(),
    }
}

/// Entities passing every rule of the campaign, of how many, on one day.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct BurnDay {
    pub date: String,
    pub passing: i64,
    pub total: i64,
}

/// One team's progress.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CampaignTeam {
    /// The owning group, or `(no owner)`.
    pub team: String,
    pub entities: usize,
    pub passing: usize,
    /// passing ÷ entities.
    pub progress: f64,
    /// Its progress is below the share of the campaign's time gone.
    pub behind: bool,
    /// The entities still failing, with the failing rules' ids: in a campaign's report the
    /// first [`MAX_FAILING`] by ref (for the [`MAX_FAILING_TEAMS`] teams furthest behind), in
    /// the team's own report the first [`MAX_TEAM_FAILING`].
    pub failing: Vec<(String, Vec<String>)>,
    /// The team's burn-up: in the team's own report only (a campaign's report carries the
    /// whole catalog's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub burnup: Vec<BurnDay>,
    /// The latest reminder of this campaign to the team, with the last one delivered.
    pub reminder: Option<socle_store::ReminderRecord>,
}

/// A campaign over the catalog.
#[derive(Clone, Debug, Serialize)]
pub struct CampaignReport {
    #[serde(flatten)]
    pub campaign: CampaignInfo,
    pub rule_list: Vec<RuleInfo>,
    pub entities: usize,
    pub passing: usize,
    /// The share of the campaign's time gone today, 0 to 1: the progress expected of a team.
    pub expected: f64,
    /// Teams, furthest behind first.
    pub teams: Vec<CampaignTeam>,
    /// Whether its figures are from a pass over the catalog yet.
    pub state: super::ScoreState,
    /// The whole catalog's burn-up, from the start day to today (or the target day).
    pub burnup: Vec<BurnDay>,
}

/// What one reminder did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ReminderOutcome {
    pub campaign: String,
    pub team: String,
    pub outcome: Delivery,
}

/// How a reminder's delivery went.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Sent,
    /// This period's reminder was sent already (or is being sent, by this process before a
    /// restart or by another replica): not sent again.
    AlreadySent,
    /// The receiver refused it or could not be reached; the next attempt may send it again.
    Failed(String),
    /// The team's Group names no webhook (or comes from a location that may not name one).
    NoWebhook,
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sent => f.write_str("sent"),
            Self::AlreadySent => f.write_str("already sent"),
            Self::Failed(e) => write!(f, "failed: {e}"),
            Self::NoWebhook => f.write_str("no webhook"),
        }
    }
}

/// A claimed reminder still being sent after this long was abandoned (its process stopped):
/// another attempt may take it. Far above [`WEBHOOK_TIMEOUT`].
pub const STALE_CLAIM_MS: i64 = 10 * 60 * 1000;

/// Escapes text for Slack's message format (`&`, `<`, `>`).
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The Slack-compatible message reminding `team` of a campaign.
pub fn reminder_message(c: &Campaign, team: &CampaignTeam) -> Value {
    let named: Vec<String> = team
        .failing
        .iter()
        .take(MAX_NAMED)
        .map(|(e, _)| slack_escape(e))
        .collect();
    let more = team
        .entities
        .saturating_sub(team.passing)
        .saturating_sub(named.len());
    let text = format!(
        "Campaign \"{}\": {} of {} entities of {} pass (target {}).{}{}\n{}",
        slack_escape(&c.card.title),
        team.passing,
        team.entities,
        slack_escape(&team.team),
        c.target,
        if named.is_empty() {
            String::new()
        } else {
            format!(" Still to do: {}", named.join(", "))
        },
        if more > 0 {
            format!(" and {more} more.")
        } else {
            ".".into()
        },
        slack_escape(&c.brief),
    );
    json!({"text": text})
}

/// Entities passing and in all per day, from history rows counted (days without a row
/// holding the day before's figures).
fn burnup(rows: &[DayCount]) -> Vec<BurnDay> {
    let mut days: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for r in rows {
        let d = days.entry(r.day).or_default();
        if r.level_rank >= 1 {
            d.0 += r.entities;
        }
        d.1 += r.entities;
    }
    super::evaluate::fill_days(days.into_iter().collect())
        .into_iter()
        .map(|(day, (passing, total))| BurnDay {
            date: day_text(day),
            passing,
            total,
        })
        .collect()
}

/// Each team's progress from the campaign's results counted, furthest behind first (their
/// entities still failing are filled in by [`with_failing`]).
fn teams(summary: &ScoreSummary, expected: f64) -> Vec<CampaignTeam> {
    let mut by_team: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for x in &summary.counts {
        let t = by_team
            .entry(x.owner.as_deref().unwrap_or(NO_OWNER))
            .or_default();
        t.0 += x.entities;
        if x.level_rank >= 1 {
            t.1 += x.entities;
        }
    }
    let mut out: Vec<CampaignTeam> = by_team
        .into_iter()
        .filter(|(_, (n, _))| *n > 0)
        .map(|(team, (n, passing))| {
            let progress = passing as f64 / n.max(1) as f64;
            CampaignTeam {
                team: team.to_owned(),
                entities: usize::try_from(n).unwrap_or(0),
                passing: usize::try_from(passing).unwrap_or(0),
                progress,
                behind: progress + 1e-9 < expected,
                failing: Vec::new(),
                burnup: Vec::new(),
                reminder: None,
            }
        })
        .collect();
    out.sort_by(|a, b| a.progress.total_cmp(&b.progress).then(a.team.cmp(&b.team)));
    out
}

/// The teams (of the first `teams`) with entities still failing, as the store names owners.
fn failing_owners(teams: &[CampaignTeam], n: usize) -> Vec<Option<String>> {
    teams
        .iter()
        .take(n)
        .filter(|t| t.passing < t.entities)
        .map(|t| (t.team != NO_OWNER).then(|| t.team.clone()))
        .collect()
}

/// Fills in each team's entities still failing from `failing` (grouped by owner).
fn with_failing(teams: &mut [CampaignTeam], failing: Vec<ScoreRecord>) {
    let mut still: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
    for r in failing {
        still
            .entry(r.owner.unwrap_or_else(|| NO_OWNER.to_owned()))
            .or_default()
            .push((r.entity, r.failing));
    }
    for t in teams {
        if let Some(f) = still.remove(&t.team) {
            t.failing = f;
        }
    }
}

/// `url` as an origin-form request target (`/path?query`).
fn origin_form(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => rest[i..].to_owned(),
        Some(i) => format!("/{}", &rest[i..]),
        None => "/".to_owned(),
    }
}

impl App {
    fn campaign_named(
        &self,
        name: &str,
    ) -> Result<(Campaign, socle_scorecard::Compiled), AppError> {
        self.scorecards()
            .campaign(name)
            .map(|(c, compiled)| (c.clone(), compiled.clone()))
            .ok_or_else(|| AppError::not_found(format!("there is no campaign named {name:?}")))
    }

    /// The platform's campaigns.
    pub fn campaign_list(&self, actor: &Actor) -> Result<Vec<CampaignInfo>, AppError> {
        self.can_read(actor)?;
        Ok(self.scorecards().1.iter().map(info).collect())
    }

    /// A campaign's progress: per team (furthest behind first) and over time (burn-up).
    pub async fn campaign_report(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<CampaignReport, AppError> {
        self.can_read(actor)?;
        self.campaign_progress(name, MAX_FAILING_TEAMS).await
    }

    /// One team's progress in a campaign: its counts, its burn-up and its first
    /// [`MAX_TEAM_FAILING`] entities still failing (`team`: a group ref, or `(no owner)`).
    pub async fn campaign_team(
        &self,
        actor: &Actor,
        name: &str,
        team: &str,
    ) -> Result<CampaignTeam, AppError> {
        self.can_read(actor)?;
        let (c, _) = self.campaign_named(name)?;
        let owner = if team == NO_OWNER {
            None
        } else {
            Some(
                socle_catalog::EntityRef::parse(team, Some("group"), "default")
                    .map_err(|e| AppError::bad_request(e.to_string()))?
                    .to_string(),
            )
        };
        let stored = format!("{CAMPAIGN_PREFIX}{name}");
        self.scores_ready(&stored).await?;
        let summary = self.store.score_summary(&stored).await?;
        let today = self.now_ms().div_euclid(DAY_MS);
        let expected = c.elapsed(today);
        let label = owner.as_deref().unwrap_or(NO_OWNER);
        let mut team = teams(&summary, expected)
            .into_iter()
            .find(|t| t.team == label)
            .ok_or_else(|| {
                AppError::not_found(format!("campaign {name:?} selects nothing {label} owns"))
            })?;
        let start = Campaign::day_of(c.start);
        let end = today.min(Campaign::day_of(c.target));
        let history = self
            .store
            .score_day_counts(&stored, Some(owner.as_deref()), start, end)
            .await?;
        team.burnup = burnup(&history);
        let failing = self
            .store
            .score_failing(&stored, &[owner], MAX_TEAM_FAILING)
            .await?;
        with_failing(std::slice::from_mut(&mut team), failing);
        team.reminder = self
            .store
            .campaign_reminders(name)
            .await?
            .into_iter()
            .find(|r| r.team == team.team);
        Ok(team)
    }

    /// A campaign's report, with the entities still failing of the `failing_teams` teams
    /// furthest behind.
    async fn campaign_progress(
        &self,
        name: &str,
        failing_teams: usize,
    ) -> Result<CampaignReport, AppError> {
        let (c, compiled) = self.campaign_named(name)?;
        let stored = format!("{CAMPAIGN_PREFIX}{name}");
        let state = self.scores_ready(&stored).await?;
        let summary = self.store.score_summary(&stored).await?;
        let today = self.now_ms().div_euclid(DAY_MS);
        let start = Campaign::day_of(c.start);
        let end = today.min(Campaign::day_of(c.target));
        // The whole catalog's burn-up from the per-day totals (a few rows a day, whatever the
        // number of teams).
        let history = self.store.score_day_totals(&stored, start, end).await?;
        let reminders = self.store.campaign_reminders(name).await?;
        let mut report = self
            .cpu
            .run(move || {
                let expected = c.elapsed(today);
                let base = super::report_from(&compiled, &summary);
                let mut teams = teams(&summary, expected);
                for t in &mut teams {
                    t.reminder = reminders.iter().find(|r| r.team == t.team).cloned();
                }
                CampaignReport {
                    campaign: info(&c),
                    state,
                    rule_list: base.rule_list,
                    entities: base.entities,
                    passing: teams.iter().map(|t| t.passing).sum(),
                    expected,
                    teams,
                    burnup: burnup(&history),
                }
            })
            .await?;
        let owners = failing_owners(&report.teams, failing_teams);
        let failing = self
            .store
            .score_failing(&stored, &owners, MAX_FAILING)
            .await?;
        with_failing(&mut report.teams, failing);
        Ok(report)
    }

    /// The scorecard file holding `into`'s rules and the campaign's, these at `level` (the
    /// campaign's rule ids must not be taken in `into`). Nothing changes until an admin puts the
    /// file where the platform's scorecards are read.
    pub fn promote_campaign(
        &self,
        actor: &Actor,
        name: &str,
        into: &str,
        level: &str,
    ) -> Result<String, AppError> {
        self.can_read(actor)?;
        let (c, _) = self.campaign_named(name)?;
        let into_card = self.scorecard_named(into)?;
        let card = &into_card.card;
        let level = card.level_index(level).ok_or_else(|| {
            AppError::bad_request(format!(
                "{into} has no level {level:?}; its levels are {}",
                card.levels.join(", ")
            ))
        })?;
        let mut promoted = card.clone();
        for r in &c.card.rules {
            if promoted.rules.iter().any(|x| x.id == r.id) {
                return Err(AppError::new(
                    crate::ErrorCode::Conflict,
                    format!("{into} already has a rule {:?}", r.id),
                ));
            }
            let mut r = r.clone();
            r.level = level;
            promoted.rules.push(r);
        }
        scorecard_yaml(&promoted).map_err(AppError::internal)
    }

    /// Reminds every team that owns entities still failing an open campaign (started, target
    /// not passed), at the webhook its Group names, once per day: each reminder is claimed in
    /// the store before it is sent, so a restart or another replica does not send it again.
    /// Returns what each reminder did.
    pub async fn send_campaign_reminders(&self) -> Result<Vec<ReminderOutcome>, AppError> {
        let today = self.now_ms().div_euclid(DAY_MS);
        let snap = self.snapshot();
        let active = self.scorecards();
        let mut out = Vec::new();
        for c in active.1.iter() {
            if today < Campaign::day_of(c.start) || today > Campaign::day_of(c.target) {
                continue;
            }
            let report = self.campaign_progress(&c.card.name, usize::MAX).await?;
            for team in report.teams.iter().filter(|t| t.passing < t.entities) {
                // Only a Group from a location that may shape the organisation names where
                // Socle posts (not one a member's location declares).
                let webhook = snap.get(&team.team).filter(|g| g.shapes_org).and_then(|g| {
                    let body: Value = serde_json::from_str(&g.body).ok()?;
                    crate::origin::annotation(&body, WEBHOOK_ANNOTATION).map(str::to_owned)
                });
                let outcome = match webhook {
                    None => Delivery::NoWebhook,
                    Some(url) => self.deliver(c, team, &url, today).await?,
                };
                out.push(ReminderOutcome {
                    campaign: c.card.name.clone(),
                    team: team.team.clone(),
                    outcome,
                });
            }
        }
        Ok(out)
    }

    /// Claims the day's reminder of `c` to `team`, sends it and records how it went.
    async fn deliver(
        &self,
        c: &Campaign,
        team: &CampaignTeam,
        url: &str,
        period: i64,
    ) -> Result<Delivery, AppError> {
        let now = self.now_ms();
        let claim = socle_store::ReminderClaim {
            campaign: &c.card.name,
            team: &team.team,
            period,
            now_ms: now,
            stale_before_ms: now - STALE_CLAIM_MS,
        };
        if !self.store.claim_reminder(claim).await? {
            return Ok(Delivery::AlreadySent);
        }
        let sent = self.post_webhook(url, &reminder_message(c, team)).await;
        self.store
            .finish_reminder(
                &c.card.name,
                &team.team,
                period,
                sent.as_ref().err().map(String::as_str),
                self.now_ms(),
            )
            .await?;
        Ok(match sent {
            Ok(()) => Delivery::Sent,
            Err(e) => Delivery::Failed(e),
        })
    }

    async fn post_webhook(&self, url: &str, message: &Value) -> Result<(), String> {
        let endpoint = crate::net::Endpoint::of(url).map_err(|e| e.to_string())?;
        let req = hyper::Request::post(origin_form(url))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(message.to_string())))
            .map_err(|e| e.to_string())?;
        let (status, _) = crate::net::exchange(
            &endpoint,
            &self.config.tls,
            req,
            WEBHOOK_TIMEOUT,
            MAX_WEBHOOK_ANSWER,
        )
        .await
        .map_err(|e| e.to_string())?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(format!("HTTP {status}"))
        }
    }
}

/// A scorecard as a `kind: Scorecard` YAML document (what [`socle_scorecard::load`] reads).
pub fn scorecard_yaml(card: &Scorecard) -> Result<String, String> {
    let f = &card.filter;
    let mut filter = serde_json::Map::new();
    for (k, v) in [
        ("kind", &f.kind),
        ("type", &f.spec_type),
        ("lifecycle", &f.lifecycle),
        ("tags", &f.tags),
        ("owner", &f.owner),
        ("system", &f.system),
    ] {
        if !v.is_empty() {
            filter.insert(k.into(), json!(v));
        }
    }
    let rules: Vec<Value> = card
        .rules
        .iter()
        .map(|r| {
            let check = match &r.check {
                Check::Builtin { name, params } if params.is_null() => json!({"builtin": name}),
                Check::Builtin { name, params } => json!({"builtin": name, "params": params}),
                Check::Rego { source } => json!({"rego": source}),
            };
            json!({"id": r.id, "level": card.levels[r.level], "title": r.title, "fixit": r.fixit,
                   "facts": r.facts, "check": check})
        })
        .collect();
    let mut metadata = json!({"name": card.name, "title": card.title});
    if let Some(d) = &card.description {
        metadata["description"] = json!(d);
    }
    let doc = json!({
        "apiVersion": socle_scorecard::load::API_VERSION,
        "kind": "Scorecard",
        "metadata": metadata,
        "spec": {"filter": filter, "levels": card.levels, "rules": rules},
    });
    serde_saphyr::to_string(&doc).map_err(|e| e.to_string())
}
