//! The facts the application gathers for a report.

use serde::Serialize;

/// How a service came from a golden path: the template (from the run that registered it, or
/// the entity's `backstage.io/source-template` annotation), and, when Socle ran it, the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GoldenPathOrigin {
    pub template: String,
    /// The recorded run (`run-12`) that registered the service; `None` when only the
    /// annotation says so (a run elsewhere, or before runs kept their entity).
    pub run: Option<String>,
    /// When that run started and finished (milliseconds).
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// A scorecard's level for one service: `level` None is below the first level; `rank` 0 below
/// the first level, n for the n-th.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScoredLevel {
    pub scorecard: String,
    pub level: Option<String>,
    pub rank: i64,
}

/// One service of the catalog (a `Component`), as an adoption report sees it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ServiceFacts {
    /// The component's name.
    pub service: String,
    /// The group that owns it directly.
    pub team: Option<String>,
    pub golden_path: Option<GoldenPathOrigin>,
    /// Its first successful deploy through Socle (any environment).
    pub first_deploy_at: Option<i64>,
    /// TechDocs (`backstage.io/techdocs-ref`).
    pub has_docs: bool,
    /// An SLO file (`socle.dev/slo`).
    pub has_slo: bool,
    pub scorecards: Vec<ScoredLevel>,
}

impl ServiceFacts {
    /// When the service came into being, if known: the end of the golden-path run that made it.
    pub fn created_at(&self) -> Option<i64> {
        self.golden_path.as_ref().and_then(|g| g.finished_at)
    }
    /// Whether it existed before `t` (a service with no known creation time always did).
    pub(crate) fn exists_before(&self, t: i64) -> bool {
        self.created_at().is_none_or(|c| c < t)
    }
}

/// How a golden-path run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Completed,
    Failed,
}

/// One recorded golden-path run (dry runs are previews: the application leaves them out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFacts {
    pub template: String,
    pub outcome: RunOutcome,
    /// `None` for runs recorded before runs kept their start.
    pub started_at: Option<i64>,
    pub finished_at: i64,
    /// The team it counts for: the owner of the service it registered, else the runner's
    /// first team; `None` when neither is known.
    pub team: Option<String>,
}

/// People active in one week, counted (never named): those who opened a portal session, and
/// those who changed something without one (through the CLI or the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ActivityWeek {
    /// The week's Monday, 00:00 UTC (milliseconds).
    pub week: i64,
    pub portal_users: u64,
    pub cli_api_users: u64,
}

/// What made a team an adopter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdoptionSource {
    /// Its first service created from a golden path.
    GoldenPath,
    /// Its first deploy through Socle.
    SocleDeploy,
}

/// When a team adopted the platform, and by what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AdoptionDate {
    pub at: i64,
    pub source: AdoptionSource,
}

/// A scope's service counts as a weekly snapshot stored them (the organisation, or one team:
/// a team and its sub-teams give several, summed). A snapshot is taken once per week, by the
/// hourly job normally in the week's first hour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WeekCounts {
    /// When it was taken (milliseconds).
    pub taken_at: i64,
    pub services: u64,
    pub golden_path: u64,
    pub deployed: u64,
    pub with_docs: u64,
    pub with_slo: u64,
}

impl WeekCounts {
    /// The week (its Monday) this snapshot stands for: taken in a week's first day, how the
    /// week before ended; taken later (no server ran at the week's turn), its own week as it
    /// was then — never a week before the changes it holds.
    pub fn records_week(&self) -> i64 {
        let taken_in = crate::week_start(self.taken_at);
        if self.taken_at - taken_in < crate::DAY_MS {
            taken_in - crate::WEEK_MS
        } else {
            taken_in
        }
    }
}

/// Where a week's service counts come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeekSource {
    /// The catalog now (the window's last week).
    Live,
    /// The snapshot taken at the week's turn.
    Snapshot,
    /// No snapshot: rebuilt from creation and deploy times; docs and SLOs unknown.
    Rebuilt,
}
