//! Adoption and impact (issue 19 items 3–4): the facts gathered from the catalog, the store
//! and the DORA index, computed by `socle_adoption`, and who may read what.
//!
//! * The organisation's report (shares, weekly series, template runs, time to first deploy,
//!   weekly active people — counts only — and the tally of teams' impact) is for anyone signed
//!   in (a principal of any role); anonymous callers are refused even where reads are open.
//! * A team's details (its adoption, and its DORA keys and survey results before and after its
//!   adoption date) are for the team's members, members of a parent team, and admins. The
//!   organisation's report lists the teams its reader may see in detail.
//!
//! Weekly snapshots: every `adoption_snapshot_interval` (an hour) the replica holding the
//! `adoption-snapshot` lease stores this week's service counts — the organisation's and each
//! owning team's — unless the week holds them already; the weekly series read past weeks from
//! them (one taken at a week's turn stands for the week before), the current week from the
//! catalog.
//!
//! A team's services are those it or a sub-team owns; its runs, those that registered one of
//! them, or whose runner's first team it is. Survey figures come from the rounds' results as
//! anyone reads them (from the threshold on, with complementary suppression): nothing here can
//! link an answer to a person.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use socle_adoption::{
    ActivityWeek, AdoptionReport, GoldenPathOrigin, ImpactSummary, RunFacts, RunOutcome,
    ScoredLevel, ServiceFacts, Shares, SurveyComparison, SurveyScore, SurveySide, TeamImpact,
    WeekCounts,
};
use socle_catalog::RelationType;
use socle_dora::{Dataset, Window};
use socle_store::{AdoptionWeekCounts, Role, WeekSnapshot};

use crate::App;
use crate::actor::Actor;
use crate::error::AppError;
use crate::scorecards::facts::{SLO_ANNOTATION, TECHDOCS_ANNOTATION};
use crate::snapshot::Snapshot;

/// Backstage's annotation naming the template an entity was created from
/// (`template:default/rust-axum-service`); Socle's golden paths write it.
pub const SOURCE_TEMPLATE_ANNOTATION: &str = "backstage.io/source-template";

/// The organisation's report.
#[derive(Clone, Debug, Serialize)]
pub struct AdoptionOverview {
    pub adoption: AdoptionReport,
    /// Every team's impact, tallied (no team named).
    pub impact: ImpactSummary,
    /// The teams the reader may see in detail (admins: all; members: their teams).
    pub teams: Vec<TeamImpact>,
}

/// One team's report.
#[derive(Clone, Debug, Serialize)]
pub struct TeamAdoption {
    pub adoption: AdoptionReport,
    pub impact: TeamImpact,
}

/// The lease under which one replica at a time takes the weekly snapshot.
pub const SNAPSHOT_LEASE: &str = "adoption-snapshot";

/// What one try at the weekly snapshot did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotOutcome {
    /// This week's counts are stored now.
    Taken,
    /// The week held them already (an earlier try, another replica).
    AlreadyTaken,
    /// Another replica holds the lease.
    OtherReplica,
}

/// Everything a report reads, gathered once.
struct Facts {
    services: Vec<ServiceFacts>,
    runs: Vec<RunFacts>,
}

fn annotation<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.pointer("/metadata/annotations")?.get(key)?.as_str()
}

/// The template named by a `backstage.io/source-template` value (`template:default/x` → `x`).
fn template_name(r: &str) -> String {
    r.rsplit('/')
        .next()
        .unwrap_or(r)
        .chars()
        .take(256)
        .collect()
}

/// Gathers the facts: every component of the read model with its golden-path origin (the run
/// that registered it, else its annotation), first Socle deploy, docs, SLO and scorecard
/// levels; every real run with its team.
async fn gather(app: &App, snap: &Snapshot) -> Result<Facts, AppError> {
    let runs = app.store.adoption_runs().await?;
    let first: HashMap<String, i64> = app
        .store
        .first_deployments()
        .await?
        .into_iter()
        .map(|f| (f.service.to_ascii_lowercase(), f.at))
        .collect();
    let mut levels: HashMap<String, Vec<ScoredLevel>> = HashMap::new();
    for r in app.store.scores(&Default::default()).await? {
        if crate::scorecards::is_campaign(&r.scorecard) {
            continue;
        }
        levels.entry(r.entity).or_default().push(ScoredLevel {
            scorecard: r.scorecard,
            level: r.level,
            rank: r.level_rank,
        });
    }
    // The first completed run that registered each entity.
    let mut made_by: HashMap<String, &socle_store::RunSummary> = HashMap::new();
    for r in &runs {
        if r.status == socle_store::RunStatus::Completed
            && let Some(e) = &r.entity
        {
            made_by.entry(e.to_ascii_lowercase()).or_insert(r);
        }
    }
    let mut services = Vec::new();
    for e in snap.entities.iter().filter(|e| e.kind() == "component") {
        let body: Value = serde_json::from_str(&e.body).unwrap_or(Value::Null);
        let name = e
            .entity_ref
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let golden_path = match made_by.get(&*e.entity_ref) {
            Some(r) => Some(GoldenPathOrigin {
                template: r.template.clone(),
                run: Some(r.id.clone()),
                started_at: r.started_at,
                finished_at: Some(r.finished_at),
            }),
            None => annotation(&body, SOURCE_TEMPLATE_ANNOTATION).map(|t| GoldenPathOrigin {
                template: template_name(t),
                run: None,
                started_at: None,
                finished_at: None,
            }),
        };
        services.push(ServiceFacts {
            first_deploy_at: first.get(&name).copied(),
            service: name,
            team: e.owner.map(|o| snap.name(o).to_owned()),
            golden_path,
            has_docs: annotation(&body, TECHDOCS_ANNOTATION).is_some(),
            has_slo: annotation(&body, SLO_ANNOTATION).is_some(),
            scorecards: levels.remove(&*e.entity_ref).unwrap_or_default(),
        });
    }
    let runs = runs
        .iter()
        .map(|r| RunFacts {
            template: r.template.clone(),
            outcome: match r.status {
                socle_store::RunStatus::Completed => RunOutcome::Completed,
                socle_store::RunStatus::Failed => RunOutcome::Failed,
            },
            started_at: r.started_at,
            finished_at: r.finished_at,
            team: run_team(snap, r),
        })
        .collect();
    Ok(Facts { services, runs })
}

/// The team a run counts for: the owner of what it registered, else its runner's first team.
fn run_team(snap: &Snapshot, r: &socle_store::RunSummary) -> Option<String> {
    if let Some(owner) = r
        .entity
        .as_deref()
        .and_then(|e| snap.get(&e.to_ascii_lowercase()))
        .and_then(|e| e.owner)
    {
        return Some(snap.name(owner).to_owned());
    }
    crate::teams::groups_of(snap, &r.actor)
        .into_iter()
        .map(|g| snap.name(g).to_owned())
        .min()
}

/// The scope's facts: services owned by `teams`, runs counted for them.
fn of_teams(facts: &Facts, teams: &BTreeSet<String>) -> (Vec<ServiceFacts>, Vec<RunFacts>) {
    let mine = |t: &Option<String>| t.as_ref().is_some_and(|t| teams.contains(t));
    (
        facts
            .services
            .iter()
            .filter(|s| mine(&s.team))
            .cloned()
            .collect(),
        facts
            .runs
            .iter()
            .filter(|r| mine(&r.team))
            .cloned()
            .collect(),
    )
}

/// Services by their owning team, so that each team's share is found without a pass over
/// every service.
fn by_team(facts: &Facts) -> HashMap<&str, Vec<&ServiceFacts>> {
    let mut out: HashMap<&str, Vec<&ServiceFacts>> = HashMap::new();
    for s in &facts.services {
        if let Some(t) = &s.team {
            out.entry(t.as_str()).or_default().push(s);
        }
    }
    out
}

/// A team and its sub-teams.
fn team_tree(snap: &Snapshot, team: &str) -> BTreeSet<String> {
    crate::teams::walk(snap, team, RelationType::ParentOf)
}

/// The counts a snapshot stores for `scope`.
fn stored_counts(scope: &str, s: &Shares) -> AdoptionWeekCounts {
    let n = |x: usize| i64::try_from(x).unwrap_or(i64::MAX);
    AdoptionWeekCounts {
        scope: scope.to_owned(),
        services: n(s.services),
        golden_path: n(s.golden_path),
        deployed: n(s.deployed_through_socle),
        with_docs: n(s.with_docs),
        with_slo: n(s.with_slo),
    }
}

/// A stored week as `socle_adoption` reads it.
fn week_counts(w: &WeekSnapshot) -> WeekCounts {
    let n = |x: i64| u64::try_from(x).unwrap_or(0);
    WeekCounts {
        taken_at: w.taken_at,
        services: n(w.counts.services),
        golden_path: n(w.counts.golden_path),
        deployed: n(w.counts.deployed),
        with_docs: n(w.counts.with_docs),
        with_slo: n(w.counts.with_slo),
    }
}

/// Tries the weekly snapshot every `adoption_snapshot_interval`, the first at start.
pub(crate) fn spawn_snapshots(state: &Arc<App>) {
    let Some(every) = state.config.adoption_snapshot_interval else {
        return;
    };
    let app = state.clone();
    tokio::spawn(async move {
        loop {
            match app.adoption_snapshot_tick(every).await {
                Ok(o) => tracing::debug!("adoption snapshot: {o:?}"),
                Err(e) => tracing::warn!("adoption snapshot failed: {}", e.message),
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// Survey results per (survey, round), computed once per report.
type ResultsCache = HashMap<(String, String), Vec<socle_survey::GroupResult>>;

impl App {
    /// One try at this week's snapshot, as the background job makes it: under the
    /// `adoption-snapshot` lease (held for `ttl`), then stored unless the week holds it.
    pub async fn adoption_snapshot_tick(
        &self,
        ttl: std::time::Duration,
    ) -> Result<SnapshotOutcome, AppError> {
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        if !self
            .store
            .try_lease(SNAPSHOT_LEASE, &self.config.instance, self.now_ms(), ttl)
            .await?
        {
            return Ok(SnapshotOutcome::OtherReplica);
        }
        self.take_adoption_snapshot().await
    }

    /// Stores this week's service counts — the organisation's and each owning team's — unless
    /// the week holds them already. Counts only: no service, no person.
    pub async fn take_adoption_snapshot(&self) -> Result<SnapshotOutcome, AppError> {
        let snap = self.snapshot();
        let facts = gather(self, &snap).await?;
        let organisation = stored_counts(
            socle_survey::ORGANISATION,
            &socle_adoption::current_shares(&facts.services),
        );
        let mut teams: Vec<AdoptionWeekCounts> = by_team(&facts)
            .into_iter()
            .map(|(team, services)| stored_counts(team, &socle_adoption::current_shares(services)))
            .collect();
        teams.sort_by(|a, b| a.scope.cmp(&b.scope));
        let taken = self
            .store
            .save_adoption_week(self.now_ms(), &organisation, &teams)
            .await?;
        Ok(if taken {
            SnapshotOutcome::Taken
        } else {
            SnapshotOutcome::AlreadyTaken
        })
    }

    /// The stored weeks of these scopes that a report over `w` may read (a week's snapshot is
    /// taken in the week after it).
    async fn stored_weeks(
        &self,
        scopes: &BTreeSet<String>,
        w: Window,
    ) -> Result<Vec<WeekCounts>, AppError> {
        let from = socle_adoption::week_start(w.from);
        let to = w.to.saturating_add(socle_adoption::WEEK_MS);
        let mut out = Vec::new();
        for scope in scopes {
            out.extend(
                self.store
                    .adoption_weeks(scope, from, to)
                    .await?
                    .iter()
                    .map(week_counts),
            );
        }
        Ok(out)
    }

    /// Whether `actor` may see `team`'s details: an admin, or a member of it or of a team
    /// above it.
    pub fn may_see_team(&self, snap: &Snapshot, actor: &Actor, team: &str) -> bool {
        let Some(p) = actor.principal() else {
            return false;
        };
        if p.role == Role::Admin {
            return true;
        }
        let above = crate::teams::walk(snap, team, RelationType::ChildOf);
        crate::teams::groups_of(snap, &p.subject)
            .into_iter()
            .any(|g| above.contains(snap.name(g)))
    }

    /// The organisation's adoption report over the `since` window (default 90 days).
    pub async fn adoption_overview(
        &self,
        actor: &Actor,
        since: Option<&str>,
    ) -> Result<AdoptionOverview, AppError> {
        actor.require(Role::Viewer)?;
        let now = self.now_ms();
        let w = crate::dora::window(since, None, None, now)?;
        let snap = self.snapshot();
        let facts = gather(self, &snap).await?;
        let activity: Vec<ActivityWeek> = self
            .store
            .weekly_activity(w.from, w.to)
            .await?
            .into_iter()
            .map(|a| ActivityWeek {
                week: a.week,
                portal_users: a.portal_users.max(0) as u64,
                cli_api_users: a.cli_api_users.max(0) as u64,
            })
            .collect();
        let teams: BTreeSet<String> = facts
            .services
            .iter()
            .filter_map(|s| s.team.clone())
            .collect();
        let stored = self
            .stored_weeks(&BTreeSet::from([socle_survey::ORGANISATION.to_owned()]), w)
            .await?;
        let ds = self.dora_dataset().await?;
        let mut cache = ResultsCache::new();
        let mut impacts = Vec::with_capacity(teams.len());
        let owned = by_team(&facts);
        for team in &teams {
            let services: Vec<ServiceFacts> = team_tree(&snap, team)
                .iter()
                .filter_map(|t| owned.get(t.as_str()))
                .flatten()
                .map(|s| (*s).clone())
                .collect();
            impacts.push(
                self.team_impact(actor, &ds, team, &services, w, now, &mut cache)
                    .await?,
            );
        }
        drop(owned);
        let summary = socle_adoption::summarise(&impacts);
        impacts.retain(|t| self.may_see_team(&snap, actor, &t.team));
        let adoption = self
            .cpu
            .run(move || {
                socle_adoption::adoption(
                    socle_survey::ORGANISATION,
                    &facts.services,
                    &facts.runs,
                    Some(&activity),
                    &stored,
                    w,
                )
            })
            .await?;
        Ok(AdoptionOverview {
            adoption,
            impact: summary,
            teams: impacts,
        })
    }

    /// One team's adoption and impact: its members (or a parent team's) and admins.
    pub async fn adoption_team(
        &self,
        actor: &Actor,
        team: &str,
        since: Option<&str>,
    ) -> Result<TeamAdoption, AppError> {
        let p = actor.require(Role::Viewer)?;
        let team = normalise_team(team)?;
        let snap = self.snapshot();
        if !self.may_see_team(&snap, actor, &team) {
            return Err(AppError::forbidden(format!(
                "{} is not a member of {team} or of a team above it: a team's adoption details are for its members and admins",
                p.subject
            )));
        }
        if snap.get(&team).is_none_or(|g| g.kind() != "group") {
            return Err(AppError::not_found(format!("{team} is not in the catalog")));
        }
        let now = self.now_ms();
        let w = crate::dora::window(since, None, None, now)?;
        let facts = gather(self, &snap).await?;
        let tree = team_tree(&snap, &team);
        let (services, runs) = of_teams(&facts, &tree);
        let stored = self.stored_weeks(&tree, w).await?;
        let ds = self.dora_dataset().await?;
        let impact = self
            .team_impact(
                actor,
                &ds,
                &team,
                &services,
                w,
                now,
                &mut ResultsCache::new(),
            )
            .await?;
        let scope = team.clone();
        let adoption = self
            .cpu
            .run(move || socle_adoption::adoption(&scope, &services, &runs, None, &stored, w))
            .await?;
        Ok(TeamAdoption { adoption, impact })
    }

    /// A team's impact: adoption date, DORA keys over equal windows (at most the report's
    /// length) before and after, and every survey's rounds on each side.
    #[allow(clippy::too_many_arguments)]
    async fn team_impact(
        &self,
        actor: &Actor,
        ds: &Dataset,
        team: &str,
        services: &[ServiceFacts],
        w: Window,
        now: i64,
        cache: &mut ResultsCache,
    ) -> Result<TeamImpact, AppError> {
        let adopted = socle_adoption::adoption_date(services);
        let max_days = (w.to - w.from) / socle_adoption::DAY_MS;
        let windows = adopted.and_then(|a| socle_adoption::impact_windows(a.at, now, max_days));
        let names: Vec<String> = services.iter().map(|s| s.service.clone()).collect();
        let reports = windows.map(|ws| {
            (
                ds.report(Some(&names), ws.before, false),
                ds.report(Some(&names), ws.after, false),
            )
        });
        let mut surveys = Vec::new();
        if let Some(a) = adopted {
            for s in self.config.surveys.0.iter() {
                let rounds = s.rounds_started(now);
                let before = rounds.iter().rev().find(|r| r.opens_ms < a.at);
                let after = rounds.iter().rev().find(|r| r.opens_ms >= a.at);
                surveys.push(SurveyComparison {
                    survey: s.name.clone(),
                    before: self
                        .survey_side(actor, &s.name, before, team, cache)
                        .await?,
                    after: self.survey_side(actor, &s.name, after, team, cache).await?,
                });
            }
        }
        Ok(socle_adoption::impact(
            team,
            adopted,
            windows,
            reports.as_ref().map(|(b, a)| (b, a)),
            surveys,
        ))
    }

    async fn survey_side(
        &self,
        actor: &Actor,
        survey: &str,
        round: Option<&socle_survey::Round>,
        team: &str,
        cache: &mut ResultsCache,
    ) -> Result<SurveySide, AppError> {
        let Some(round) = round else {
            return Ok(SurveySide {
                round: None,
                score: SurveyScore::NoRound,
            });
        };
        let key = (survey.to_owned(), round.id.clone());
        if !cache.contains_key(&key) {
            let results = self.survey_results(actor, survey, Some(&round.id)).await?;
            cache.insert(key.clone(), results.groups);
        }
        let group = cache
            .get(&key)
            .and_then(|groups| groups.iter().find(|g| g.group == team));
        Ok(SurveySide {
            round: Some(round.id.clone()),
            score: socle_adoption::survey_score(group),
        })
    }
}

/// `team-a`, `group:team-a` or `group:default/team-a` → `group:default/team-a`, bounded.
fn normalise_team(team: &str) -> Result<String, AppError> {
    let t = team.trim();
    if t.is_empty() || t.len() > 256 {
        return Err(AppError::bad_request(
            "team: a group's name or reference, at most 256 bytes",
        ));
    }
    let t = t.strip_prefix("group:").unwrap_or(t);
    let full = if t.contains('/') {
        format!("group:{t}")
    } else {
        format!("group:default/{t}")
    };
    Ok(full.to_ascii_lowercase())
}
