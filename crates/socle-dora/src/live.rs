//! The live index: the server's [`Dataset`], kept current by applying the store's change log
//! (each new or changed event) instead of rebuilding from every stored event.
//!
//! It keeps the events (interned, one version per `(source, id)`: the store's) and what the
//! rules of [`crate::metrics`] derive from them: the successful production deployments of each
//! service and of each place (service and environment) in time order, the commits each one
//! ships (listed, or walked back to the previous deployment's commit), the deployments that
//! ship each commit, and each incident's cause. A delta replaces versions and notes which
//! services' series it may move — a deployment's old and new service, the services of a
//! touched commit's first deployment before and after, an incident's service, a cause's
//! deployment — and only those series are rebuilt (from the kept state, in time order); the
//! others are shared with the previous [`Dataset`]. What stays global, but cheap: every
//! incident's cause is looked up again when deployments or incidents changed (a binary search
//! or a key lookup each), and when changes changed every deployment that walks its range
//! (lists no changes) walks it again. Reports equal [`Dataset::from_parts`] over the same
//! events (`tests/it/live.rs`, property tests).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use crate::events::{Event, EventRef, Incident};
use crate::intern::NONE;
use crate::live_state::{LDep, State};
use crate::metrics::{Dataset, HOUR, HashMap, Options, Series};

/// What one [`Live::apply`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Events that were new or differed from the version held.
    pub changed: usize,
    /// Services whose series were rebuilt.
    pub services: usize,
}

/// The live index.
pub struct Live {
    st: State,
    /// Per service name id: its series, when it has any entry.
    series: HashMap<u32, Arc<Series>>,
    dataset: Arc<Dataset>,
}

impl Live {
    pub fn new(opts: &Options) -> Self {
        Self {
            st: State::new(opts.clone()),
            series: HashMap::default(),
            dataset: Arc::new(Dataset::default()),
        }
    }

    /// The reports' dataset as of the last delta (cheap: shared).
    pub fn dataset(&self) -> Arc<Dataset> {
        self.dataset.clone()
    }

    /// Events held: deployments, changes, incidents.
    pub fn len(&self) -> (usize, usize, usize) {
        self.st.counts()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0, 0)
    }

    /// Applies new or changed events (each the current version of its `(source, id)`, as the
    /// store holds it; a version already held changes nothing) and publishes a new dataset.
    pub fn apply(&mut self, events: impl IntoIterator<Item = Event>) -> Applied {
        if self.is_empty() {
            let changed = self.load(events);
            return Applied {
                changed,
                ..self.finish_load()
            };
        }
        let mut touch = Touch::default();
        let changed = self.put(events, &mut touch);
        if changed == 0 {
            return Applied::default();
        }
        self.st.rewalk(&mut touch);
        self.st.recause(&mut touch);
        let mut dirty = std::mem::take(&mut touch.services);
        for c in std::mem::take(&mut touch.commits) {
            if let Some(f) = self.st.first(c) {
                dirty.insert(self.st.deps[f as usize].service);
            }
        }
        Applied {
            changed,
            services: self.rebuild(dirty),
        }
    }

    /// Start-up: a batch of the stored events, kept without noting what each one moves (every
    /// series is built by [`Self::finish_load`], called once after the last batch). The
    /// versions are the store's: one per key.
    pub fn load(&mut self, events: impl IntoIterator<Item = Event>) -> usize {
        let mut touch = Touch {
            off: true,
            ..Touch::default()
        };
        self.put(events, &mut touch)
    }

    /// Start-up: a batch of deployments and changes whose strings are borrowed (a page of a
    /// store's rows), kept as [`Self::load`] keeps events.
    pub fn load_borrowed<'a>(&mut self, events: impl IntoIterator<Item = EventRef<'a>>) -> usize {
        let mut touch = Touch {
            off: true,
            ..Touch::default()
        };
        let mut changed = 0;
        for e in events {
            let c = match e {
                EventRef::Deployment(x) => self.st.put_deployment(x, &mut touch),
                EventRef::Change(x) => self.st.put_change(x, &mut touch),
            };
            changed += usize::from(c);
        }
        changed
    }

    /// Room for about this many deployments and changes, before a start-up load.
    pub fn reserve(&mut self, deployments: usize, changes: usize) {
        self.st.reserve(deployments, changes);
    }

    /// After the start-up batches: every range walked, every cause found, every series built.
    pub fn finish_load(&mut self) -> Applied {
        let mut touch = Touch {
            changes: true,
            causes: true,
            off: true,
            ..Touch::default()
        };
        self.st.rewalk(&mut touch);
        self.st.recause(&mut touch);
        let all = self.st.all_services().into_iter().collect();
        Applied {
            changed: 0,
            services: self.rebuild(all),
        }
    }

    fn put(&mut self, events: impl IntoIterator<Item = Event>, touch: &mut Touch) -> usize {
        let mut changed = 0;
        for e in events {
            let c = match e {
                Event::Deployment(x) => self.st.put_deployment(x.borrowed(), touch),
                Event::Change(x) => self.st.put_change(x.borrowed(), touch),
                Event::Incident(x) => self.st.put_incident(x, touch),
            };
            changed += usize::from(c);
        }
        changed
    }

    /// Rebuilds these services' series and publishes a new dataset; how many there were.
    fn rebuild(&mut self, dirty: BTreeSet<u32>) -> usize {
        let n = dirty.len();
        for s in dirty {
            let series = self.st.series_of(s);
            if series.is_empty() {
                self.series.remove(&s);
            } else {
                self.series.insert(s, Arc::new(series));
            }
        }
        self.publish();
        n
    }

    /// A new dataset: every service with a series, in name order.
    fn publish(&mut self) {
        let mut named: Vec<(&str, &Arc<Series>)> = self
            .series
            .iter()
            .map(|(&s, series)| (self.st.names.get(s), series))
            .collect();
        named.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let services = named.iter().map(|(n, _)| (*n).to_owned()).collect();
        let series = named.into_iter().map(|(_, s)| s.clone()).collect();
        self.dataset = Arc::new(Dataset::from_shared(
            services,
            series,
            self.st.without_cause,
        ));
    }
}

/// What a delta may have moved.
#[derive(Default)]
pub(crate) struct Touch {
    /// Services whose series must be rebuilt.
    pub(crate) services: BTreeSet<u32>,
    /// Commits whose shippers or standing version changed: their first deployment's service
    /// now must be rebuilt too (the one before was noted when they were touched).
    pub(crate) commits: HashSet<u32>,
    /// Places (service, environment) whose walking deployments may walk another range.
    pub(crate) places: HashSet<(u32, u32)>,
    /// A change was new or changed: every walk may differ.
    pub(crate) changes: bool,
    /// Deployments or incidents changed: causes may differ.
    pub(crate) causes: bool,
    /// Loading: commits are not noted (every series is built at the end).
    pub(crate) off: bool,
}

impl State {
    /// A service's series, from the kept state.
    fn series_of(&self, service: u32) -> Series {
        let mut s = Series::default();
        for &d in self.prod_by_service.get(&service).map_or(&[][..], |v| v) {
            let dep: &LDep = &self.deps[d as usize];
            s.deploys.push(dep.finished_at);
            if self.caused.get(&d).is_some_and(|&n| n > 0) {
                s.failed.push(dep.finished_at);
            }
            for &c in self.shipped(d) {
                let best = self.best[c as usize];
                if best == NONE || self.first(c) != Some(d) {
                    continue;
                }
                let lead = dep.finished_at - self.chgs[best as usize].committed_at;
                if lead > 0 {
                    s.lead.push((dep.finished_at, lead as f64 / HOUR));
                }
            }
        }
        for &i in self
            .incidents_by_service
            .get(&service)
            .map_or(&[][..], |v| v)
        {
            let inc: &Incident = &self.incs[i as usize];
            if let Some(r) = inc.resolved_at {
                s.recovery.push((r, (r - inc.started_at) as f64 / HOUR));
            }
        }
        s.sort();
        s
    }
}
