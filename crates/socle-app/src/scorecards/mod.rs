//! Scorecards in the application: which scorecards the platform has (the built-in ones and
//! those of the platform configuration directory — admin-trusted sources only), every entity's
//! facts ([`facts`], [`repo`]), evaluation on the CPU gate, and the reports: a scorecard's
//! distribution per level and its leaderboard by team, an entity's levels and failing rules.
//! Scanner findings (SARIF imports) are in [`findings`].

pub mod campaigns;
pub mod catalog;
pub mod evaluate;
pub mod facts;
pub mod findings;
pub mod repo;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use socle_scorecard::{CardResult, Compiled, Scorecard};
use socle_store::{RuleCount, ScoreCount, ScoreRecord, ScoreSummary};

use crate::{Actor, App, AppError};
use facts::Inputs;

/// The platform's scorecards, compiled once, then the campaigns' (named `campaign:NAME`):
/// everything re-scores evaluate. The campaigns themselves are the second field.
#[derive(Clone, Debug)]
pub struct Scorecards(
    pub Arc<Vec<Compiled>>,
    pub Arc<Vec<socle_scorecard::Campaign>>,
);

/// The prefix of a campaign's scorecard name, in the stored results.
pub const CAMPAIGN_PREFIX: &str = "campaign:";

/// Whether a stored result's scorecard is a campaign's.
pub fn is_campaign(name: &str) -> bool {
    name.starts_with(CAMPAIGN_PREFIX)
}

impl Scorecards {
    /// The built-in scorecards and `extra` (from the platform configuration); a name given
    /// twice is an error.
    pub fn new(extra: Vec<Scorecard>) -> Result<Self, String> {
        Self::with_campaigns(extra, Vec::new())
    }

    /// Scorecards and campaigns; a name given twice (among each) is an error.
    pub fn with_campaigns(
        extra: Vec<Scorecard>,
        campaigns: Vec<socle_scorecard::Campaign>,
    ) -> Result<Self, String> {
        let mut names = BTreeSet::new();
        let mut out = Vec::new();
        let campaign_cards = campaigns.iter().map(|c| {
            let mut card = c.card.clone();
            card.name = format!("{CAMPAIGN_PREFIX}{}", c.card.name);
            card
        });
        for card in socle_scorecard::builtin_scorecards()
            .into_iter()
            .chain(extra)
            .chain(campaign_cards)
        {
            if !names.insert(card.name.clone()) {
                return Err(format!("{}: {} is defined twice", card.source, card.name));
            }
            out.push(Compiled::new(card).map_err(|e| e.to_string())?);
        }
        Ok(Self(Arc::new(out), Arc::new(campaigns)))
    }

    /// The scorecards (not the campaigns).
    pub fn cards(&self) -> impl Iterator<Item = &Compiled> {
        self.0.iter().filter(|c| !is_campaign(&c.card.name))
    }

    /// The content probes every scorecard and campaign needs from repositories.
    pub fn probes(&self) -> Vec<socle_scorecard::ContentProbe> {
        let mut p: Vec<_> = self.0.iter().flat_map(|c| c.probes()).collect();
        p.sort();
        p.dedup();
        p
    }

    /// A scorecard by name (not a campaign's).
    pub fn get(&self, name: &str) -> Option<&Compiled> {
        self.cards().find(|c| c.card.name == name)
    }

    /// A campaign and its compiled scorecard.
    pub fn campaign(&self, name: &str) -> Option<(&socle_scorecard::Campaign, &Compiled)> {
        let c = self.1.iter().find(|c| c.card.name == name)?;
        let full = format!("{CAMPAIGN_PREFIX}{name}");
        Some((c, self.0.iter().find(|x| x.card.name == full)?))
    }
}

impl Default for Scorecards {
    fn default() -> Self {
        Self::new(Vec::new()).expect("the built-in scorecards compile")
    }
}

/// A scorecard as listed.
#[derive(Clone, Debug, Serialize)]
pub struct ScorecardInfo {
    pub name: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub levels: Vec<String>,
    pub rules: usize,
    pub filter: socle_scorecard::Filter,
    /// Where it was defined (`builtin/…` or a file of the platform directory).
    pub source: String,
}

fn info(c: &Compiled) -> ScorecardInfo {
    ScorecardInfo {
        name: c.card.name.clone(),
        title: c.card.title.clone(),
        description: c.card.description.clone(),
        levels: c.card.levels.clone(),
        rules: c.card.rules.len(),
        filter: c.card.filter.clone(),
        source: c.card.source.clone(),
    }
}

/// How many entities hold a level (`level: null`: below the first level).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LevelCount {
    pub level: Option<String>,
    pub entities: usize,
}

/// One team's line of a scorecard's leaderboard.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TeamLine {
    /// The owning group (`group:default/team-a`), or `(no owner)`.
    pub team: String,
    pub entities: usize,
    /// Mean of (level rank ÷ number of levels), 0 to 1: 1 when every entity holds the top level.
    pub score: f64,
    pub levels: Vec<LevelCount>,
}

/// Whether a report's figures come from a pass over the catalog.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScoreState {
    /// The figures are the stored results.
    Scored,
    /// Never scored over the catalog yet: a pass is queued (it runs in the background) and
    /// the figures are empty until it has run.
    Queued,
}

/// A scorecard's report over the catalog.
#[derive(Clone, Debug, Serialize)]
pub struct ScorecardReport {
    #[serde(flatten)]
    pub scorecard: ScorecardInfo,
    pub state: ScoreState,
    pub rule_list: Vec<RuleInfo>,
    /// Entities it selects.
    pub entities: usize,
    pub distribution: Vec<LevelCount>,
    /// Entities whose checks could not be evaluated.
    pub errors: usize,
    pub leaderboard: Vec<TeamLine>,
    /// When it was evaluated (milliseconds since the epoch).
    pub evaluated_at: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RuleInfo {
    pub id: String,
    pub level: String,
    pub title: String,
    pub fixit: String,
    /// Entities passing it.
    pub passing: usize,
}

/// Entities per level (`counts[0]`: below the first level) from `(rank, entities)` pairs.
fn distribution(card: &Scorecard, counts: impl IntoIterator<Item = (i64, i64)>) -> Vec<LevelCount> {
    let mut per = vec![0usize; card.levels.len() + 1];
    for (rank, n) in counts {
        let rank = usize::try_from(rank).unwrap_or(0).min(card.levels.len());
        per[rank] += usize::try_from(n).unwrap_or(0);
    }
    std::iter::once(None)
        .chain(card.levels.iter().cloned().map(Some))
        .zip(per)
        .map(|(level, entities)| LevelCount { level, entities })
        .collect()
}

/// The owner a leaderboard lists an entity under.
pub const NO_OWNER: &str = "(no owner)";

/// Stored results counted as the store's aggregates count them (per owner, level and whether
/// they could be evaluated; per failing rule): what [`report`] computes row by row.
pub fn summarise(results: &[ScoreRecord]) -> ScoreSummary {
    let mut counts: BTreeMap<(Option<&str>, i64, bool), i64> = BTreeMap::new();
    let mut rules: BTreeMap<&str, i64> = BTreeMap::new();
    for r in results {
        *counts
            .entry((r.owner.as_deref(), r.level_rank, r.error.is_some()))
            .or_default() += 1;
        if r.error.is_none() {
            for id in &r.failing {
                *rules.entry(id.as_str()).or_default() += 1;
            }
        }
    }
    ScoreSummary {
        counts: counts
            .into_iter()
            .map(|((owner, level_rank, errored), entities)| ScoreCount {
                owner: owner.map(str::to_owned),
                level_rank,
                errored,
                entities,
            })
            .collect(),
        rules: rules
            .into_iter()
            .map(|(rule, failing)| RuleCount {
                rule: rule.to_owned(),
                failing,
            })
            .collect(),
        evaluated_at: results.iter().map(|r| r.evaluated_at).max(),
    }
}

/// Builds a report from the stored results of one scorecard, row by row.
pub fn report(c: &Compiled, results: &[ScoreRecord], evaluated_at: i64) -> ScorecardReport {
    ScorecardReport {
        evaluated_at,
        ..report_from(c, &summarise(results))
    }
}

/// Builds a report from one scorecard's results counted ([`socle_store::Store::score_summary`]):
/// as many steps as owners and levels, whatever the number of entities.
pub fn report_from(c: &Compiled, s: &ScoreSummary) -> ScorecardReport {
    let card = &c.card;
    let mut by_team: BTreeMap<&str, Vec<&ScoreCount>> = BTreeMap::new();
    for x in &s.counts {
        by_team
            .entry(x.owner.as_deref().unwrap_or(NO_OWNER))
            .or_default()
            .push(x);
    }
    let n = card.levels.len().max(1) as f64;
    let mut leaderboard: Vec<TeamLine> = by_team
        .into_iter()
        .filter_map(|(team, xs)| {
            let entities: i64 = xs.iter().map(|x| x.entities).sum();
            let ranks: i64 = xs.iter().map(|x| x.level_rank * x.entities).sum();
            (entities > 0).then(|| TeamLine {
                score: ranks as f64 / n / entities as f64,
                entities: usize::try_from(entities).unwrap_or(0),
                levels: distribution(card, xs.iter().map(|x| (x.level_rank, x.entities))),
                team: team.to_owned(),
            })
        })
        .collect();
    leaderboard.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.team.cmp(&b.team)));
    let sum = |f: &dyn Fn(&ScoreCount) -> bool| -> usize {
        let n: i64 = s.counts.iter().filter(|x| f(x)).map(|x| x.entities).sum();
        usize::try_from(n).unwrap_or(0)
    };
    let entities = sum(&|_| true);
    let errors = sum(&|x| x.errored);
    let evaluated = entities - errors;
    let failing = |id: &str| {
        s.rules
            .iter()
            .find(|r| r.rule == id)
            .map_or(0, |r| usize::try_from(r.failing).unwrap_or(0))
    };
    ScorecardReport {
        scorecard: info(c),
        state: ScoreState::Scored,
        rule_list: card
            .rules
            .iter()
            .map(|r| RuleInfo {
                id: r.id.clone(),
                level: card.levels[r.level].clone(),
                title: r.title.clone(),
                fixit: r.fixit.clone(),
                passing: evaluated.saturating_sub(failing(&r.id)),
            })
            .collect(),
        entities,
        distribution: distribution(card, s.counts.iter().map(|x| (x.level_rank, x.entities))),
        errors,
        leaderboard,
        evaluated_at: s.evaluated_at.unwrap_or(0),
    }
}

impl App {
    /// The platform's scorecards.
    pub fn scorecard_list(&self, actor: &Actor) -> Result<Vec<ScorecardInfo>, AppError> {
        self.can_read(actor)?;
        Ok(self.scorecards().cards().map(info).collect())
    }

    fn scorecard_named(&self, name: &str) -> Result<Compiled, AppError> {
        self.scorecards()
            .get(name)
            .cloned()
            .ok_or_else(|| AppError::not_found(format!("there is no scorecard named {name:?}")))
    }

    /// Facts of the given entities (all when `None`), repositories read on the CPU gate.
    pub(crate) async fn facts_for(
        &self,
        refs: Option<Vec<String>>,
    ) -> Result<Vec<(Option<String>, socle_scorecard::Facts)>, AppError> {
        let chunks = self
            .facts_in_chunks(refs, usize::MAX, |facts| facts)
            .await?;
        Ok(chunks.into_iter().flatten().collect())
    }

    /// The facts of the given entities (all when `None`), `chunk` entities at a time, each
    /// chunk handed to `per_chunk` on the CPU gate before the next one is built: a full pass over
    /// a million entities never holds every entity's facts at once.
    pub async fn facts_in_chunks<T: Send + 'static>(
        &self,
        refs: Option<Vec<String>>,
        chunk: usize,
        mut per_chunk: impl FnMut(Vec<(Option<String>, socle_scorecard::Facts)>) -> T + Send + 'static,
    ) -> Result<Vec<T>, AppError> {
        let snap = self.snapshot();
        let dora = self.dora_dataset().await.ok();
        let mut inputs = Inputs::load(&self.store, refs.as_deref(), dora, self.now_ms()).await?;
        let registered: Vec<socle_ingest::LocationSpec> = self
            .store
            .list_locations()
            .await?
            .into_iter()
            .filter_map(|l| serde_json::from_value(l.spec).ok())
            .collect();
        let probes = self.scorecards().probes();
        let remotes = self.config.remotes.clone();
        let run = move || {
            // Scorecards and campaigns are the standards, not what they score.
            let scored = |v: &&crate::snapshot::EntityView| {
                !socle_scorecard::DEFINITION_KINDS.contains(&v.kind())
            };
            let views: Vec<&crate::snapshot::EntityView> = match &refs {
                Some(list) => list
                    .iter()
                    .filter_map(|r| snap.get(r))
                    .filter(scored)
                    .collect(),
                None => snap.entities.iter().map(|v| &**v).filter(scored).collect(),
            };
            // Each entity's repository, numbered: a million entities share a few thousand.
            let mut repos: Vec<repo::RepoRef> = Vec::new();
            let mut numbered: BTreeMap<repo::RepoRef, u32> = BTreeMap::new();
            let with_repo: Vec<(&crate::snapshot::EntityView, Option<u32>)> = views
                .into_iter()
                .map(|v| {
                    let body: serde_json::Value = serde_json::from_str(&v.body).unwrap_or_default();
                    let n = facts::repo_ref(&body, &registered).map(|r| {
                        *numbered.entry(r).or_insert_with_key(|r| {
                            repos.push(r.clone());
                            (repos.len() - 1) as u32
                        })
                    });
                    (v, n)
                })
                .collect();
            drop(numbered);
            for r in &repos {
                inputs
                    .repos
                    .insert(r.clone(), repo::read(r, &probes, remotes.0.as_ref()));
            }
            with_repo
                .chunks(chunk.max(1))
                .map(|part| {
                    per_chunk(
                        part.iter()
                            .map(|(v, r)| {
                                (
                                    v.owner.map(|o| snap.name(o).to_owned()),
                                    facts::facts_of(
                                        &snap,
                                        v,
                                        &inputs,
                                        r.map(|n| &repos[n as usize]),
                                    ),
                                )
                            })
                            .collect(),
                    )
                })
                .collect::<Vec<_>>()
        };
        self.cpu.run(run).await
    }

    /// A scorecard over the whole catalog, from the stored results (scored first when it has
    /// never been, and after the entities waiting to be re-scored): the distribution of levels
    /// and the leaderboard.
    pub async fn scorecard_report(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<ScorecardReport, AppError> {
        self.can_read(actor)?;
        let c = self.scorecard_named(name)?;
        let state = self.scores_ready(name).await?;
        let summary = self.store.score_summary(name).await?;
        Ok(ScorecardReport {
            state,
            ..report_from(&c, &summary)
        })
    }

    /// Every scorecard's result for one entity: its level and the failing rules with their
    /// fix-it text and the facts they read.
    pub async fn entity_scorecards(
        &self,
        actor: &Actor,
        entity: &str,
    ) -> Result<Vec<CardResult>, AppError> {
        self.can_read(actor)?;
        let entity = findings::entity_ref(entity)?;
        if self.snapshot().get(&entity).is_none() {
            return Err(AppError::not_found(format!(
                "{entity} is not in the catalog"
            )));
        }
        let mut facts = self.facts_for(Some(vec![entity])).await?;
        let Some((_, facts)) = facts.pop() else {
            return Ok(Vec::new());
        };
        let cards = self.scorecards().0.clone();
        let now = self.now_ms().div_euclid(1000);
        let mut results = self
            .cpu
            .run(move || socle_scorecard::evaluate(&cards, &facts, now))
            .await?;
        results.retain(|r| !is_campaign(&r.scorecard));
        Ok(results)
    }

    /// Every entity's results for every scorecard (the CLI's `scorecard eval` without an entity).
    pub async fn scorecard_eval_all(&self, actor: &Actor) -> Result<Vec<CardResult>, AppError> {
        self.can_read(actor)?;
        let facts = self.facts_for(None).await?;
        let cards = self.scorecards().0.clone();
        let now = self.now_ms().div_euclid(1000);
        self.cpu
            .run(move || {
                let facts: Vec<_> = facts.into_iter().map(|(_, f)| f).collect();
                socle_scorecard::evaluate_all(&cards, &facts, now)
                    .into_iter()
                    .flatten()
                    .filter(|r| !is_campaign(&r.scorecard))
                    .collect()
            })
            .await
    }
}
