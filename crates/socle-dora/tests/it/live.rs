//! The live index (`Live::apply`, delta after delta) reports exactly what a full rebuild
//! (`Dataset::from_parts` over the events as the store holds them then) reports: for the
//! organisation and for teams, on generated histories split into a base and deltas, with
//! re-deliveries that change an event (a deployment now failed or moved, a commit's parent or
//! time, an incident resolved later), commits from several sources, walked ranges and causes
//! named, ambiguous or inferred.

use std::collections::BTreeMap;

use proptest::prelude::*;
use socle_dora::{
    Change, Dataset, Deployment, DeploymentRef, Event, EventRef, Ids, Incident, Live, Options,
    Window,
};

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3_600_000;
const SERVICES: [&str; 5] = ["payments", "ledger", "search", "edge", "mail"];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

/// One event of a generated stream: new events mostly, and now and then a new version of one
/// already sent (its key kept, something else changed).
fn event(rng: &mut Rng, sent: &[Event], commits: &mut usize) -> Event {
    if !sent.is_empty() && rng.below(5) == 0 {
        let mut e = sent[rng.below(sent.len())].clone();
        match &mut e {
            Event::Deployment(d) => match rng.below(4) {
                0 => d.status = if d.succeeded() { "failure" } else { "success" }.into(),
                1 => d.finished_at += (rng.below(48) as i64 - 24) * HOUR,
                2 => d.service = rng.pick(&SERVICES).into(),
                _ => d.environment = rng.pick(&["production", "staging"]).into(),
            },
            Event::Change(c) => match rng.below(2) {
                0 => c.committed_at -= rng.below(24) as i64 * HOUR,
                _ => {
                    c.parent = match c.parent {
                        Some(_) => None,
                        None => Some(format!("c{}", rng.below(*commits + 1))),
                    }
                }
            },
            Event::Incident(x) => match rng.below(3) {
                0 => x.resolved_at = Some(x.started_at + (1 + rng.below(40) as i64) * HOUR),
                1 => x.deployment = Some(format!("d{}", rng.below(40))),
                _ => x.started_at += rng.below(10) as i64 * HOUR,
            },
        }
        return e;
    }
    let at = T0 + rng.below(60 * 24) as i64 * HOUR + rng.below(3) as i64 * 1000;
    match rng.below(10) {
        0..=4 => {
            let id = format!("c{commits}");
            let parent = (*commits > 0 && rng.below(4) > 0).then(|| format!("c{}", *commits - 1));
            *commits += 1;
            Event::Change(Change {
                source: rng.pick(&["github", "gitlab", "git"]).into(),
                id,
                service: rng.pick(&SERVICES).into(),
                committed_at: at - rng.below(72) as i64 * HOUR,
                parent,
            })
        }
        5..=7 => {
            let listed = if rng.below(3) == 0 {
                Vec::new()
            } else {
                (0..rng.below(4))
                    .map(|_| format!("c{}", rng.below(*commits + 2)))
                    .collect()
            };
            Event::Deployment(Deployment {
                source: rng.pick(&["argocd", "github", "gitlab"]).into(),
                id: format!("d{}", rng.below(40)),
                service: rng.pick(&SERVICES).into(),
                environment: rng
                    .pick(&["production", "prod", "staging", "Production"])
                    .into(),
                status: rng
                    .pick(&["success", "success", "failure", "SUCCESS"])
                    .into(),
                finished_at: at,
                changes: listed,
                commit: (rng.below(3) > 0).then(|| format!("c{}", rng.below(*commits + 1))),
            })
        }
        _ => Event::Incident(Incident {
            source: rng.pick(&["pagerduty", "opsgenie", "argocd"]).into(),
            id: format!("i{}", rng.below(30)),
            service: rng.pick(&SERVICES).into(),
            started_at: at,
            resolved_at: (rng.below(3) == 0).then(|| at + (1 + rng.below(30) as i64) * HOUR),
            deployment: (rng.below(2) == 0).then(|| format!("d{}", rng.below(40))),
            title: None,
            severity: None,
            url: None,
            labels: Default::default(),
        }),
    }
}

fn kind(e: &Event) -> u8 {
    match e {
        Event::Deployment(_) => 0,
        Event::Change(_) => 1,
        Event::Incident(_) => 2,
    }
}

/// What the store holds after these events: the last version of each key.
type Stored = BTreeMap<(u8, String, String), Event>;

fn rebuild(stored: &Stored) -> Dataset {
    Dataset::build(stored.values().cloned(), &Options::default())
}

/// Every report the API serves: the organisation (with its weekly series), each service, and
/// teams of several services, over windows of several lengths.
fn assert_same_reports(live: &Dataset, full: &Dataset, step: usize) {
    assert_eq!(
        live.incidents_without_cause, full.incidents_without_cause,
        "step {step}"
    );
    let mut known: Vec<&String> = live.services().iter().collect();
    known.sort();
    let mut expected: Vec<&String> = full.services().iter().collect();
    expected.sort();
    assert_eq!(known, expected, "services, step {step}");
    let teams: Vec<Vec<String>> = vec![
        vec!["payments".into(), "ledger".into()],
        vec![
            "search".into(),
            "edge".into(),
            "mail".into(),
            "unknown".into(),
        ],
        vec!["edge".into()],
    ];
    for days in [7, 30, 90] {
        let w = Window::last_days(T0 + 61 * 24 * HOUR, days);
        assert_eq!(
            live.report(None, w, true),
            full.report(None, w, true),
            "organisation, {days} days, step {step}"
        );
        for team in &teams {
            assert_eq!(
                live.report(Some(team), w, false),
                full.report(Some(team), w, false),
                "team {team:?}, {days} days, step {step}"
            );
        }
    }
}

/// `n` generated events, each possibly a re-delivery or a newer version of an earlier one.
fn history(rng: &mut Rng, n: usize) -> Vec<Event> {
    let mut commits = 0;
    let mut sent: Vec<Event> = Vec::new();
    for _ in 0..n {
        let e = event(rng, &sent, &mut commits);
        sent.push(e);
    }
    sent
}

/// Keeps `e` as the store would: the last version of its key.
fn store(stored: &mut Stored, e: &Event) {
    let (s, id) = e.key();
    stored.insert((kind(e), s.to_owned(), id.to_owned()), e.clone());
}

/// A stream of `n` events cut into a base and deltas at `cuts`; after each, the live index
/// equals a rebuild of what is stored.
fn check(seed: u64, n: usize, deltas: usize) {
    let mut rng = Rng(seed | 1);
    let sent = history(&mut rng, n);
    let mut cuts: Vec<usize> = (0..deltas).map(|_| rng.below(n + 1)).collect();
    cuts.push(n);
    cuts.sort_unstable();
    let mut live = Live::new(&Options::default());
    let mut stored = Stored::new();
    let mut from = 0;
    for (step, &to) in cuts.iter().enumerate() {
        let delta = sent[from..to].to_vec();
        for e in &delta {
            store(&mut stored, e);
        }
        live.apply(delta);
        assert_same_reports(&live.dataset(), &rebuild(&stored), step);
        from = to;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn applying_deltas_reports_as_a_full_rebuild(
        seed in any::<u64>(),
        n in 1usize..300,
        deltas in 0usize..12,
    ) {
        check(seed, n, deltas);
    }
}

/// A start-up load from a store's pages: deployments and changes borrowed (each deployment's
/// change ids as the store's newline-joined text), incidents owned, then `finish_load` —
/// reports as a rebuild of the same events.
fn check_borrowed_load(seed: u64, n: usize) {
    let mut rng = Rng(seed | 1);
    let sent = history(&mut rng, n);
    let mut stored = Stored::new();
    for e in &sent {
        store(&mut stored, e);
    }
    let joined: Vec<String> = stored
        .values()
        .map(|e| match e {
            Event::Deployment(d) => d.changes.join("\n"),
            _ => String::new(),
        })
        .collect();
    let rows = stored
        .values()
        .zip(&joined)
        .filter_map(|(e, text)| match e {
            Event::Deployment(d) => Some(EventRef::Deployment(DeploymentRef {
                changes: Ids::Lines(text),
                ..d.borrowed()
            })),
            Event::Change(c) => Some(EventRef::Change(c.borrowed())),
            Event::Incident(_) => None,
        });
    let mut live = Live::new(&Options::default());
    live.load_borrowed(rows);
    live.load(
        stored
            .values()
            .filter(|e| matches!(e, Event::Incident(_)))
            .cloned(),
    );
    live.finish_load();
    assert_same_reports(&live.dataset(), &rebuild(&stored), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn a_borrowed_load_reports_as_a_full_rebuild(seed in any::<u64>(), n in 1usize..300) {
        check_borrowed_load(seed, n);
    }
}

#[test]
fn an_incident_resolved_later_moves_the_recovery_time() {
    let incident = |resolved: Option<i64>| {
        Event::Incident(Incident {
            source: "pagerduty".into(),
            id: "PD-1".into(),
            service: "payments".into(),
            started_at: T0,
            resolved_at: resolved,
            deployment: None,
            title: None,
            severity: None,
            url: None,
            labels: Default::default(),
        })
    };
    let mut live = Live::new(&Options::default());
    live.apply(vec![incident(None)]);
    let w = Window::last_days(T0 + 10 * 24 * HOUR, 30);
    assert_eq!(live.dataset().report(None, w, false).incidents_resolved, 0);
    let applied = live.apply(vec![incident(Some(T0 + 3 * HOUR))]);
    assert_eq!((applied.changed, applied.services), (1, 1));
    let r = live.dataset().report(None, w, false);
    assert_eq!(
        (r.incidents_resolved, r.recovery_time_median_hours),
        (1, Some(3.0))
    );
    assert_eq!(
        live.apply(vec![incident(Some(T0 + 3 * HOUR))]).changed,
        0,
        "the same version again changes nothing"
    );
}

#[test]
fn a_delta_rebuilds_only_the_services_it_touches() {
    let deployment = |id: &str, service: &str, at: i64| {
        Event::Deployment(Deployment {
            source: "argocd".into(),
            id: id.into(),
            service: service.into(),
            environment: "production".into(),
            status: "success".into(),
            finished_at: at,
            changes: vec![],
            commit: None,
        })
    };
    let mut live = Live::new(&Options::default());
    let base: Vec<Event> = SERVICES
        .iter()
        .enumerate()
        .map(|(i, s)| deployment(&format!("d{i}"), s, T0))
        .collect();
    assert_eq!(live.apply(base).services, SERVICES.len());
    let before = live.dataset();
    let applied = live.apply(vec![deployment("d9", "ledger", T0 + HOUR)]);
    assert_eq!((applied.changed, applied.services), (1, 1));
    let w = Window::last_days(T0 + 24 * HOUR, 7);
    assert_eq!(before.report(None, w, false).deployments, 5);
    assert_eq!(live.dataset().report(None, w, false).deployments, 6);
}
