//! Scorecards in the application: which scorecards the platform has (the built-in ones and
//! those of the platform configuration directory — admin-trusted sources only), every entity's
//! facts ([`facts`], [`repo`]), evaluation on the CPU gate, and the reports: a scorecard's
//! distribution per level and its leaderboard by team, an entity's levels and failing rules.
//! Scanner findings (SARIF imports) are in [`findings`].

pub mod facts;
pub mod findings;
pub mod repo;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::Serialize;
use socle_scorecard::{CardResult, Compiled, Scorecard};

use crate::{Actor, App, AppError};
use facts::Inputs;

/// The platform's scorecards, compiled once.
#[derive(Clone, Debug)]
pub struct Scorecards(pub Arc<Vec<Compiled>>);

impl Scorecards {
    /// The built-in scorecards and `extra` (from the platform configuration); a name given
    /// twice is an error.
    pub fn new(extra: Vec<Scorecard>) -> Result<Self, String> {
        let mut names = BTreeSet::new();
        let mut out = Vec::new();
        for card in socle_scorecard::builtin_scorecards()
            .into_iter()
            .chain(extra)
        {
            if !names.insert(card.name.clone()) {
                return Err(format!(
                    "{}: scorecard {} is defined twice",
                    card.source, card.name
                ));
            }
            out.push(Compiled::new(card).map_err(|e| e.to_string())?);
        }
        Ok(Self(Arc::new(out)))
    }

    /// The content probes every scorecard needs from repositories.
    pub fn probes(&self) -> Vec<socle_scorecard::ContentProbe> {
        let mut p: Vec<_> = self.0.iter().flat_map(|c| c.probes()).collect();
        p.sort();
        p.dedup();
        p
    }

    pub fn get(&self, name: &str) -> Option<&Compiled> {
        self.0.iter().find(|c| c.card.name == name)
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

/// A scorecard's report over the catalog.
#[derive(Clone, Debug, Serialize)]
pub struct ScorecardReport {
    #[serde(flatten)]
    pub scorecard: ScorecardInfo,
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

fn distribution(card: &Scorecard, results: &[&CardResult]) -> Vec<LevelCount> {
    let mut counts = vec![0usize; card.levels.len() + 1];
    for r in results {
        counts[r.level_index.map_or(0, |l| l + 1)] += 1;
    }
    std::iter::once(None)
        .chain(card.levels.iter().cloned().map(Some))
        .zip(counts)
        .map(|(level, entities)| LevelCount { level, entities })
        .collect()
}

/// Builds a report from every result of one scorecard, with each entity's owner.
pub fn report(
    c: &Compiled,
    results: &[(Option<String>, CardResult)],
    evaluated_at: i64,
) -> ScorecardReport {
    let card = &c.card;
    let all: Vec<&CardResult> = results.iter().map(|(_, r)| r).collect();
    let mut by_team: BTreeMap<String, Vec<&CardResult>> = BTreeMap::new();
    for (owner, r) in results {
        by_team
            .entry(owner.clone().unwrap_or_else(|| "(no owner)".into()))
            .or_default()
            .push(r);
    }
    let n = card.levels.len() as f64;
    let mut leaderboard: Vec<TeamLine> = by_team
        .into_iter()
        .map(|(team, rs)| TeamLine {
            score: rs
                .iter()
                .map(|r| r.level_index.map_or(0.0, |l| (l + 1) as f64 / n))
                .sum::<f64>()
                / rs.len() as f64,
            entities: rs.len(),
            levels: distribution(card, &rs),
            team,
        })
        .collect();
    leaderboard.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.team.cmp(&b.team)));
    let mut passing: HashMap<&str, usize> = HashMap::new();
    for r in &all {
        for rule in r.rules.iter().filter(|x| x.passed) {
            *passing.entry(rule.id.as_str()).or_default() += 1;
        }
    }
    ScorecardReport {
        scorecard: info(c),
        rule_list: card
            .rules
            .iter()
            .map(|r| RuleInfo {
                id: r.id.clone(),
                level: card.levels[r.level].clone(),
                title: r.title.clone(),
                fixit: r.fixit.clone(),
                passing: passing.get(r.id.as_str()).copied().unwrap_or(0),
            })
            .collect(),
        entities: all.len(),
        distribution: distribution(card, &all),
        errors: all.iter().filter(|r| r.error.is_some()).count(),
        leaderboard,
        evaluated_at,
    }
}

impl App {
    /// The platform's scorecards.
    pub fn scorecard_list(&self, actor: &Actor) -> Result<Vec<ScorecardInfo>, AppError> {
        self.can_read(actor)?;
        Ok(self.config.scorecards.0.iter().map(info).collect())
    }

    fn scorecard_named(&self, name: &str) -> Result<&Compiled, AppError> {
        self.config
            .scorecards
            .get(name)
            .ok_or_else(|| AppError::not_found(format!("there is no scorecard named {name:?}")))
    }

    /// Facts of the given entities (all when `None`), repositories read on the CPU gate.
    async fn facts_for(
        &self,
        refs: Option<Vec<String>>,
    ) -> Result<Vec<(Option<String>, socle_scorecard::Facts)>, AppError> {
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
        let probes = self.config.scorecards.probes();
        let remotes = self.config.remotes.clone();
        let run = move || {
            let views: Vec<&crate::snapshot::EntityView> = match &refs {
                Some(list) => list.iter().filter_map(|r| snap.get(r)).collect(),
                None => snap.entities.iter().collect(),
            };
            let with_repo: Vec<(&crate::snapshot::EntityView, Option<repo::RepoRef>)> = views
                .into_iter()
                .map(|v| {
                    let body: serde_json::Value = serde_json::from_str(&v.body).unwrap_or_default();
                    (v, facts::repo_ref(&body, &registered))
                })
                .collect();
            let repos: BTreeSet<&repo::RepoRef> =
                with_repo.iter().filter_map(|(_, r)| r.as_ref()).collect();
            for r in repos {
                inputs
                    .repos
                    .insert(r.clone(), repo::read(r, &probes, remotes.0.as_ref()));
            }
            with_repo
                .iter()
                .map(|(v, r)| {
                    (
                        v.owner.map(|o| snap.name(o).to_owned()),
                        facts::facts_of(&snap, v, &inputs, r.as_ref()),
                    )
                })
                .collect::<Vec<_>>()
        };
        self.cpu.run(run).await
    }

    /// A scorecard over the whole catalog: the distribution of levels and the leaderboard.
    pub async fn scorecard_report(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<ScorecardReport, AppError> {
        self.can_read(actor)?;
        let c = self.scorecard_named(name)?.clone();
        let facts = self.facts_for(None).await?;
        let now_ms = self.now_ms();
        let now = now_ms.div_euclid(1000);
        self.cpu
            .run(move || {
                let (owners, facts): (Vec<_>, Vec<_>) = facts.into_iter().unzip();
                let results = socle_scorecard::evaluate_all(std::slice::from_ref(&c), &facts, now);
                let rows: Vec<(Option<String>, CardResult)> = owners
                    .into_iter()
                    .zip(results)
                    .filter_map(|(o, mut r)| r.pop().map(|r| (o, r)))
                    .collect();
                report(&c, &rows, now_ms)
            })
            .await
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
        let cards = self.config.scorecards.0.clone();
        let now = self.now_ms().div_euclid(1000);
        self.cpu
            .run(move || socle_scorecard::evaluate(&cards, &facts, now))
            .await
    }

    /// Every entity's results for every scorecard (the CLI's `scorecard eval` without an entity).
    pub async fn scorecard_eval_all(&self, actor: &Actor) -> Result<Vec<CardResult>, AppError> {
        self.can_read(actor)?;
        let facts = self.facts_for(None).await?;
        let cards = self.config.scorecards.0.clone();
        let now = self.now_ms().div_euclid(1000);
        self.cpu
            .run(move || {
                let facts: Vec<_> = facts.into_iter().map(|(_, f)| f).collect();
                socle_scorecard::evaluate_all(&cards, &facts, now)
                    .into_iter()
                    .flatten()
                    .collect()
            })
            .await
    }
}
