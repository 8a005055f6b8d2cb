//! Resources may refer to each other's outputs in their params (`${resources.db.host}`): they
//! must then be provisioned in dependency order, and a cycle is an error.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Workload;
use crate::placeholder::{Reference, collect_resource_refs};

/// Resource names in an order where each comes after those it refers to (ties by name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceGraph {
    pub order: Vec<String>,
    /// `resource → resources its params refer to`.
    pub depends_on: BTreeMap<String, BTreeSet<String>>,
}

/// Resources that refer to each other in a cycle, named `a → b → a`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("resources refer to each other in a cycle: {cycle}")]
pub struct CycleError {
    pub cycle: String,
}

/// Orders the workload's resources; a cycle is an error naming it (`a → b → a`).
pub fn resource_graph(w: &Workload) -> Result<ResourceGraph, CycleError> {
    let mut depends_on: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, r) in &w.resources {
        let mut deps = BTreeSet::new();
        if let Some(params) = &r.params {
            for reference in collect_resource_refs(params) {
                if let Reference::Resource { name: dep, .. } = reference
                    && w.resources.contains_key(&dep)
                {
                    deps.insert(dep);
                }
            }
        }
        depends_on.insert(name.clone(), deps);
    }
    let mut order = Vec::with_capacity(depends_on.len());
    let mut done: BTreeSet<String> = BTreeSet::new();
    while done.len() < depends_on.len() {
        let ready: Vec<String> = depends_on
            .iter()
            .filter(|(n, deps)| !done.contains(*n) && deps.iter().all(|d| done.contains(d)))
            .map(|(n, _)| n.clone())
            .collect();
        if ready.is_empty() {
            return Err(CycleError {
                cycle: find_cycle(&depends_on, &done),
            });
        }
        for n in ready {
            done.insert(n.clone());
            order.push(n);
        }
    }
    Ok(ResourceGraph { order, depends_on })
}

fn find_cycle(deps: &BTreeMap<String, BTreeSet<String>>, done: &BTreeSet<String>) -> String {
    let start = deps
        .keys()
        .find(|k| !done.contains(*k))
        .cloned()
        .unwrap_or_default();
    let mut path = vec![start.clone()];
    let mut cur = start;
    loop {
        let next = deps[&cur]
            .iter()
            .find(|d| !done.contains(*d))
            .cloned()
            .unwrap_or_default();
        if let Some(pos) = path.iter().position(|p| *p == next) {
            let mut cycle = path[pos..].to_vec();
            cycle.push(next);
            return cycle.join(" → ");
        }
        path.push(next.clone());
        cur = next;
    }
}
