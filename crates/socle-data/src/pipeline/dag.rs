//! The models' dependency graph (from their `ref()` calls): a deterministic topological order
//! (Kahn's algorithm, ready models taken by name), cycles refused with the `file:line` of each
//! `ref()` that closes them, and dbt's selection syntax (`model`, `+model`, `model+`, `+model+`).

use std::collections::{BTreeMap, BTreeSet};

use super::{Model, PipelineError};

/// The models in dependency order, or the cycles found.
pub fn order(models: Vec<Model>) -> Result<Vec<Model>, Vec<PipelineError>> {
    let index: BTreeMap<&str, usize> = models
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name.as_str(), i))
        .collect();
    let mut waiting: Vec<usize> = models.iter().map(|m| m.refs.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); models.len()];
    for (i, m) in models.iter().enumerate() {
        for r in &m.refs {
            match index.get(r.name.as_str()) {
                Some(&j) => dependents[j].push(i),
                None => {
                    return Err(vec![PipelineError::new(
                        &m.file,
                        Some(r.line),
                        format!("ref({:?}): there is no model named {:?}", r.name, r.name),
                    )]);
                }
            }
        }
    }
    let mut ready: BTreeSet<(&str, usize)> = models
        .iter()
        .enumerate()
        .filter(|(i, _)| waiting[*i] == 0)
        .map(|(i, m)| (m.name.as_str(), i))
        .collect();
    let mut out = Vec::with_capacity(models.len());
    while let Some((_, i)) = ready.pop_first() {
        out.push(i);
        for &d in &dependents[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.insert((models[d].name.as_str(), d));
            }
        }
    }
    if out.len() < models.len() {
        return Err(cycles(&models, &index, &waiting));
    }
    let mut slots: Vec<Option<Model>> = models.into_iter().map(Some).collect();
    Ok(out.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// One error per cycle among the models left waiting, at the `ref()` that closes it.
fn cycles(
    models: &[Model],
    index: &BTreeMap<&str, usize>,
    waiting: &[usize],
) -> Vec<PipelineError> {
    let stuck: BTreeSet<usize> = (0..models.len()).filter(|&i| waiting[i] > 0).collect();
    let mut reported: BTreeSet<usize> = BTreeSet::new();
    let mut errors = Vec::new();
    for &start in &stuck {
        if reported.contains(&start) {
            continue;
        }
        // Walk refs among stuck models until a model repeats: that tail is a cycle.
        let mut path = vec![start];
        let cycle_from = loop {
            let here = *path.last().expect("non-empty");
            let next = models[here]
                .refs
                .iter()
                .filter_map(|r| index.get(r.name.as_str()).copied())
                .filter(|j| stuck.contains(j))
                .min_by_key(|&j| &models[j].name)
                .expect("a stuck model refers to a stuck model");
            if let Some(p) = path.iter().position(|&x| x == next) {
                break p;
            }
            path.push(next);
        };
        let cycle = &path[cycle_from..];
        if cycle.iter().any(|i| reported.contains(i)) {
            reported.extend(path.iter().copied());
            continue;
        }
        reported.extend(path.iter().copied());
        let first = cycle
            .iter()
            .copied()
            .min_by_key(|&i| &models[i].name)
            .expect("cycle");
        let at = cycle.iter().position(|&i| i == first).expect("member");
        let ordered: Vec<usize> = cycle[at..].iter().chain(&cycle[..at]).copied().collect();
        let next = ordered.get(1).copied().unwrap_or(first);
        let names: Vec<&str> = ordered
            .iter()
            .chain(std::iter::once(&first))
            .map(|&i| models[i].name.as_str())
            .collect();
        let line = models[first]
            .refs
            .iter()
            .find(|r| r.name == models[next].name)
            .map(|r| r.line);
        errors.push(PipelineError::new(
            &models[first].file,
            line,
            format!(
                "the models refer to each other in a cycle: {}",
                names.join(" → ")
            ),
        ));
    }
    errors
}

/// The models a dbt-style selector names: `name`, `+name` (with everything it depends on),
/// `name+` (with everything depending on it), `+name+`; several separated by spaces or commas.
pub fn select(models: &[Model], selector: &str) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    for part in selector.split([' ', ',']).filter(|p| !p.is_empty()) {
        let up = part.starts_with('+');
        let down = part.ends_with('+') && part.len() > 1;
        let name = part.trim_matches('+');
        if !models.iter().any(|m| m.name == name) {
            return Err(format!("--select {part}: there is no model named {name:?}"));
        }
        out.insert(name.to_owned());
        if up {
            walk(name, &mut out, |n| {
                models
                    .iter()
                    .find(|m| m.name == n)
                    .map(|m| m.refs.iter().map(|r| r.name.clone()).collect())
                    .unwrap_or_default()
            });
        }
        if down {
            walk(name, &mut out, |n| {
                models
                    .iter()
                    .filter(|m| m.refs.iter().any(|r| r.name == n))
                    .map(|m| m.name.clone())
                    .collect()
            });
        }
    }
    Ok(out)
}

fn walk(start: &str, out: &mut BTreeSet<String>, next: impl Fn(&str) -> Vec<String>) {
    let mut todo = vec![start.to_owned()];
    let mut seen = BTreeSet::new();
    while let Some(n) = todo.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        for m in next(&n) {
            out.insert(m.clone());
            todo.push(m);
        }
    }
}
