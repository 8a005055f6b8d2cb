//! The four keys over an indexed set of events.
//!
//! [`Dataset::build`] resolves everything that does not depend on the question asked — which
//! deployment shipped which change first, which deployment caused which incident — into sorted
//! per-service series. A [`Report`] for a scope (a set of services) over a half-open window
//! `[from, to)` is then binary searches and order statistics over those series.
//!
//! Definitions (only production environments count; see [`Options`]):
//! - **deployment frequency**: successful deployments finished in the window ÷ the window's
//!   days; the Four Keys bucket is `daily` when the median number of days with a deployment per
//!   7-day week of the window is ≥ 3, `weekly` when the median week has one, `monthly` when the
//!   median 30-day month has one, else `yearly` (weeks and months counted from `from`, the last
//!   one possibly partial);
//! - **lead time for changes**: for every change, its first successful deployment (the
//!   earliest that contains it) minus its commit time; median and p90 over the changes whose
//!   first deployment falls in the window; non-positive values are ignored. A deployment's
//!   changes are the ones it lists, or else the commits reachable from its `commit` through
//!   the changes' `parent` links and not from the previous successful deployment's commit to
//!   the same service and environment (whichever tool reported that one);
//! - **change failure rate**: distinct deployments finished in the window that caused an
//!   incident ÷ successful deployments in the window. An incident's cause is the deployment it
//!   names if that is a successful production deployment (otherwise it has none — no
//!   fallback); an incident naming none is attributed to the latest successful production
//!   deployment of its service that finished strictly before it started. A deployment counts
//!   for its own service, whichever service reported the incident;
//! - **failed deployment recovery time**: median of (resolved − started) over the incidents
//!   resolved in the window.
//!
//! Events from several tools link up: commits come from GitHub or Git, deployments from Argo CD,
//! Flux, GitLab CI or Socle, incidents from PagerDuty. So
//! - a commit id (a SHA) names one commit whichever source reported it: the changes a
//!   deployment lists, and the commits its range walks, are found by id alone; a commit
//!   reported by several sources counts once (the version that knows its parent, then the
//!   earliest commit time, then the first source by name stands for it);
//! - the deployment an incident names is the one with that id in the incident's own source;
//!   else the only one with that id in any source; else, when several sources share the id,
//!   the only one of them of the incident's service; else none (ambiguous).
//!
//! Percentiles interpolate linearly between the closest ranks, as SQL's `PERCENTILE_CONT`.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// A fast, non-cryptographic hasher (the Fx hash of rustc) for the index's large maps of short
/// ids: several times faster than SipHash there. Events come from authenticated members only,
/// so deliberate collisions are not a concern for this in-memory build.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Fx {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut v = [0u8; 8];
            v[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(v));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits (the table's bucket index) poorly mixed for keys
        // that differ in their last bytes ("c1234567" / "c1234568"): finish with murmur3's fmix64.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// The Fx hash as a `BuildHasher`.
pub(crate) type FxBuild = BuildHasherDefault<Fx>;
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

use crate::events::{Change, Deployment, Event, Incident, Millis, format_timestamp};

pub(crate) const DAY: Millis = 86_400_000;
pub(crate) const WEEK: Millis = 7 * DAY;
pub(crate) const HOUR: f64 = 3_600_000.0;
/// Longest walk through `parent` links when a deployment's changes are derived from its commit.
pub(crate) const MAX_WALK: usize = 100_000;

/// What counts as production.
#[derive(Debug, Clone)]
pub struct Options {
    /// Environment names (compared case-insensitively).
    pub production: HashSet<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            production: ["production", "prod"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

impl Options {
    pub fn with_environments<I: IntoIterator<Item = S>, S: AsRef<str>>(envs: I) -> Self {
        Self {
            production: envs
                .into_iter()
                .map(|e| e.as_ref().to_ascii_lowercase())
                .collect(),
        }
    }
    pub(crate) fn is_production(&self, env: &str) -> bool {
        self.production.contains(&env.to_ascii_lowercase())
    }
}

/// A half-open interval `[from, to)` in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Millis,
    pub to: Millis,
}

impl Window {
    /// The `days` days before `now`.
    pub fn last_days(now: Millis, days: i64) -> Self {
        Self {
            from: now - days * DAY,
            to: now,
        }
    }
    pub(crate) fn days(&self) -> f64 {
        (self.to - self.from) as f64 / DAY as f64
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Series {
    /// Successful production deployments' finish times, sorted.
    pub(crate) deploys: Vec<Millis>,
    /// Finish times of those that caused at least one incident, sorted.
    pub(crate) failed: Vec<Millis>,
    /// (first deployment's finish time, lead time in hours), sorted by time.
    pub(crate) lead: Vec<(Millis, f64)>,
    /// (resolution time, recovery in hours), sorted by time.
    pub(crate) recovery: Vec<(Millis, f64)>,
}

impl Series {
    /// Every series in time order (pairs: then by value).
    pub(crate) fn sort(&mut self) {
        self.deploys.sort_unstable();
        self.failed.sort_unstable();
        self.lead
            .sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        self.recovery
            .sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.deploys.is_empty()
            && self.failed.is_empty()
            && self.lead.is_empty()
            && self.recovery.is_empty()
    }
}

/// Events resolved into per-service series, ready for any number of reports.
/// Two datasets are equal when they hold the same series for the same services, in the same
/// order (what the bulk reading's equality tests check).
/// Series are shared (`Arc`): the live index ([`crate::live`]) publishes a new dataset after
/// each delta that reuses the series of every service the delta did not touch.
#[derive(Debug, Default, PartialEq)]
pub struct Dataset {
    services: Vec<String>,
    index: HashMap<String, usize>,
    series: Vec<Arc<Series>>,
    /// Incidents whose named cause is not a successful production deployment.
    pub incidents_without_cause: usize,
}

/// A dataset being built: its series not yet shared.
#[derive(Default)]
struct Draft {
    services: Vec<String>,
    index: HashMap<String, usize>,
    series: Vec<Series>,
    incidents_without_cause: usize,
}

/// Same key twice: keep the greatest version, so that the result does not depend on the
/// order events arrived in. Keys are borrowed; nothing is copied when there are no repeats
/// (the store's case).
pub(crate) fn dedup<T: Ord>(items: Vec<T>, key: impl Fn(&T) -> (&str, &str)) -> Vec<T> {
    let mut best: HashMap<(&str, &str), usize> =
        HashMap::with_capacity_and_hasher(items.len(), Default::default());
    let mut repeats = false;
    for (i, it) in items.iter().enumerate() {
        match best.entry(key(it)) {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                repeats = true;
                if *it > items[*o.get()] {
                    o.insert(i);
                }
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
            }
        }
    }
    if !repeats {
        return items;
    }
    let mut keep = vec![false; items.len()];
    for &i in best.values() {
        keep[i] = true;
    }
    drop(best);
    items
        .into_iter()
        .zip(keep)
        .filter_map(|(it, k)| k.then_some(it))
        .collect()
}

impl PartialOrd for Deployment {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Deployment {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (
            &self.source,
            &self.id,
            self.finished_at,
            &self.status,
            &self.service,
            &self.environment,
            &self.changes,
            &self.commit,
        )
            .cmp(&(
                &o.source,
                &o.id,
                o.finished_at,
                &o.status,
                &o.service,
                &o.environment,
                &o.changes,
                &o.commit,
            ))
    }
}
impl PartialOrd for Change {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Change {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (
            &self.source,
            &self.id,
            self.committed_at,
            &self.service,
            &self.parent,
        )
            .cmp(&(&o.source, &o.id, o.committed_at, &o.service, &o.parent))
    }
}
impl PartialOrd for Incident {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Incident {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // A resolved version beats an open one.
        (
            self.resolved_at.is_some(),
            &self.source,
            &self.id,
            self.started_at,
            self.resolved_at,
            &self.service,
            &self.deployment,
            (&self.title, &self.severity, &self.url, &self.labels),
        )
            .cmp(&(
                o.resolved_at.is_some(),
                &o.source,
                &o.id,
                o.started_at,
                o.resolved_at,
                &o.service,
                &o.deployment,
                (&o.title, &o.severity, &o.url, &o.labels),
            ))
    }
}

impl Dataset {
    /// Services with their series (each sorted, none empty).
    pub(crate) fn from_shared(
        services: Vec<String>,
        series: Vec<Arc<Series>>,
        incidents_without_cause: usize,
    ) -> Self {
        let index = services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        Dataset {
            services,
            index,
            series,
            incidents_without_cause,
        }
    }

    pub fn build(events: impl IntoIterator<Item = Event>, opts: &Options) -> Self {
        let mut deployments = Vec::new();
        let mut changes = Vec::new();
        let mut incidents = Vec::new();
        for e in events {
            match e {
                Event::Deployment(d) => deployments.push(d),
                Event::Change(c) => changes.push(c),
                Event::Incident(i) => incidents.push(i),
            }
        }
        Self::from_parts(deployments, changes, incidents, opts)
    }

    pub fn from_parts(
        deployments: Vec<Deployment>,
        changes: Vec<Change>,
        incidents: Vec<Incident>,
        opts: &Options,
    ) -> Self {
        let mut deployments = dedup(deployments, |d| (d.source.as_str(), d.id.as_str()));
        // Changes are the bulk (5 per deployment and more): their repeats (one commit id from
        // several sources, or re-sent) are resolved in the pass that indexes them
        // (`change_index`) instead of a separate one.
        let mut incidents = dedup(incidents, |i| (i.source.as_str(), i.id.as_str()));
        // A stable order for everything below (dedup went through a hash map).
        deployments.sort_by(|a, b| {
            (a.finished_at, &a.source, &a.id).cmp(&(b.finished_at, &b.source, &b.id))
        });
        incidents.sort_by(|a, b| (&a.source, &a.id).cmp(&(&b.source, &b.id)));

        let mut ds = Draft::default();
        let prod: Vec<usize> = deployments
            .iter()
            .enumerate()
            .filter(|(_, d)| d.succeeded() && opts.is_production(&d.environment))
            .map(|(i, _)| i)
            .collect();
        for &i in &prod {
            let s = ds.service(&deployments[i].service);
            ds.series[s].deploys.push(deployments[i].finished_at);
        }
        let by_id = change_index(&changes);
        let first = first_deployments(&deployments, &prod, &changes, &by_id);
        drop(by_id);
        ds.add_lead_times(&deployments, &changes, &first);
        ds.add_incidents(&deployments, &prod, &incidents, opts);
        ds.sort_series();
        // Millions of small strings to free: let another thread do it while the caller goes on.
        if changes.len() > 100_000 {
            std::thread::spawn(move || drop((deployments, changes, incidents)));
        }
        ds.finish()
    }

    /// A dataset of series built elsewhere ([`crate::bulk_index`]), sorted here.
    pub(crate) fn from_series(
        services: Vec<String>,
        series: Vec<Series>,
        incidents_without_cause: usize,
    ) -> Self {
        let index = services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        let mut ds = Draft {
            services,
            index,
            series,
            incidents_without_cause,
        };
        ds.sort_series();
        ds.finish()
    }
}

impl Draft {
    fn finish(self) -> Dataset {
        Dataset {
            services: self.services,
            index: self.index,
            series: self.series.into_iter().map(Arc::new).collect(),
            incidents_without_cause: self.incidents_without_cause,
        }
    }

    /// Lead time of every commit deployed to production: from its commit time to its first
    /// successful production deployment (`first`, set for one version of each commit only).
    fn add_lead_times(&mut self, deployments: &[Deployment], changes: &[Change], first: &[u32]) {
        for (c, &i) in changes.iter().zip(first) {
            if i == NOT_DEPLOYED {
                continue;
            }
            let d = &deployments[i as usize];
            let lead = d.finished_at - c.committed_at;
            if lead > 0 {
                let s = self.service(&d.service);
                self.series[s]
                    .lead
                    .push((d.finished_at, lead as f64 / HOUR));
            }
        }
    }

    /// Incidents: the production deployment that caused each (counted as failed; an incident
    /// without one is counted apart), and the recovery time of each resolved one.
    fn add_incidents(
        &mut self,
        deployments: &[Deployment],
        prod: &[usize],
        incidents: &[Incident],
        opts: &Options,
    ) {
        // Deployments by id: the index of each, in time order; sources rarely share an id.
        let mut by_id: HashMap<&str, Vec<usize>> =
            HashMap::with_capacity_and_hasher(deployments.len(), Default::default());
        for (i, d) in deployments.iter().enumerate() {
            by_id.entry(d.id.as_str()).or_default().push(i);
        }
        let is_prod_success = |i: usize| {
            deployments[i].succeeded() && opts.is_production(&deployments[i].environment)
        };
        let mut prod_by_service: HashMap<&str, Vec<usize>> = HashMap::default();
        for &i in prod {
            prod_by_service
                .entry(deployments[i].service.as_str())
                .or_default()
                .push(i);
        }
        let mut caused: std::collections::BTreeSet<usize> = Default::default();
        for inc in incidents {
            let cause = match inc.deployment.as_deref() {
                Some(id) => by_id
                    .get(id)
                    .and_then(|candidates| named_deployment(deployments, candidates, inc))
                    .filter(|&i| is_prod_success(i)),
                None => prod_by_service.get(inc.service.as_str()).and_then(|v| {
                    let n = v.partition_point(|&i| deployments[i].finished_at < inc.started_at);
                    n.checked_sub(1).map(|k| v[k])
                }),
            };
            match cause {
                Some(i) => {
                    caused.insert(i);
                }
                None => self.incidents_without_cause += 1,
            }
            if let Some(r) = inc.resolved_at {
                let s = self.service(&inc.service);
                self.series[s]
                    .recovery
                    .push((r, (r - inc.started_at) as f64 / HOUR));
            }
        }
        for i in caused {
            let s = self.service(&deployments[i].service);
            self.series[s].failed.push(deployments[i].finished_at);
        }
    }

    /// Every series in time order.
    fn sort_series(&mut self) {
        for s in &mut self.series {
            s.sort();
        }
    }

    fn service(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.services.len();
        self.services.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        self.series.push(Series::default());
        i
    }
}

impl Dataset {
    /// Whether a service appears in the events.
    pub fn knows(&self, service: &str) -> bool {
        self.index.contains_key(service)
    }

    /// Every service that appears in the events.
    pub fn services(&self) -> &[String] {
        &self.services
    }

    /// The report of a scope: `None` is every service (the organisation).
    pub fn report(&self, services: Option<&[String]>, window: Window, weekly: bool) -> Report {
        let scope: Vec<&Series> = match services {
            None => self.series.iter().map(|s| &**s).collect(),
            Some(names) => {
                let mut idx: Vec<usize> = names
                    .iter()
                    .filter_map(|n| self.index.get(n).copied())
                    .collect();
                idx.sort_unstable();
                idx.dedup();
                idx.into_iter().map(|i| &*self.series[i]).collect()
            }
        };
        let mut report = compute(&scope, window);
        report.services = services.map_or(self.services.len(), <[String]>::len);
        if weekly {
            let mut from = window.from;
            while from < window.to {
                let to = (from + WEEK).min(window.to);
                let w = compute(&scope, Window { from, to });
                report.weekly.push(WeekPoint {
                    from: format_timestamp(from),
                    to: format_timestamp(to),
                    deployments: w.deployments,
                    deployment_frequency_per_day: w.deployment_frequency_per_day,
                    lead_time_median_hours: w.lead_time_median_hours,
                    change_failure_rate: w.change_failure_rate,
                    recovery_time_median_hours: w.recovery_time_median_hours,
                });
                from = to;
            }
        }
        report
    }
}

/// The deployment an incident names, among those with that id (`candidates`, never empty):
/// the one of the incident's own source; else the only one; else the only one of the
/// incident's service; else none (ambiguous).
fn named_deployment(
    deployments: &[Deployment],
    candidates: &[usize],
    inc: &Incident,
) -> Option<usize> {
    if let Some(&i) = candidates
        .iter()
        .find(|&&i| deployments[i].source == inc.source)
    {
        return Some(i);
    }
    if let [only] = candidates {
        return Some(*only);
    }
    let mut same_service = candidates
        .iter()
        .filter(|&&i| deployments[i].service == inc.service);
    match (same_service.next(), same_service.next()) {
        (Some(&i), None) => Some(i),
        _ => None,
    }
}

/// In [`first_deployments`]: a change no successful production deployment shipped.
const NOT_DEPLOYED: u32 = u32::MAX;

/// Changes by commit id → the index of the one that stands for the commit: a SHA names one
/// commit whichever source reported it (a Socle or Argo CD deployment of a commit pushed
/// through GitHub's webhook and read again by `socle dora git`). Of several versions of an id,
/// the one that knows its parent wins, then the earliest commit time, then the first source by
/// name (then the rest of the version), so that the result does not depend on the order events
/// arrived in.
fn change_index(changes: &[Change]) -> HashMap<&str, u32> {
    fn rank(c: &Change) -> (bool, Millis, &str, &str, Option<&str>) {
        (
            c.parent.is_none(),
            c.committed_at,
            c.source.as_str(),
            c.service.as_str(),
            c.parent.as_deref(),
        )
    }
    let mut by_id: HashMap<&str, u32> =
        HashMap::with_capacity_and_hasher(changes.len(), Default::default());
    for (k, c) in changes.iter().enumerate() {
        match by_id.entry(c.id.as_str()) {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                if rank(c) < rank(&changes[*o.get() as usize]) {
                    o.insert(k as u32);
                }
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(k as u32);
            }
        }
    }
    by_id
}

/// First successful production deployment of every change, by change index (deployments are
/// sorted by time, so the first one seen wins); [`NOT_DEPLOYED`] for the others, and for every
/// version of a commit but the one [`change_index`] keeps. A deployment ships the changes it
/// lists, or else the commits from its commit back to the previous deployment's of the same
/// service and environment, whichever sources reported them. Changes listed by a deployment
/// but never reported have no commit time and are skipped.
fn first_deployments(
    deployments: &[Deployment],
    prod: &[usize],
    changes: &[Change],
    by_id: &HashMap<&str, u32>,
) -> Vec<u32> {
    let mut first: Vec<u32> = vec![NOT_DEPLOYED; changes.len()];
    // Previous successful deployment's commit per (service, environment).
    let mut previous: HashMap<(&str, &str), &str> = HashMap::default();
    for &i in prod {
        let d = &deployments[i];
        let mut mark = |k: u32| {
            if first[k as usize] == NOT_DEPLOYED {
                first[k as usize] = i as u32;
            }
        };
        let place = (d.service.as_str(), d.environment.as_str());
        if !d.changes.is_empty() {
            for c in &d.changes {
                if let Some(&k) = by_id.get(c.as_str()) {
                    mark(k);
                }
            }
        } else if let Some(commit) = d.commit.as_deref() {
            let prev = previous.get(&place).copied();
            for k in walk_range(changes, by_id, commit, prev) {
                mark(k);
            }
        }
        if let Some(commit) = d.commit.as_deref() {
            previous.insert(place, commit);
        }
    }
    first
}

/// The changes shipped by a deployment of `commit`: walk first parents from it, stopping at the
/// previous deployment's commit and everything before it.
fn walk_range<'a>(
    changes: &'a [Change],
    by_id: &HashMap<&'a str, u32>,
    commit: &'a str,
    previous: Option<&'a str>,
) -> Vec<u32> {
    let parent = |id: &str| {
        by_id
            .get(id)
            .and_then(|&k| changes[k as usize].parent.as_deref())
    };
    let mut stop: HashSet<&str> = HashSet::new();
    if let Some(mut p) = previous {
        for _ in 0..MAX_WALK {
            if !stop.insert(p) {
                break;
            }
            match parent(p) {
                Some(next) => p = next,
                None => break,
            }
        }
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut cur = Some(commit);
    while let Some(c) = cur {
        if stop.contains(c) || !seen.insert(c) || out.len() >= MAX_WALK {
            break;
        }
        let Some(&k) = by_id.get(c) else {
            break;
        };
        out.push(k);
        cur = changes[k as usize].parent.as_deref();
    }
    out
}

use crate::report::compute;
pub use crate::report::{Levels, Report, WeekPoint, parse_since, percentile_cont, summary};
