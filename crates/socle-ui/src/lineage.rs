//! A data product's lineage drawn as an SVG: one column per level, upstream on the left, the
//! product in the middle, downstream on the right; data flows left to right along curved
//! arrows. Node boxes are the dependency graph's (same classes, same escaping, same safe
//! links); a level with more nodes than shown ends with a "+N more" box. Pure and
//! deterministic: the same input gives the same SVG.

use std::collections::{BTreeMap, HashMap};

use maud::{Markup, html};

use crate::graph::{NODE_H, NODE_W, Node, curve, node_box, num, slug};

/// One node at its level (negative upstream, 0 the product, positive downstream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub node: Node,
    pub level: i32,
}

const COL_GAP: f64 = 64.0;
const ROW_GAP: f64 = 16.0;
const PAD: f64 = 20.0;

/// Draws the lineage centred on `center` (an id among `nodes`): `edges` as `(from, to)` ids,
/// `more` the count of nodes left out per level.
pub fn lineage_graph(
    center: &str,
    nodes: &[Placed],
    edges: &[(String, String)],
    more: &BTreeMap<i32, usize>,
) -> Markup {
    let mut levels: BTreeMap<i32, Vec<&Placed>> = BTreeMap::new();
    for p in nodes {
        levels.entry(p.level).or_default().push(p);
    }
    for level in more.keys() {
        levels.entry(*level).or_default();
    }
    let first = levels.keys().next().copied().unwrap_or(0);
    let rows = |l: i32, n: usize| n + usize::from(more.get(&l).is_some_and(|m| *m > 0));
    let tallest = levels
        .iter()
        .map(|(l, v)| rows(*l, v.len()))
        .max()
        .unwrap_or(1)
        .max(1);
    let height = 2.0 * PAD + tallest as f64 * (NODE_H + ROW_GAP) - ROW_GAP;
    let width = 2.0 * PAD + levels.len().max(1) as f64 * (NODE_W + COL_GAP) - COL_GAP;
    let x_of = |level: i32| PAD + f64::from(level - first) * (NODE_W + COL_GAP);
    let mut at: HashMap<&str, (f64, f64)> = HashMap::new();
    let mut boxes = Vec::new();
    let mut extra = Vec::new();
    for (level, members) in &levels {
        let n = rows(*level, members.len());
        let top = (height - (n as f64 * (NODE_H + ROW_GAP) - ROW_GAP)) / 2.0;
        let x = x_of(*level);
        for (i, p) in members.iter().enumerate() {
            let y = top + i as f64 * (NODE_H + ROW_GAP);
            at.insert(p.node.id.as_str(), (x, y));
            boxes.push(node_box(&p.node, x, y, p.node.id == center));
        }
        if let Some(m) = more.get(level).filter(|m| **m > 0) {
            let y = top + members.len() as f64 * (NODE_H + ROW_GAP);
            extra.push((x, y, *m));
        }
    }
    let upstream: usize = nodes.iter().filter(|p| p.level < 0).count()
        + more
            .iter()
            .filter(|(l, _)| **l < 0)
            .map(|(_, m)| m)
            .sum::<usize>();
    let downstream: usize = nodes.iter().filter(|p| p.level > 0).count()
        + more
            .iter()
            .filter(|(l, _)| **l > 0)
            .map(|(_, m)| m)
            .sum::<usize>();
    let gid = format!("lineage-{}", slug(center));
    let arrow = format!("{gid}-arrow");
    let name = center.rsplit('/').next().unwrap_or(center);
    let summary = format!("Lineage of {name}: {upstream} upstream, {downstream} downstream");
    html! {
        svg class="graph lineage" id=(gid) role="group" aria-label=(summary)
            viewBox=(format!("0 0 {} {}", num(width), num(height))) width="100%"
            xmlns="http://www.w3.org/2000/svg" {
            title { (summary) }
            defs {
                marker id=(arrow) viewBox="0 0 10 10" refX="9" refY="5"
                    markerWidth="8" markerHeight="8" orient="auto-start-reverse" {
                    path class="edge-arrow" d="M0 0L10 5L0 10z" fill="currentColor" {}
                }
            }
            @for (from, to) in edges {
                @if let (Some(a), Some(b)) = (at.get(from.as_str()), at.get(to.as_str())) {
                    (arrow_path(*a, *b, &arrow))
                }
            }
            @for b in &boxes { (b) }
            @for (x, y, m) in &extra {
                g class="node node-more" {
                    rect x=(num(*x)) y=(num(*y)) width=(num(NODE_W)) height=(num(NODE_H)) rx="8" {}
                    text class="node-label" x=(num(x + NODE_W / 2.0)) y=(num(y + NODE_H / 2.0 + 5.0))
                        text-anchor="middle" { "+" (m) " more" }
                }
            }
        }
    }
}

/// A curve from the right edge of the box at `a` to the left edge of the box at `b`.
fn arrow_path(a: (f64, f64), b: (f64, f64), arrow: &str) -> Markup {
    let (x1, y1) = (a.0 + NODE_W, a.1 + NODE_H / 2.0);
    let (x2, y2) = (b.0, b.1 + NODE_H / 2.0);
    let d = curve((x1, y1), (x2, y2));
    html! {
        g class="edge" {
            path d=(d) fill="none" stroke="currentColor" marker-end=(format!("url(#{arrow})")) {}
        }
    }
}
