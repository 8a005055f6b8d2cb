//! A data product's lineage from the catalog: what it is derived from (upstream: the datasets
//! and jobs its contract `dependsOn`, as pipelines and `producedBy` write it, followed
//! transitively) and what is derived from it (downstream: whatever depends on it, and the
//! consumers its contract names), each node at its shortest distance, bounded in depth and
//! in nodes per level. Only datasets are followed further: a job or a consumer ends its path
//! (a service's own dependencies are not data lineage).

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;
use socle_catalog::RelationType;

use crate::App;
use crate::actor::Actor;
use crate::error::AppError;
use crate::snapshot::{EntityId, Snapshot};

/// Deepest level followed on each side.
pub const MAX_DEPTH: u32 = 5;
/// Most nodes kept per level (the rest are counted).
pub const MAX_PER_LEVEL: usize = 50;

/// One dataset or job in a lineage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineageNode {
    pub entity: String,
    /// The entity's kind (`datacontract`, `component`, …).
    pub kind: String,
    /// A data product's tier (bronze, silver, gold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Negative upstream, 0 for the product, positive downstream.
    pub level: i32,
    /// Whether the catalog holds it (a reference may point at nothing yet).
    pub exists: bool,
}

/// Data flows `from` → `to` (`to` is derived from `from`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LineageEdge {
    pub from: String,
    pub to: String,
}

/// A product's lineage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lineage {
    pub product: String,
    /// By level, then by ref.
    pub nodes: Vec<LineageNode>,
    pub edges: Vec<LineageEdge>,
    /// Nodes left out per level (beyond [`MAX_PER_LEVEL`]), as `level: count`.
    pub more: BTreeMap<i32, usize>,
}

/// The entities `idx` is derived from (`up`) or that derive from it (`!up`).
fn neighbours(snap: &Snapshot, idx: EntityId, up: bool) -> Vec<EntityId> {
    let Some(v) = snap.view(idx) else {
        return Vec::new();
    };
    let wanted = if up {
        RelationType::DependsOn
    } else {
        RelationType::DependencyOf
    };
    v.relations
        .iter()
        .filter(|(t, _)| *t == wanted)
        .map(|(_, i)| *i)
        .collect()
}

/// Breadth-first from `start` on one side: each reached index with its distance.
fn walk(snap: &Snapshot, start: EntityId, up: bool, depth: u32) -> Vec<(EntityId, u32)> {
    let mut seen: HashMap<EntityId, u32> = HashMap::from([(start, 0)]);
    let mut queue = VecDeque::from([start]);
    let mut out = Vec::new();
    while let Some(i) = queue.pop_front() {
        let d = seen[&i];
        if d >= depth {
            continue;
        }
        for n in neighbours(snap, i, up) {
            if seen.contains_key(&n) {
                continue;
            }
            seen.insert(n, d + 1);
            out.push((n, d + 1));
            if seen.len() > MAX_PER_LEVEL * depth as usize * 4 {
                return out;
            }
            // Only datasets lead further: a job's or a consumer's own dependencies (other
            // services) are not data lineage.
            if is_dataset(snap, n) {
                queue.push_back(n);
            }
        }
    }
    out
}

fn is_dataset(snap: &Snapshot, idx: EntityId) -> bool {
    snap.view(idx).is_some_and(|v| v.kind() == "datacontract")
}

fn tier_of(snap: &Snapshot, idx: EntityId) -> Option<String> {
    let v = snap.view(idx)?;
    if v.kind() != "datacontract" {
        return None;
    }
    let body: serde_json::Value = serde_json::from_str(&v.body).ok()?;
    body.pointer("/spec/tier")?.as_str().map(str::to_owned)
}

/// The lineage of the entity at `center`, `depth` levels each way.
pub fn lineage_of(snap: &Snapshot, center: EntityId, depth: u32) -> Lineage {
    let depth = depth.clamp(1, MAX_DEPTH);
    let mut levels: BTreeMap<i32, Vec<EntityId>> = BTreeMap::from([(0, vec![center])]);
    let mut placed: HashMap<EntityId, i32> = HashMap::from([(center, 0)]);
    for (up, sign) in [(true, -1), (false, 1)] {
        for (i, d) in walk(snap, center, up, depth) {
            if placed.contains_key(&i) {
                continue;
            }
            let level = sign * d as i32;
            placed.insert(i, level);
            levels.entry(level).or_default().push(i);
        }
    }
    let mut more = BTreeMap::new();
    let mut kept: HashMap<EntityId, i32> = HashMap::new();
    let mut nodes = Vec::new();
    for (level, mut members) in levels {
        members.sort_by(|a, b| snap.name(*a).cmp(snap.name(*b)));
        if members.len() > MAX_PER_LEVEL {
            more.insert(level, members.len() - MAX_PER_LEVEL);
            members.truncate(MAX_PER_LEVEL);
        }
        for i in members {
            kept.insert(i, level);
            let entity = snap.name(i).to_owned();
            nodes.push(LineageNode {
                kind: entity.split_once(':').map_or("", |(k, _)| k).to_owned(),
                entity,
                tier: tier_of(snap, i),
                level,
                exists: snap.exists(i),
            });
        }
    }
    let mut edges = Vec::new();
    for &i in kept.keys().filter(|i| is_dataset(snap, **i)) {
        for up in neighbours(snap, i, true) {
            if kept.contains_key(&up) {
                edges.push(LineageEdge {
                    from: snap.name(up).to_owned(),
                    to: snap.name(i).to_owned(),
                });
            }
        }
        for down in neighbours(snap, i, false) {
            if kept.contains_key(&down) {
                edges.push(LineageEdge {
                    from: snap.name(i).to_owned(),
                    to: snap.name(down).to_owned(),
                });
            }
        }
    }
    edges.sort();
    edges.dedup();
    Lineage {
        product: snap.name(center).to_owned(),
        nodes,
        edges,
        more,
    }
}

impl App {
    /// A data product's lineage, `depth` levels up and down (1 to [`MAX_DEPTH`]), for whoever
    /// may read the catalog.
    pub fn data_lineage(
        &self,
        actor: &Actor,
        product: &str,
        depth: u32,
    ) -> Result<Lineage, AppError> {
        self.can_read(actor)?;
        let snap = self.snapshot();
        let (_, view) = crate::data_quality::product_at(&snap, product)?;
        Ok(lineage_of(&snap, view.id, depth))
    }
}
