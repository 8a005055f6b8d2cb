//! Results of one round: per question, for the organisation and per team, each group shown
//! only from the threshold of respondents on.
//!
//! **Complementary suppression**: a team below the threshold is hidden, but the organisation's
//! figures minus the shown teams' would reveal it. So when the hidden teams together have
//! between 1 and threshold − 1 respondents, the smallest shown teams are hidden too until the
//! hidden ones reach the threshold (or every team is hidden).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::answers::{Answer, Answers};
use crate::model::{QuestionKind, Survey};

/// The organisation's group name in results.
pub const ORGANISATION: &str = "organisation";

/// One group's results: shown, or "not enough answers".
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupResult {
    /// [`ORGANISATION`] or a team (`group:default/team-a`).
    pub group: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Outcome {
    Shown {
        respondents: usize,
        questions: Vec<QuestionResult>,
    },
    /// Fewer respondents than the threshold (or hidden to protect a smaller group). The count
    /// is not shown either.
    NotEnoughAnswers,
}

/// One question's results in one group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuestionResult {
    pub id: String,
    /// How many answered it.
    pub answers: usize,
    #[serde(flatten)]
    pub summary: Summary,
    /// The headline figure of the previous round for the same group (mean or eNPS), when that
    /// round's group was shown; and the change since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Summary {
    /// Likert: mean with a 95 % confidence interval (Student's t), counts of 1..=5.
    Likert {
        mean: Option<f64>,
        ci: Option<[f64; 2]>,
        distribution: Vec<u64>,
    },
    /// eNPS: % promoters (9–10) − % detractors (0–6), −100 to 100, with a 95 % interval;
    /// counts of 0..=10.
    Enps {
        score: Option<f64>,
        ci: Option<[f64; 2]>,
        promoters: u64,
        passives: u64,
        detractors: u64,
        distribution: Vec<u64>,
    },
    /// Counts per option, in the survey's order.
    Choices { counts: Vec<OptionCount> },
    /// The texts, sorted (their order tells nothing about who or when).
    Text { texts: Vec<String> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OptionCount {
    pub option: String,
    pub count: u64,
}

impl QuestionResult {
    /// The figure compared between rounds: a Likert mean or an eNPS score.
    pub fn headline(&self) -> Option<f64> {
        match &self.summary {
            Summary::Likert { mean, .. } => *mean,
            Summary::Enps { score, .. } => *score,
            _ => None,
        }
    }
}

/// Student's t quantile at 97.5 % for `df` degrees of freedom (1..=30; 1.96 beyond).
fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    T.get(df.wrapping_sub(1)).copied().unwrap_or(1.96)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Mean and 95 % interval of values on the scale `lo..=hi` (None without values; no interval
/// for one value; the interval kept within the scale).
pub fn mean_ci(values: &[u8], (lo, hi): (u8, u8)) -> (Option<f64>, Option<[f64; 2]>) {
    let n = values.len();
    if n == 0 {
        return (None, None);
    }
    let mean = values.iter().map(|v| f64::from(*v)).sum::<f64>() / n as f64;
    if n < 2 {
        return (Some(round2(mean)), None);
    }
    let var = values
        .iter()
        .map(|v| (f64::from(*v) - mean).powi(2))
        .sum::<f64>()
        / (n - 1) as f64;
    let half = t975(n - 1) * (var / n as f64).sqrt();
    (
        Some(round2(mean)),
        Some([
            round2((mean - half).max(f64::from(lo))),
            round2((mean + half).min(f64::from(hi))),
        ]),
    )
}

/// eNPS and its 95 % interval (normal approximation of the promoter − detractor difference).
pub fn enps(values: &[u8]) -> (Option<f64>, Option<[f64; 2]>) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (None, None);
    }
    let p = values.iter().filter(|v| **v >= 9).count() as f64 / n;
    let d = values.iter().filter(|v| **v <= 6).count() as f64 / n;
    let score = 100.0 * (p - d);
    let var = (p + d) - (p - d).powi(2);
    let half = 196.0 * (var / n).sqrt();
    let ci = (values.len() > 1).then(|| {
        [
            round2((score - half).max(-100.0)),
            round2((score + half).min(100.0)),
        ]
    });
    (Some(round2(score)), ci)
}

fn summarise(kind: &QuestionKind, id: &str, responses: &[&Answers]) -> QuestionResult {
    let answers: Vec<&Answer> = responses.iter().filter_map(|r| r.get(id)).collect();
    let scale: Vec<u8> = answers
        .iter()
        .filter_map(|a| match a {
            Answer::Scale(v) => Some(*v),
            _ => None,
        })
        .collect();
    let counts = |lo: u8, hi: u8| -> Vec<u64> {
        (lo..=hi)
            .map(|v| scale.iter().filter(|x| **x == v).count() as u64)
            .collect()
    };
    let summary = match kind {
        QuestionKind::Likert => {
            let (mean, ci) = mean_ci(&scale, (1, 5));
            Summary::Likert {
                mean,
                ci,
                distribution: counts(1, 5),
            }
        }
        QuestionKind::Enps => {
            let (score, ci) = enps(&scale);
            let count = |f: fn(u8) -> bool| scale.iter().filter(|v| f(**v)).count() as u64;
            Summary::Enps {
                score,
                ci,
                promoters: count(|v| v >= 9),
                passives: count(|v| (7..=8).contains(&v)),
                detractors: count(|v| v <= 6),
                distribution: counts(0, 10),
            }
        }
        QuestionKind::Single(options) | QuestionKind::Multiple(options) => Summary::Choices {
            counts: options
                .iter()
                .map(|o| OptionCount {
                    option: o.clone(),
                    count: answers
                        .iter()
                        .filter(|a| match a {
                            Answer::Text(t) => t == o,
                            Answer::Choices(c) => c.contains(o),
                            Answer::Scale(_) => false,
                        })
                        .count() as u64,
                })
                .collect(),
        },
        QuestionKind::Text => {
            let mut texts: Vec<String> = answers
                .iter()
                .filter_map(|a| match a {
                    Answer::Text(t) => Some(t.clone()),
                    _ => None,
                })
                .collect();
            texts.sort();
            Summary::Text { texts }
        }
    };
    QuestionResult {
        id: id.to_owned(),
        answers: answers.len(),
        summary,
        previous: None,
        change: None,
    }
}

fn group(survey: &Survey, name: &str, responses: &[&Answers]) -> GroupResult {
    GroupResult {
        group: name.to_owned(),
        outcome: Outcome::Shown {
            respondents: responses.len(),
            questions: survey
                .questions
                .iter()
                .map(|q| summarise(&q.kind, &q.id, responses))
                .collect(),
        },
    }
}

/// One round's results: the organisation first, then every team that answered (by name).
/// `responses` are `(team, answers)`; `threshold` is at least [`crate::MIN_THRESHOLD`].
pub fn results(
    survey: &Survey,
    responses: &[(String, Answers)],
    threshold: u32,
) -> Vec<GroupResult> {
    let k = threshold.max(crate::MIN_THRESHOLD) as usize;
    let all: Vec<&Answers> = responses.iter().map(|(_, a)| a).collect();
    let mut by_team: BTreeMap<&str, Vec<&Answers>> = BTreeMap::new();
    for (team, a) in responses {
        by_team.entry(team.as_str()).or_default().push(a);
    }
    // Teams below the threshold are hidden; then the smallest shown ones until the hidden
    // respondents are none or at least the threshold.
    let mut shown: Vec<(&str, usize)> = by_team
        .iter()
        .filter(|(_, v)| v.len() >= k)
        .map(|(t, v)| (*t, v.len()))
        .collect();
    shown.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)));
    let mut hidden: usize = all.len() - shown.iter().map(|s| s.1).sum::<usize>();
    while (1..k).contains(&hidden) && !shown.is_empty() {
        hidden += shown.remove(0).1;
    }
    let mut out = vec![if all.len() >= k {
        group(survey, ORGANISATION, &all)
    } else {
        hidden_group(ORGANISATION)
    }];
    for (team, answers) in &by_team {
        out.push(if shown.iter().any(|s| s.0 == *team) {
            group(survey, team, answers)
        } else {
            hidden_group(team)
        });
    }
    out
}

fn hidden_group(name: &str) -> GroupResult {
    GroupResult {
        group: name.to_owned(),
        outcome: Outcome::NotEnoughAnswers,
    }
}

/// Fills each shown question's `previous` and `change` from the previous round's results of
/// the same group (when it was shown there).
pub fn compare(current: &mut [GroupResult], previous: &[GroupResult]) {
    for g in current {
        let Outcome::Shown { questions, .. } = &mut g.outcome else {
            continue;
        };
        let Some(Outcome::Shown {
            questions: before, ..
        }) = previous
            .iter()
            .find(|p| p.group == g.group)
            .map(|p| &p.outcome)
        else {
            continue;
        };
        for q in questions {
            let prev = before
                .iter()
                .find(|b| b.id == q.id)
                .and_then(QuestionResult::headline);
            q.previous = prev;
            q.change = match (q.headline(), prev) {
                (Some(now), Some(then)) => Some(round2(now - then)),
                _ => None,
            };
        }
    }
}
