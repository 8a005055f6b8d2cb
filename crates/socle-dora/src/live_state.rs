//! What [`crate::live::Live`] keeps: the events, interned, and what the rules derive from
//! them, updated one event at a time. Every change notes in a [`Touch`] what it may move.

use std::cmp::Ordering;

use crate::bulk::Chg;
use crate::events::{ChangeRef, DeploymentRef, Incident, Millis};
use crate::intern::{Interner, NONE};
use crate::live::Touch;
use crate::metrics::{HashMap, Options};
use crate::walk::Walker;

/// A deployment whose range is walked but was not yet.
const PENDING: u32 = NONE - 1;

/// A deployment, interned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LDep {
    pub(crate) source: u32,
    pub(crate) id: u32,
    pub(crate) service: u32,
    pub(crate) environment: u32,
    pub(crate) status: u32,
    pub(crate) finished_at: Millis,
    pub(crate) listed: Box<[u32]>,
    pub(crate) commit: u32,
    /// A successful production deployment.
    pub(crate) prod: bool,
}

#[derive(Default)]
pub(crate) struct State {
    opts: Options,
    /// Sources, services, environments, statuses.
    pub(crate) names: Interner,
    commits: Interner,
    deploy_ids: Interner,
    dep_key: HashMap<(u32, u32), u32>,
    pub(crate) deps: Vec<LDep>,
    /// The sources deployments came from (few): where an incident's named id is looked up.
    dep_sources: Vec<u32>,
    chg_key: HashMap<(u32, u32), u32>,
    pub(crate) chgs: Vec<Chg>,
    /// Per commit: a change reporting it (or [`NONE`]); the others, when several sources do.
    ver1: Vec<u32>,
    ver_more: HashMap<u32, Vec<u32>>,
    /// Per commit: the change that stands for it (as `metrics::change_index`), or [`NONE`].
    pub(crate) best: Vec<u32>,
    /// Per commit: a successful production deployment shipping it (or [`NONE`]); the others.
    ship1: Vec<u32>,
    ship_more: HashMap<u32, Vec<u32>>,
    /// Per deployment: the commits it ships (sorted; empty unless it is a production success).
    shipped: Vec<Box<[u32]>>,
    /// Deployments that walk their range (no listed changes, a commit): the previous
    /// deployment's commit they walked back to ([`NONE`]: none; [`PENDING`]: not walked yet).
    walk_prev: HashMap<u32, u32>,
    /// Successful production deployments by service, and by (service, environment), in time
    /// order (finish time, source, id).
    pub(crate) prod_by_service: HashMap<u32, Vec<u32>>,
    prod_by_place: HashMap<(u32, u32), Vec<u32>>,
    inc_key: HashMap<(String, String), u32>,
    pub(crate) incs: Vec<Incident>,
    inc_service: Vec<u32>,
    pub(crate) incidents_by_service: HashMap<u32, Vec<u32>>,
    /// Per incident: the deployment that caused it, or [`NONE`].
    cause: Vec<u32>,
    /// Per deployment that caused incidents: how many.
    pub(crate) caused: HashMap<u32, u32>,
    pub(crate) without_cause: usize,
    /// Walk marks, reused from one walk to the next.
    walker: Walker,
}

/// Deployments in time order: finish time, then source and id as strings.
fn order(st: &State, a: u32, b: u32) -> Ordering {
    let (x, y) = (&st.deps[a as usize], &st.deps[b as usize]);
    x.finished_at
        .cmp(&y.finished_at)
        .then_with(|| st.names.get(x.source).cmp(st.names.get(y.source)))
        .then_with(|| st.deploy_ids.get(x.id).cmp(st.deploy_ids.get(y.id)))
}

impl State {
    pub(crate) fn new(opts: Options) -> Self {
        Self {
            opts,
            ..Self::default()
        }
    }

    /// Room for about this many deployments and changes (a start-up load: no growth of the
    /// large tables, no copy of the commit ids' arena).
    pub(crate) fn reserve(&mut self, deployments: usize, changes: usize) {
        self.deploy_ids.reserve(deployments, deployments * 24);
        self.dep_key.reserve(deployments);
        self.deps.reserve(deployments);
        self.shipped.reserve(deployments);
        self.commits.reserve(changes, changes * 40);
        self.chg_key.reserve(changes);
        self.chgs.reserve(changes);
        for v in [&mut self.best, &mut self.ver1, &mut self.ship1] {
            v.reserve(changes);
        }
    }

    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        (self.deps.len(), self.chgs.len(), self.incs.len())
    }

    fn commit(&mut self, id: &str) -> u32 {
        let c = self.commits.intern(id);
        if c as usize >= self.best.len() {
            let n = self.commits.len();
            self.best.resize(n, NONE);
            self.ver1.resize(n, NONE);
            self.ship1.resize(n, NONE);
        }
        c
    }

    /// Every service with a production deployment or an incident.
    pub(crate) fn all_services(&self) -> Vec<u32> {
        self.prod_by_service
            .keys()
            .chain(self.incidents_by_service.keys())
            .copied()
            .collect()
    }

    pub(crate) fn shipped(&self, d: u32) -> &[u32] {
        &self.shipped[d as usize]
    }

    /// The first successful production deployment that ships commit `c`.
    pub(crate) fn first(&self, c: u32) -> Option<u32> {
        let one = self.ship1[c as usize];
        if one == NONE {
            return None;
        }
        let more = self.ship_more.get(&c).map_or(&[][..], |v| v);
        more.iter()
            .copied()
            .fold(one, |a, b| if order(self, b, a).is_lt() { b } else { a })
            .into()
    }

    /// Before commit `c`'s shippers or standing version change: its first deployment's
    /// service (as it is now) must be rebuilt.
    fn touch_commit(&self, c: u32, touch: &mut Touch) {
        if !touch.off
            && touch.commits.insert(c)
            && let Some(f) = self.first(c)
        {
            touch.services.insert(self.deps[f as usize].service);
        }
    }

    fn add_shipper(&mut self, c: u32, d: u32) {
        if self.ship1[c as usize] == NONE {
            self.ship1[c as usize] = d;
        } else {
            self.ship_more.entry(c).or_default().push(d);
        }
    }

    fn remove_shipper(&mut self, c: u32, d: u32) {
        if self.ship1[c as usize] == d {
            let next = match self.ship_more.get_mut(&c) {
                Some(v) => {
                    let n = v.pop().unwrap_or(NONE);
                    if v.is_empty() {
                        self.ship_more.remove(&c);
                    }
                    n
                }
                None => NONE,
            };
            self.ship1[c as usize] = next;
        } else if let Some(v) = self.ship_more.get_mut(&c) {
            v.retain(|&x| x != d);
            if v.is_empty() {
                self.ship_more.remove(&c);
            }
        }
    }

    /// Inserts or replaces a deployment; false when this version was held already.
    pub(crate) fn put_deployment(&mut self, x: DeploymentRef<'_>, touch: &mut Touch) -> bool {
        let prod = x.succeeded() && self.opts.is_production(x.environment);
        let listed: Box<[u32]> = x.changes.iter().map(|c| self.commit(c)).collect();
        let commit = x.commit.map_or(NONE, |c| self.commit(c));
        let new = LDep {
            source: self.names.intern(x.source),
            id: self.deploy_ids.intern(x.id),
            service: self.names.intern(x.service),
            environment: self.names.intern(x.environment),
            status: self.names.intern(x.status),
            finished_at: x.finished_at,
            listed,
            commit,
            prod,
        };
        let slot = match self.dep_key.get(&(new.source, new.id)) {
            Some(&slot) if self.deps[slot as usize] == new => return false,
            Some(&slot) => {
                self.unplace(slot, touch);
                self.deps[slot as usize] = new;
                slot
            }
            None => {
                let slot = self.deps.len() as u32;
                if !self.dep_sources.contains(&new.source) {
                    self.dep_sources.push(new.source);
                }
                self.dep_key.insert((new.source, new.id), slot);
                self.deps.push(new);
                self.shipped.push(Box::default());
                slot
            }
        };
        self.place(slot, touch);
        touch.causes = true;
        true
    }

    /// Takes a deployment's current version out of the derived state.
    fn unplace(&mut self, d: u32, touch: &mut Touch) {
        let dep = &self.deps[d as usize];
        let (service, place, prod) = (dep.service, (dep.service, dep.environment), dep.prod);
        touch.services.insert(service);
        if !prod {
            return;
        }
        for key in [Some(service), None] {
            let list = match key {
                Some(s) => self.prod_by_service.get_mut(&s),
                None => self.prod_by_place.get_mut(&place),
            };
            if let Some(list) = list {
                list.retain(|&x| x != d);
            }
        }
        touch.places.insert(place);
        let shipped = std::mem::take(&mut self.shipped[d as usize]);
        for &c in shipped.iter() {
            self.touch_commit(c, touch);
            self.remove_shipper(c, d);
        }
        self.walk_prev.remove(&d);
    }

    /// Puts a deployment's current version into the derived state.
    fn place(&mut self, d: u32, touch: &mut Touch) {
        let dep = &self.deps[d as usize];
        let (service, place) = (dep.service, (dep.service, dep.environment));
        touch.services.insert(service);
        if !dep.prod {
            return;
        }
        for key in [Some(service), None] {
            let mut list = match key {
                Some(s) => self.prod_by_service.remove(&s),
                None => self.prod_by_place.remove(&place),
            }
            .unwrap_or_default();
            let at = list.partition_point(|&x| order(self, x, d).is_lt());
            list.insert(at, d);
            match key {
                Some(s) => self.prod_by_service.insert(s, list),
                None => self.prod_by_place.insert(place, list),
            };
        }
        touch.places.insert(place);
        let dep = &self.deps[d as usize];
        if !dep.listed.is_empty() {
            let mut ships = dep.listed.to_vec();
            ships.sort_unstable();
            ships.dedup();
            for &c in &ships {
                self.touch_commit(c, touch);
                self.add_shipper(c, d);
            }
            self.shipped[d as usize] = ships.into();
        } else if dep.commit != NONE {
            self.walk_prev.insert(d, PENDING);
        }
    }

    /// Inserts or replaces a change; false when this version was held already.
    pub(crate) fn put_change(&mut self, x: ChangeRef<'_>, touch: &mut Touch) -> bool {
        let id = self.commit(x.id);
        let parent = x.parent.map_or(NONE, |p| self.commit(p));
        let new = Chg {
            source: self.names.intern(x.source),
            id,
            service: self.names.intern(x.service),
            committed_at: x.committed_at,
            parent,
        };
        match self.chg_key.get(&(new.source, id)) {
            Some(&slot) if self.chgs[slot as usize] == new => return false,
            Some(&slot) => {
                self.touch_commit(id, touch);
                self.chgs[slot as usize] = new;
            }
            None => {
                self.touch_commit(id, touch);
                let slot = self.chgs.len() as u32;
                self.chg_key.insert((new.source, id), slot);
                self.chgs.push(new);
                if self.ver1[id as usize] == NONE {
                    self.ver1[id as usize] = slot;
                } else {
                    self.ver_more.entry(id).or_default().push(slot);
                }
            }
        }
        self.best[id as usize] = self.standing(id);
        touch.changes = true;
        true
    }

    /// Of a commit's versions: the one that knows its parent, then the earliest, then the
    /// first source by name, then service and parent (as `metrics::change_index`).
    fn standing(&self, c: u32) -> u32 {
        let opt = |p: u32| (p != NONE).then(|| self.commits.get(p));
        let rank = |k: u32| {
            let x = &self.chgs[k as usize];
            (
                x.parent == NONE,
                x.committed_at,
                self.names.get(x.source),
                self.names.get(x.service),
                opt(x.parent),
            )
        };
        let one = self.ver1[c as usize];
        let more = self.ver_more.get(&c).map_or(&[][..], |v| v);
        more.iter()
            .copied()
            .fold(one, |a, b| if rank(b) < rank(a) { b } else { a })
    }

    /// Inserts or replaces an incident; false when this version was held already.
    pub(crate) fn put_incident(&mut self, x: Incident, touch: &mut Touch) -> bool {
        let service = self.names.intern(&x.service);
        let key = (x.source.clone(), x.id.clone());
        match self.inc_key.get(&key) {
            Some(&i) if self.incs[i as usize] == x => return false,
            Some(&i) => {
                let old = self.inc_service[i as usize];
                touch.services.insert(old);
                if let Some(v) = self.incidents_by_service.get_mut(&old) {
                    v.retain(|&k| k != i);
                    if v.is_empty() {
                        self.incidents_by_service.remove(&old);
                    }
                }
                self.incs[i as usize] = x;
                self.inc_service[i as usize] = service;
                self.incidents_by_service
                    .entry(service)
                    .or_default()
                    .push(i);
            }
            None => {
                let i = self.incs.len() as u32;
                self.inc_key.insert(key, i);
                self.incs.push(x);
                self.inc_service.push(service);
                self.cause.push(NONE);
                self.incidents_by_service
                    .entry(service)
                    .or_default()
                    .push(i);
            }
        }
        touch.services.insert(service);
        touch.causes = true;
        true
    }

    /// Walks again the ranges that may have moved: in the places touched, the deployments
    /// whose previous commit changed; after a change, every walking deployment.
    pub(crate) fn rewalk(&mut self, touch: &mut Touch) {
        if self.walk_prev.is_empty() {
            return;
        }
        let all = touch.changes;
        let places: Vec<(u32, u32)> = if all {
            self.prod_by_place.keys().copied().collect()
        } else {
            touch.places.iter().copied().collect()
        };
        for place in places {
            let list = self.prod_by_place.get(&place).cloned().unwrap_or_default();
            let mut prev = NONE;
            for d in list {
                if let Some(&walked) = self.walk_prev.get(&d)
                    && (all || walked != prev)
                {
                    let commit = self.deps[d as usize].commit;
                    let mut new = self.walk(commit, prev);
                    new.sort_unstable();
                    self.reship(d, new, touch);
                    self.walk_prev.insert(d, prev);
                }
                let c = self.deps[d as usize].commit;
                if c != NONE {
                    prev = c;
                }
            }
        }
    }

    /// Replaces what a walking deployment ships.
    fn reship(&mut self, d: u32, new: Vec<u32>, touch: &mut Touch) {
        let old = std::mem::take(&mut self.shipped[d as usize]);
        if *old == *new {
            self.shipped[d as usize] = old;
            return;
        }
        touch.services.insert(self.deps[d as usize].service);
        for &c in old.iter().filter(|c| new.binary_search(c).is_err()) {
            self.touch_commit(c, touch);
            self.remove_shipper(c, d);
        }
        for &c in new.iter().filter(|c| old.binary_search(c).is_err()) {
            self.touch_commit(c, touch);
            self.add_shipper(c, d);
        }
        self.shipped[d as usize] = new.into();
    }

    /// The commits from `commit` back to (not including) `previous` and its ancestors, through
    /// the standing versions' parents (as `metrics::walk_range`).
    fn walk(&mut self, commit: u32, previous: u32) -> Vec<u32> {
        let (best, chgs) = (&self.best, &self.chgs);
        let parent = |id: u32| {
            let k = best[id as usize];
            (k != NONE)
                .then(|| chgs[k as usize].parent)
                .filter(|&p| p != NONE)
        };
        let known = |id: u32| best[id as usize] != NONE;
        let previous = (previous != NONE).then_some(previous);
        self.walker
            .range(best.len(), commit, previous, parent, known)
    }

    /// Every incident's cause looked up again (when deployments or incidents changed); the
    /// services of causes that moved are touched.
    pub(crate) fn recause(&mut self, touch: &mut Touch) {
        if !touch.causes {
            return;
        }
        let mut without = 0;
        for i in 0..self.incs.len() {
            let now = self.cause_of(i);
            let before = self.cause[i];
            if now != before {
                for (d, up) in [(before, false), (now, true)] {
                    if d == NONE {
                        continue;
                    }
                    touch.services.insert(self.deps[d as usize].service);
                    let n = self.caused.entry(d).or_default();
                    if up {
                        *n += 1;
                    } else {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            self.caused.remove(&d);
                        }
                    }
                }
                self.cause[i] = now;
            }
            if now == NONE {
                without += 1;
            }
        }
        self.without_cause = without;
    }

    /// The deployment that caused incident `i` (as `metrics`: the one it names, if a
    /// successful production deployment; else the latest of its service before it started).
    fn cause_of(&self, i: usize) -> u32 {
        let inc = &self.incs[i];
        let service = self.inc_service[i];
        match inc.deployment.as_deref() {
            Some(id) => {
                let Some(id) = self.deploy_ids.find(id) else {
                    return NONE;
                };
                let candidates: Vec<u32> = self
                    .dep_sources
                    .iter()
                    .filter_map(|&s| self.dep_key.get(&(s, id)).copied())
                    .collect();
                let own = self.names.find(&inc.source);
                let named = if let Some(&d) = candidates
                    .iter()
                    .find(|&&d| Some(self.deps[d as usize].source) == own)
                {
                    Some(d)
                } else if let [only] = candidates[..] {
                    Some(only)
                } else {
                    let mut same = candidates
                        .iter()
                        .filter(|&&d| self.deps[d as usize].service == service);
                    match (same.next(), same.next()) {
                        (Some(&d), None) => Some(d),
                        _ => None,
                    }
                };
                named
                    .filter(|&d| self.deps[d as usize].prod)
                    .unwrap_or(NONE)
            }
            None => {
                let Some(list) = self.prod_by_service.get(&service) else {
                    return NONE;
                };
                let n =
                    list.partition_point(|&d| self.deps[d as usize].finished_at < inc.started_at);
                n.checked_sub(1).map_or(NONE, |k| list[k])
            }
        }
    }
}
