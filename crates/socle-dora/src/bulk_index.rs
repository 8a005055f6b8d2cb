//! [`Bulk`] columns indexed into a [`Dataset`], in three steps that a benchmark can time:
//! [`Bulk::dedupe`] (one version of each event), [`Deduped::link`] (each change's first
//! production deployment) and [`Linked::metrics`] (incident causes, per-service series).
//!
//! The rules are [`crate::metrics`]'s, step for step, over dense ids instead of strings: the
//! result equals [`Dataset::from_parts`] over the same events (`tests/it/bulk.rs`). Strings are
//! compared only where the rules order by them and integers tie (a re-delivered event's
//! versions, deployments finished in the same millisecond).

use std::cmp::Ordering;

use crate::bulk::{Bulk, Chg, Dep};
use crate::events::Incident;
use crate::intern::{Interner, NONE};
use crate::metrics::{Dataset, HOUR, HashMap, Options, Series, dedup};
use crate::walk::Walker;

/// One version of each event; deployments in time order.
pub struct Deduped {
    bulk: Bulk,
    /// Each name's place in string order (names are distinct, so ranks compare as they do).
    rank: Vec<u32>,
    /// Per name: `success` (any case), a production environment.
    success: Vec<bool>,
    production: Vec<bool>,
    /// Successful production deployments, in time order.
    prod: Vec<u32>,
}

/// Every change's first production deployment.
pub struct Linked {
    d: Deduped,
    /// Per commit id: the change that stands for it, or [`NONE`].
    best: Vec<u32>,
    /// Per commit id: its first successful production deployment, or [`NONE`].
    first: Vec<u32>,
}

/// `(source, id)` of a deployment as one integer.
fn key(d: &Dep) -> u64 {
    (u64::from(d.source) << 32) | u64::from(d.id)
}

fn opt(i: &Interner, id: u32) -> Option<&str> {
    (id != NONE).then(|| i.get(id))
}

impl Bulk {
    /// Indexes the columns: [`Self::dedupe`], [`Deduped::link`], [`Linked::metrics`].
    pub fn dataset(self, opts: &Options) -> Dataset {
        self.dedupe(opts).link().metrics()
    }

    /// Keeps the greatest version of each `(source, id)` (as `Dataset::from_parts` does) and
    /// sorts deployments by finish time, source and id.
    pub fn dedupe(mut self, opts: &Options) -> Deduped {
        let names = &self.names;
        let mut order: Vec<u32> = (0..names.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| names.get(a).cmp(names.get(b)));
        let mut rank = vec![0u32; names.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        let success: Vec<bool> = (0..names.len() as u32)
            .map(|n| names.get(n).eq_ignore_ascii_case("success"))
            .collect();
        let production: Vec<bool> = (0..names.len() as u32)
            .map(|n| opts.is_production(names.get(n)))
            .collect();
        let deployments = std::mem::take(&mut self.deployments);
        let mut deployments = dedup_deployments(&self, &rank, deployments);
        let ids = &self.deploy_ids;
        deployments.sort_unstable_by(|a, b| {
            (a.finished_at, rank[a.source as usize])
                .cmp(&(b.finished_at, rank[b.source as usize]))
                .then_with(|| ids.get(a.id).cmp(ids.get(b.id)))
        });
        self.deployments = deployments;
        let incidents = std::mem::take(&mut self.incidents);
        let mut incidents = dedup(incidents, |i| (i.source.as_str(), i.id.as_str()));
        incidents.sort_by(|a, b| (&a.source, &a.id).cmp(&(&b.source, &b.id)));
        self.incidents = incidents;
        let prod = (0..self.deployments.len() as u32)
            .filter(|&i| {
                let d = &self.deployments[i as usize];
                success[d.status as usize] && production[d.environment as usize]
            })
            .collect();
        Deduped {
            bulk: self,
            rank,
            success,
            production,
            prod,
        }
    }
}

/// The greatest version of each deployment, by `Deployment`'s order: finish time, status,
/// service, environment, listed changes, commit (source and id are the key).
fn dedup_deployments(b: &Bulk, rank: &[u32], deployments: Vec<Dep>) -> Vec<Dep> {
    let mut by_key: Vec<u32> = (0..deployments.len() as u32).collect();
    by_key.sort_unstable_by_key(|&i| key(&deployments[i as usize]));
    let repeats = by_key
        .windows(2)
        .any(|w| key(&deployments[w[0] as usize]) == key(&deployments[w[1] as usize]));
    if !repeats {
        return deployments;
    }
    let listed = |d: &Dep| {
        b.listed[d.first as usize..(d.first + d.count) as usize]
            .iter()
            .map(|&c| b.commits.get(c))
    };
    let cmp = |x: &Dep, y: &Dep| -> Ordering {
        let r = |n: u32| rank[n as usize];
        (x.finished_at, r(x.status), r(x.service), r(x.environment))
            .cmp(&(y.finished_at, r(y.status), r(y.service), r(y.environment)))
            .then_with(|| listed(x).cmp(listed(y)))
            .then_with(|| opt(&b.commits, x.commit).cmp(&opt(&b.commits, y.commit)))
    };
    let mut out = Vec::with_capacity(deployments.len());
    let mut i = 0;
    while i < by_key.len() {
        let mut best = deployments[by_key[i] as usize];
        let mut j = i + 1;
        while j < by_key.len() && key(&deployments[by_key[j] as usize]) == key(&best) {
            let other = deployments[by_key[j] as usize];
            if cmp(&other, &best) == Ordering::Greater {
                best = other;
            }
            j += 1;
        }
        out.push(best);
        i = j;
    }
    out
}

impl Deduped {
    fn is_prod_success(&self, d: &Dep) -> bool {
        self.success[d.status as usize] && self.production[d.environment as usize]
    }

    /// Each commit's standing change (the version that knows its parent, then the earliest,
    /// then the first source by name, then service and parent), and each one's first successful
    /// production deployment: the listed changes, or the commits walked back from the deployed
    /// one to the previous deployment's of the same service and environment.
    pub fn link(self) -> Linked {
        let b = &self.bulk;
        let n = b.commits.len();
        let mut best = vec![NONE; n];
        let r = |id: u32| self.rank[id as usize];
        let rank_of = |c: &Chg| (c.parent == NONE, c.committed_at, r(c.source), r(c.service));
        for (k, c) in b.changes.iter().enumerate() {
            let slot = &mut best[c.id as usize];
            let better = *slot == NONE || {
                let cur = &b.changes[*slot as usize];
                rank_of(c)
                    .cmp(&rank_of(cur))
                    .then_with(|| opt(&b.commits, c.parent).cmp(&opt(&b.commits, cur.parent)))
                    == Ordering::Less
            };
            if better {
                *slot = k as u32;
            }
        }
        let mut first = vec![NONE; n];
        let mut walker = Walker::default();
        let mut previous: HashMap<(u32, u32), u32> = HashMap::default();
        for &i in &self.prod {
            let d = &b.deployments[i as usize];
            let mut mark = |c: u32| {
                if best[c as usize] != NONE && first[c as usize] == NONE {
                    first[c as usize] = i;
                }
            };
            let place = (d.service, d.environment);
            if d.count > 0 {
                for &c in &b.listed[d.first as usize..(d.first + d.count) as usize] {
                    mark(c);
                }
            } else if d.commit != NONE {
                let prev = previous.get(&place).copied();
                let parent = |id: u32| {
                    let k = best[id as usize];
                    (k != NONE)
                        .then(|| b.changes[k as usize].parent)
                        .filter(|&p| p != NONE)
                };
                let known = |id: u32| best[id as usize] != NONE;
                for c in walker.range(best.len(), d.commit, prev, parent, known) {
                    mark(c);
                }
            }
            if d.commit != NONE {
                previous.insert(place, d.commit);
            }
        }
        Linked {
            d: self,
            best,
            first,
        }
    }
}

/// Series by service, in the order `Dataset::from_parts` meets the services.
#[derive(Default)]
struct Services {
    names: Vec<String>,
    by_name: HashMap<String, usize>,
    /// Per interned name: its series, or [`NONE`].
    by_id: Vec<u32>,
    series: Vec<Series>,
}

impl Services {
    fn named(&mut self, name: &str) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        let i = self.names.len();
        self.names.push(name.to_owned());
        self.by_name.insert(name.to_owned(), i);
        self.series.push(Series::default());
        i
    }

    fn id(&mut self, names: &Interner, id: u32) -> usize {
        if self.by_id.is_empty() {
            self.by_id = vec![NONE; names.len()];
        }
        match self.by_id[id as usize] {
            NONE => {
                let i = self.named(names.get(id));
                self.by_id[id as usize] = i as u32;
                i
            }
            i => i as usize,
        }
    }
}

impl Linked {
    /// Lead times, incident causes and recoveries, into per-service series.
    pub fn metrics(self) -> Dataset {
        let Linked { d, best, first } = self;
        let b = &d.bulk;
        let mut s = Services::default();
        for &i in &d.prod {
            let dep = &b.deployments[i as usize];
            let k = s.id(&b.names, dep.service);
            s.series[k].deploys.push(dep.finished_at);
        }
        for (c, &f) in first.iter().enumerate() {
            if f == NONE {
                continue;
            }
            let dep = &b.deployments[f as usize];
            let lead = dep.finished_at - b.changes[best[c] as usize].committed_at;
            if lead > 0 {
                let k = s.id(&b.names, dep.service);
                s.series[k].lead.push((dep.finished_at, lead as f64 / HOUR));
            }
        }
        drop((best, first));
        let without_cause = incidents(&d, &mut s);
        Dataset::from_series(s.names, s.series, without_cause)
    }
}

/// Each incident's cause (counted as a failed deployment of its own service) and recovery;
/// returns how many incidents have no cause.
fn incidents(d: &Deduped, s: &mut Services) -> usize {
    let b = &d.bulk;
    let deps = &b.deployments;
    // Deployments by id, each list in time order (CSR over the dense ids).
    let mut start = vec![0u32; b.deploy_ids.len() + 1];
    for dep in deps {
        start[dep.id as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut pos = start.clone();
    let mut by_id = vec![0u32; deps.len()];
    for (i, dep) in deps.iter().enumerate() {
        by_id[pos[dep.id as usize] as usize] = i as u32;
        pos[dep.id as usize] += 1;
    }
    drop(pos);
    let mut prod_by_service: HashMap<u32, Vec<u32>> = HashMap::default();
    for &i in &d.prod {
        prod_by_service
            .entry(deps[i as usize].service)
            .or_default()
            .push(i);
    }
    let mut caused = vec![false; deps.len()];
    let mut without_cause = 0;
    for inc in &b.incidents {
        let cause = match inc.deployment.as_deref() {
            Some(id) => b
                .deploy_ids
                .find(id)
                .map(|id| &by_id[start[id as usize] as usize..start[id as usize + 1] as usize])
                .and_then(|candidates| named(b, candidates, inc))
                .filter(|&i| d.is_prod_success(&deps[i as usize])),
            None => b
                .names
                .find(&inc.service)
                .and_then(|svc| prod_by_service.get(&svc))
                .and_then(|v| {
                    let n = v.partition_point(|&i| deps[i as usize].finished_at < inc.started_at);
                    n.checked_sub(1).map(|k| v[k])
                }),
        };
        match cause {
            Some(i) => caused[i as usize] = true,
            None => without_cause += 1,
        }
        if let Some(r) = inc.resolved_at {
            let k = s.named(&inc.service);
            s.series[k]
                .recovery
                .push((r, (r - inc.started_at) as f64 / HOUR));
        }
    }
    for (i, _) in caused.iter().enumerate().filter(|(_, c)| **c) {
        let k = s.id(&b.names, deps[i].service);
        s.series[k].failed.push(deps[i].finished_at);
    }
    without_cause
}

/// As `metrics::named_deployment`: of the deployments with the incident's named id, the one of
/// its source; else the only one; else the only one of its service; else none.
fn named(b: &Bulk, candidates: &[u32], inc: &Incident) -> Option<u32> {
    let deps = &b.deployments;
    let is = |name: u32, s: &str| b.names.get(name) == s;
    if let Some(&i) = candidates
        .iter()
        .find(|&&i| is(deps[i as usize].source, &inc.source))
    {
        return Some(i);
    }
    if let [only] = candidates {
        return Some(*only);
    }
    let mut same = candidates
        .iter()
        .filter(|&&i| is(deps[i as usize].service, &inc.service));
    match (same.next(), same.next()) {
        (Some(&i), None) => Some(i),
        _ => None,
    }
}
