//! Adoption: shares of services now and week by week, golden-path runs, time to first deploy,
//! active people.

use std::collections::BTreeMap;

use serde::Serialize;
use socle_dora::Window;
use socle_dora::events::format_timestamp;

use crate::model::{ActivityWeek, RunFacts, RunOutcome, ServiceFacts, WeekCounts, WeekSource};
use crate::{HOUR_MS, WEEK_MS, percentile, share, week_start};

/// Services now: how many, and how many of them are each thing (with the share).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Shares {
    pub services: usize,
    pub golden_path: usize,
    pub golden_path_share: Option<f64>,
    pub deployed_through_socle: usize,
    pub deployed_share: Option<f64>,
    pub with_docs: usize,
    pub docs_share: Option<f64>,
    pub with_slo: usize,
    pub slo_share: Option<f64>,
}

/// How many services hold one level of a scorecard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LevelShare {
    /// `None`: below the first level.
    pub level: Option<String>,
    pub rank: i64,
    pub services: usize,
    pub share: Option<f64>,
}

/// A scorecard's levels over the scope's services that it scored, lowest first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScorecardLevels {
    pub scorecard: String,
    pub scored: usize,
    pub levels: Vec<LevelShare>,
}

/// One week (Monday to Monday, UTC; the first and last cut by the window).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdoptionWeek {
    pub from: String,
    pub to: String,
    /// Where the service counts come from: the catalog now (the last week), the snapshot
    /// taken at the week's turn, or rebuilt from creation and deploy times.
    pub counted_from: WeekSource,
    /// When that snapshot was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_taken_at: Option<String>,
    /// Services at the week's end.
    pub services: usize,
    pub golden_path: usize,
    pub golden_path_share: Option<f64>,
    pub deployed_through_socle: usize,
    pub deployed_share: Option<f64>,
    /// With docs and with an SLO: `None` for a rebuilt week (the catalog keeps no history).
    pub with_docs: Option<usize>,
    pub docs_share: Option<f64>,
    pub with_slo: Option<usize>,
    pub slo_share: Option<f64>,
    /// Golden-path runs that finished in the week, and how many completed.
    pub runs: usize,
    pub runs_completed: usize,
    /// Counted people (organisation reports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal_users: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cli_api_users: Option<u64>,
}

/// One template's runs that finished in the window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TemplateStats {
    pub template: String,
    pub runs: usize,
    pub completed: usize,
    pub failed: usize,
    pub success_rate: Option<f64>,
    /// Start to finish, over the runs whose start is known.
    pub duration_median_seconds: Option<f64>,
    pub duration_p90_seconds: Option<f64>,
}

/// Time to first deploy of the services created from a golden path whose run started in the
/// window: from the run's start to the service's first successful deploy through Socle.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FirstDeploy {
    /// Services with both times (the sample).
    pub services: usize,
    /// Services created in the window that have not been deployed yet.
    pub not_deployed: usize,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
}

/// A scope's adoption over a window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdoptionReport {
    /// `organisation` or a group reference.
    pub scope: String,
    pub from: String,
    pub to: String,
    pub now: Shares,
    pub scorecards: Vec<ScorecardLevels>,
    pub weekly: Vec<AdoptionWeek>,
    pub templates: Vec<TemplateStats>,
    pub time_to_first_deploy: FirstDeploy,
}

fn shares(services: &[&ServiceFacts]) -> Shares {
    let n = services.len();
    let count = |f: &dyn Fn(&ServiceFacts) -> bool| services.iter().filter(|s| f(s)).count();
    let golden_path = count(&|s| s.golden_path.is_some());
    let deployed = count(&|s| s.first_deploy_at.is_some());
    let docs = count(&|s| s.has_docs);
    let slo = count(&|s| s.has_slo);
    Shares {
        services: n,
        golden_path,
        golden_path_share: share(golden_path, n),
        deployed_through_socle: deployed,
        deployed_share: share(deployed, n),
        with_docs: docs,
        docs_share: share(docs, n),
        with_slo: slo,
        slo_share: share(slo, n),
    }
}

fn scorecards(services: &[&ServiceFacts]) -> Vec<ScorecardLevels> {
    // scorecard → (rank, level) → services
    let mut by: BTreeMap<&str, BTreeMap<(i64, Option<&str>), usize>> = BTreeMap::new();
    for s in services {
        for l in &s.scorecards {
            *by.entry(&l.scorecard)
                .or_default()
                .entry((l.rank, l.level.as_deref()))
                .or_default() += 1;
        }
    }
    by.into_iter()
        .map(|(card, levels)| {
            let scored = levels.values().sum();
            ScorecardLevels {
                scorecard: card.to_owned(),
                scored,
                levels: levels
                    .into_iter()
                    .map(|((rank, level), n)| LevelShare {
                        level: level.map(str::to_owned),
                        rank,
                        services: n,
                        share: share(n, scored),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A week's service counts.
struct ServiceCounts {
    source: WeekSource,
    taken_at: Option<i64>,
    services: usize,
    golden_path: usize,
    deployed: usize,
    with_docs: Option<usize>,
    with_slo: Option<usize>,
}

/// The stored snapshots by the week they stand for, the rows of one snapshot summed (a team
/// and its sub-teams are stored apart). When two snapshots stand for one week (one taken late
/// in it, the next at the following week's turn), the later, nearer the week's end, is kept.
fn by_week(snapshots: &[WeekCounts]) -> BTreeMap<i64, WeekCounts> {
    // (week stood for, week taken in) → summed counts
    let mut sums: BTreeMap<(i64, i64), WeekCounts> = BTreeMap::new();
    for s in snapshots {
        let e = sums
            .entry((s.records_week(), week_start(s.taken_at)))
            .or_insert(WeekCounts {
                taken_at: s.taken_at,
                ..WeekCounts::default()
            });
        e.taken_at = e.taken_at.min(s.taken_at);
        e.services += s.services;
        e.golden_path += s.golden_path;
        e.deployed += s.deployed;
        e.with_docs += s.with_docs;
        e.with_slo += s.with_slo;
    }
    // Sorted by week then taken-in week: the last insert per week is the latest snapshot.
    sums.into_iter().map(|((week, _), c)| (week, c)).collect()
}

/// The counts of the week ending at `to`: live for the window's last week, else its snapshot,
/// else rebuilt.
fn week_counts(
    services: &[&ServiceFacts],
    stored: Option<&WeekCounts>,
    to: i64,
    last: bool,
) -> ServiceCounts {
    let usize_of = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    if let (Some(s), false) = (stored, last) {
        return ServiceCounts {
            source: WeekSource::Snapshot,
            taken_at: Some(s.taken_at),
            services: usize_of(s.services),
            golden_path: usize_of(s.golden_path),
            deployed: usize_of(s.deployed),
            with_docs: Some(usize_of(s.with_docs)),
            with_slo: Some(usize_of(s.with_slo)),
        };
    }
    let present: Vec<&&ServiceFacts> = services.iter().filter(|s| s.exists_before(to)).collect();
    let count = |f: &dyn Fn(&ServiceFacts) -> bool| present.iter().filter(|s| f(s)).count();
    ServiceCounts {
        source: if last {
            WeekSource::Live
        } else {
            WeekSource::Rebuilt
        },
        taken_at: None,
        services: present.len(),
        golden_path: count(&|s| s.golden_path.is_some()),
        deployed: count(&|s| s.first_deploy_at.is_some_and(|d| d < to)),
        with_docs: last.then(|| count(&|s| s.has_docs)),
        with_slo: last.then(|| count(&|s| s.has_slo)),
    }
}

fn weekly(
    services: &[&ServiceFacts],
    runs: &[&RunFacts],
    activity: Option<&[ActivityWeek]>,
    snapshots: &[WeekCounts],
    w: Window,
) -> Vec<AdoptionWeek> {
    let stored = by_week(snapshots);
    let mut out = Vec::new();
    let mut from = w.from;
    while from < w.to {
        let to = (week_start(from) + WEEK_MS).min(w.to);
        let c = week_counts(services, stored.get(&week_start(from)), to, to == w.to);
        let in_week: Vec<&&RunFacts> = runs
            .iter()
            .filter(|r| r.finished_at >= from && r.finished_at < to)
            .collect();
        let counted = activity.map(|a| {
            a.iter()
                .find(|x| x.week == week_start(from))
                .copied()
                .unwrap_or(ActivityWeek {
                    week: week_start(from),
                    portal_users: 0,
                    cli_api_users: 0,
                })
        });
        let of = |n: Option<usize>| n.and_then(|n| share(n, c.services));
        out.push(AdoptionWeek {
            from: format_timestamp(from),
            to: format_timestamp(to),
            counted_from: c.source,
            snapshot_taken_at: c.taken_at.map(format_timestamp),
            services: c.services,
            golden_path: c.golden_path,
            golden_path_share: share(c.golden_path, c.services),
            deployed_through_socle: c.deployed,
            deployed_share: share(c.deployed, c.services),
            with_docs: c.with_docs,
            docs_share: of(c.with_docs),
            with_slo: c.with_slo,
            slo_share: of(c.with_slo),
            runs: in_week.len(),
            runs_completed: in_week
                .iter()
                .filter(|r| r.outcome == RunOutcome::Completed)
                .count(),
            portal_users: counted.map(|c| c.portal_users),
            cli_api_users: counted.map(|c| c.cli_api_users),
        });
        from = to;
    }
    out
}

fn templates(runs: &[&RunFacts]) -> Vec<TemplateStats> {
    let mut by: BTreeMap<&str, Vec<&RunFacts>> = BTreeMap::new();
    for r in runs {
        by.entry(&r.template).or_default().push(r);
    }
    by.into_iter()
        .map(|(template, rs)| {
            let completed = rs
                .iter()
                .filter(|r| r.outcome == RunOutcome::Completed)
                .count();
            let durations: Vec<f64> = rs
                .iter()
                .filter_map(|r| {
                    r.started_at
                        .map(|s| (r.finished_at - s).max(0) as f64 / 1000.0)
                })
                .collect();
            TemplateStats {
                template: template.to_owned(),
                runs: rs.len(),
                completed,
                failed: rs.len() - completed,
                success_rate: share(completed, rs.len()),
                duration_median_seconds: percentile(&durations, 0.5),
                duration_p90_seconds: percentile(&durations, 0.9),
            }
        })
        .collect()
}

fn first_deploy(services: &[&ServiceFacts], w: Window) -> FirstDeploy {
    let mut hours = Vec::new();
    let mut not_deployed = 0;
    for s in services {
        let Some(started) = s.golden_path.as_ref().and_then(|g| g.started_at) else {
            continue;
        };
        if started < w.from || started >= w.to {
            continue;
        }
        match s.first_deploy_at {
            Some(d) if d >= started => hours.push((d - started) as f64 / HOUR_MS),
            Some(_) => {} // deployed before the run that claims it: not a first deploy of it
            None => not_deployed += 1,
        }
    }
    FirstDeploy {
        services: hours.len(),
        not_deployed,
        median_hours: percentile(&hours, 0.5),
        p90_hours: percentile(&hours, 0.9),
    }
}

/// The shares of these services now: what a weekly snapshot stores.
pub fn current_shares<'a>(services: impl IntoIterator<Item = &'a ServiceFacts>) -> Shares {
    shares(&services.into_iter().collect::<Vec<_>>())
}

/// The adoption report of a scope: `services` and `runs` are the scope's (the caller picks a
/// team's); `activity` only for the organisation (people are counted, not assigned to teams);
/// `snapshots` the scope's stored weekly counts (several per week are summed). Runs count
/// when they finished in the window.
pub fn adoption(
    scope: &str,
    services: &[ServiceFacts],
    runs: &[RunFacts],
    activity: Option<&[ActivityWeek]>,
    snapshots: &[WeekCounts],
    w: Window,
) -> AdoptionReport {
    let services: Vec<&ServiceFacts> = services.iter().collect();
    let runs: Vec<&RunFacts> = runs
        .iter()
        .filter(|r| r.finished_at >= w.from && r.finished_at < w.to)
        .collect();
    AdoptionReport {
        scope: scope.to_owned(),
        from: format_timestamp(w.from),
        to: format_timestamp(w.to),
        now: shares(&services),
        scorecards: scorecards(&services),
        weekly: weekly(&services, &runs, activity, snapshots, w),
        templates: templates(&runs),
        time_to_first_deploy: first_deploy(&services, w),
    }
}
