//! Impact: a team's DORA keys and survey results before and after it adopted the platform,
//! over windows of equal length, with the caveats that keep the comparison honest.

use serde::Serialize;
use socle_dora::events::format_timestamp;
use socle_dora::{Report, Window};
use socle_survey::{GroupResult, Outcome, Summary};

use crate::DAY_MS;
use crate::model::{AdoptionDate, AdoptionSource, ServiceFacts};

/// Fewer production deployments than this on either side: the keys are too noisy to compare.
pub const MIN_DEPLOYMENTS: u64 = 10;
/// Windows shorter than this (days) say little: a month holds too few changes and incidents.
pub const MIN_WINDOW_DAYS: i64 = 28;
/// Windows this long or longer span a whole year: seasons weigh on both sides alike.
const YEAR_DAYS: i64 = 365;

/// A team's adoption date: the start of the run that created its first service from a golden
/// path (its end when the start is not known) or its first deploy through Socle, whichever
/// came first (a tie counts as the golden path). A golden path deploys during its run: the run
/// started first.
pub fn adoption_date(services: &[ServiceFacts]) -> Option<AdoptionDate> {
    let golden = services
        .iter()
        .filter_map(|s| {
            s.golden_path
                .as_ref()
                .and_then(|g| g.started_at.or(g.finished_at))
        })
        .min()
        .map(|at| AdoptionDate {
            at,
            source: AdoptionSource::GoldenPath,
        });
    let deployed = services
        .iter()
        .filter_map(|s| s.first_deploy_at)
        .min()
        .map(|at| AdoptionDate {
            at,
            source: AdoptionSource::SocleDeploy,
        });
    match (golden, deployed) {
        (Some(g), Some(d)) if d.at < g.at => Some(d),
        (Some(g), _) => Some(g),
        (None, d) => d,
    }
}

/// The two windows compared: equally long, meeting at the adoption date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    pub before: Window,
    pub after: Window,
}

impl Windows {
    pub fn days(&self) -> f64 {
        (self.after.to - self.after.from) as f64 / DAY_MS as f64
    }
}

/// Equal windows before and after `adopted`: as long as the time since adoption, at most
/// `max_days`. `None` when the team adopted less than a day before `now` (a rate over minutes
/// says nothing).
pub fn impact_windows(adopted: i64, now: i64, max_days: i64) -> Option<Windows> {
    let len = (now - adopted).min(max_days.max(1) * DAY_MS);
    (len >= DAY_MS).then_some(Windows {
        before: Window {
            from: adopted - len,
            to: adopted,
        },
        after: Window {
            from: adopted,
            to: adopted + len,
        },
    })
}

/// A window as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: String,
    pub to: String,
}

impl From<Window> for Period {
    fn from(w: Window) -> Self {
        Self {
            from: format_timestamp(w.from),
            to: format_timestamp(w.to),
        }
    }
}

/// DORA's four keys over one window (`None`: no data).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DoraKeys {
    pub deployments: u64,
    pub deployment_frequency_per_day: Option<f64>,
    pub lead_time_median_hours: Option<f64>,
    pub change_failure_rate: Option<f64>,
    pub recovery_time_median_hours: Option<f64>,
}

impl From<&Report> for DoraKeys {
    fn from(r: &Report) -> Self {
        Self {
            deployments: r.deployments,
            deployment_frequency_per_day: r.deployment_frequency_per_day,
            lead_time_median_hours: r.lead_time_median_hours,
            change_failure_rate: r.change_failure_rate,
            recovery_time_median_hours: r.recovery_time_median_hours,
        }
    }
}

/// One key before and after: `better` says whether the change is an improvement (more
/// deployments a day; shorter lead and recovery times; fewer failures), None when either side
/// has no data or nothing changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyChange {
    pub key: &'static str,
    pub before: Option<f64>,
    pub after: Option<f64>,
    pub change: Option<f64>,
    pub better: Option<bool>,
}

fn key(name: &'static str, before: Option<f64>, after: Option<f64>, up_is_good: bool) -> KeyChange {
    let change = before.zip(after).map(|(b, a)| a - b);
    KeyChange {
        key: name,
        before,
        after,
        change,
        better: change
            .filter(|c| *c != 0.0)
            .map(|c| (c > 0.0) == up_is_good),
    }
}

fn changes(b: &DoraKeys, a: &DoraKeys) -> Vec<KeyChange> {
    vec![
        key(
            "deployment_frequency_per_day",
            b.deployment_frequency_per_day,
            a.deployment_frequency_per_day,
            true,
        ),
        key(
            "lead_time_median_hours",
            b.lead_time_median_hours,
            a.lead_time_median_hours,
            false,
        ),
        key(
            "change_failure_rate",
            b.change_failure_rate,
            a.change_failure_rate,
            false,
        ),
        key(
            "recovery_time_median_hours",
            b.recovery_time_median_hours,
            a.recovery_time_median_hours,
            false,
        ),
    ]
}

/// A team's survey figures in one round: shown (from the survey's threshold), or not.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum SurveyScore {
    Shown {
        respondents: usize,
        /// The mean of the Likert questions' means (1–5).
        likert_mean: Option<f64>,
        /// The first eNPS question's score (−100 to 100).
        enps: Option<f64>,
    },
    /// Below the threshold — or no answer at all: the two are not told apart.
    NotEnoughAnswers,
    /// No round of the survey opened on that side of the adoption date.
    NoRound,
}

/// A team's figures from its group in a round's results (`None`: the team is not among the
/// groups, which says the same as too few answers).
pub fn survey_score(group: Option<&GroupResult>) -> SurveyScore {
    let Some(GroupResult {
        outcome: Outcome::Shown {
            respondents,
            questions,
        },
        ..
    }) = group
    else {
        return SurveyScore::NotEnoughAnswers;
    };
    let likert: Vec<f64> = questions
        .iter()
        .filter_map(|q| match &q.summary {
            Summary::Likert { mean, .. } => *mean,
            _ => None,
        })
        .collect();
    let enps = questions.iter().find_map(|q| match &q.summary {
        Summary::Enps { score, .. } => Some(*score),
        _ => None,
    });
    SurveyScore::Shown {
        respondents: *respondents,
        likert_mean: (!likert.is_empty())
            .then(|| (likert.iter().sum::<f64>() / likert.len() as f64 * 100.0).round() / 100.0),
        enps: enps.flatten(),
    }
}

/// One side of a survey comparison: the round (the latest that opened on that side) and the
/// team's figures in it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SurveySide {
    pub round: Option<String>,
    pub score: SurveyScore,
}

/// A survey before and after the adoption date.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SurveyComparison {
    pub survey: String,
    pub before: SurveySide,
    pub after: SurveySide,
}

/// Why a comparison must be read with care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaveatKind {
    NotAdopted,
    AdoptedTooRecently,
    ShortWindow,
    SmallSample,
    Seasonality,
    SurveyNotEnoughAnswers,
    SurveyNoRound,
}

/// A caveat, with the sentence printed beside the figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Caveat {
    pub kind: CaveatKind,
    pub message: String,
}

impl Caveat {
    fn new(kind: CaveatKind, message: String) -> Self {
        Self { kind, message }
    }
}

/// A team's impact report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TeamImpact {
    pub team: String,
    pub adopted_at: Option<String>,
    pub adopted_by: Option<AdoptionSource>,
    pub before: Option<Period>,
    pub after: Option<Period>,
    pub dora_before: Option<DoraKeys>,
    pub dora_after: Option<DoraKeys>,
    /// The four keys compared (empty without windows).
    pub keys: Vec<KeyChange>,
    pub surveys: Vec<SurveyComparison>,
    pub caveats: Vec<Caveat>,
}

fn month(ms: i64) -> String {
    format_timestamp(ms).get(..7).unwrap_or_default().to_owned()
}

fn window_caveats(w: &Windows, before: &DoraKeys, after: &DoraKeys) -> Vec<Caveat> {
    let mut out = Vec::new();
    let days = w.days();
    if days < MIN_WINDOW_DAYS as f64 {
        out.push(Caveat::new(
            CaveatKind::ShortWindow,
            format!(
                "each window is {days:.1} days long (adopted recently): under {MIN_WINDOW_DAYS} days, a few deployments or one incident swing the figures"
            ),
        ));
    }
    if before.deployments < MIN_DEPLOYMENTS || after.deployments < MIN_DEPLOYMENTS {
        out.push(Caveat::new(
            CaveatKind::SmallSample,
            format!(
                "small sample: {} production deployments before and {} after (fewer than {MIN_DEPLOYMENTS} on a side is too few to compare)",
                before.deployments, after.deployments
            ),
        ));
    }
    if days < YEAR_DAYS as f64 {
        out.push(Caveat::new(
            CaveatKind::Seasonality,
            format!(
                "seasonality: the windows cover different times of year ({} to {} before, {} to {} after); holidays, quarter ends and staffing change delivery too, and this comparison does not separate them from the platform's effect",
                month(w.before.from),
                month(w.before.to - 1),
                month(w.after.from),
                month(w.after.to - 1)
            ),
        ));
    }
    out
}

/// A team's impact: `adoption` from [`adoption_date`], `windows` from [`impact_windows`],
/// `dora` the scope's reports over those windows (before, after).
pub fn impact(
    team: &str,
    adoption: Option<AdoptionDate>,
    windows: Option<Windows>,
    dora: Option<(&Report, &Report)>,
    surveys: Vec<SurveyComparison>,
) -> TeamImpact {
    let mut caveats = Vec::new();
    match (adoption, windows) {
        (None, _) => caveats.push(Caveat::new(
            CaveatKind::NotAdopted,
            "not adopted yet: no service created from a golden path and no deploy through Socle, so there is no before and after".into(),
        )),
        (Some(_), None) => caveats.push(Caveat::new(
            CaveatKind::AdoptedTooRecently,
            "adopted too recently to compare: less than a day has passed since the adoption date".into(),
        )),
        _ => {}
    }
    let (dora_before, dora_after) = match dora {
        Some((b, a)) => (Some(DoraKeys::from(b)), Some(DoraKeys::from(a))),
        None => (None, None),
    };
    if let (Some(w), Some(b), Some(a)) = (&windows, &dora_before, &dora_after) {
        caveats.extend(window_caveats(w, b, a));
    }
    for s in &surveys {
        let sides = [&s.before.score, &s.after.score];
        if sides.contains(&&SurveyScore::NoRound) {
            caveats.push(Caveat::new(
                CaveatKind::SurveyNoRound,
                format!(
                    "survey {}: no round on both sides of the adoption date, so satisfaction cannot be compared",
                    s.survey
                ),
            ));
        } else if sides.contains(&&SurveyScore::NotEnoughAnswers) {
            caveats.push(Caveat::new(
                CaveatKind::SurveyNotEnoughAnswers,
                format!(
                    "survey {}: not enough answers from the team in a round (below the survey's threshold), so its results stay hidden",
                    s.survey
                ),
            ));
        }
    }
    let keys = match (&dora_before, &dora_after) {
        (Some(b), Some(a)) => changes(b, a),
        _ => Vec::new(),
    };
    TeamImpact {
        team: team.to_owned(),
        adopted_at: adoption.map(|a| format_timestamp(a.at)),
        adopted_by: adoption.map(|a| a.source),
        before: windows.map(|w| w.before.into()),
        after: windows.map(|w| w.after.into()),
        dora_before,
        dora_after,
        keys,
        surveys,
        caveats,
    }
}

/// How many teams improved, worsened or could not be compared on one key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KeyTally {
    pub key: &'static str,
    pub improved: usize,
    pub worsened: usize,
    /// Unchanged, or no data on a side.
    pub not_compared: usize,
}

/// The organisation's one-line view of its teams' impact reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImpactSummary {
    pub teams: usize,
    pub adopted: usize,
    /// Adopted teams with windows to compare.
    pub compared: usize,
    pub keys: Vec<KeyTally>,
}

/// Tallies the teams' key changes.
pub fn summarise(teams: &[TeamImpact]) -> ImpactSummary {
    let names = [
        "deployment_frequency_per_day",
        "lead_time_median_hours",
        "change_failure_rate",
        "recovery_time_median_hours",
    ];
    let compared: Vec<&TeamImpact> = teams.iter().filter(|t| !t.keys.is_empty()).collect();
    ImpactSummary {
        teams: teams.len(),
        adopted: teams.iter().filter(|t| t.adopted_at.is_some()).count(),
        compared: compared.len(),
        keys: names
            .iter()
            .map(|&k| {
                let mut tally = KeyTally {
                    key: k,
                    ..KeyTally::default()
                };
                for t in &compared {
                    match t.keys.iter().find(|c| c.key == k).and_then(|c| c.better) {
                        Some(true) => tally.improved += 1,
                        Some(false) => tally.worsened += 1,
                        None => tally.not_compared += 1,
                    }
                }
                tally
            })
            .collect(),
    }
}
