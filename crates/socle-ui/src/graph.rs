//! An entity's relations drawn as an SVG dependency graph, the entity in the middle.
//!
//! The layout is deterministic and has three columns: entities pointing at the center
//! (incoming edges) on the left, the center entity in the middle, and entities the center
//! points at (outgoing edges) on the right. An entity related both ways goes right, and
//! its connector gets arrowheads at both ends. Within a column, nodes are grouped by
//! relation label (sorted), then ordered by id; a column longer than `max_per_side` ends
//! with a "+N more" box.
//!
//! Styling is left to CSS: nodes carry `node node-<kind>` (and `node-center`), connectors
//! `edge`, their labels `edge-label`. All text goes through maud and is escaped; links
//! with a scheme other than http(s)/mailto are dropped.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use maud::{Markup, html};

/// An entity in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The entity ref, e.g. `"component:default/cart-service"`.
    pub id: String,
    /// The display label, e.g. `"cart-service"` (the name in the ref when empty).
    pub label: String,
    /// The entity kind, e.g. `"component"`, `"api"`, `"group"`.
    pub kind: String,
    /// Where the node links to, if anywhere.
    pub href: Option<String>,
}

/// A directed relation between two entities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The source entity ref.
    pub from: String,
    /// The target entity ref.
    pub to: String,
    /// The relation type, e.g. `"dependsOn"`, `"ownedBy"`, `"providesApi"`.
    pub label: String,
}

/// Width of the viewBox; the svg itself scales to its container.
const WIDTH: f64 = 960.0;
pub(crate) const NODE_W: f64 = 200.0;
pub(crate) const NODE_H: f64 = 48.0;
/// Vertical distance between two nodes of the same relation group.
const ROW_GAP: f64 = 14.0;
/// Extra vertical space between two relation groups.
const GROUP_GAP: f64 = 12.0;
const PAD_Y: f64 = 24.0;
const LEFT_X: f64 = 24.0;
const CENTER_X: f64 = (WIDTH - NODE_W) / 2.0;
const RIGHT_X: f64 = WIDTH - 24.0 - NODE_W;
/// Labels longer than this many characters are truncated with "…".
const MAX_LABEL_CHARS: usize = 26;

/// Which side of the center a column is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// A node placed in a side column, with the relation labels connecting it to the center.
struct Entry<'a> {
    node: Node,
    /// Relation labels of edges center → node (sorted, deduplicated).
    outgoing: Vec<&'a str>,
    /// Relation labels of edges node → center (sorted, deduplicated).
    incoming: Vec<&'a str>,
}

impl Entry<'_> {
    /// The relation labels shown on the connector.
    fn labels(&self, side: Side) -> String {
        match side {
            Side::Left => self.incoming.join(", "),
            Side::Right if self.incoming.is_empty() => self.outgoing.join(", "),
            Side::Right => {
                let back: Vec<String> = self.incoming.iter().map(|l| format!("← {l}")).collect();
                format!("{}, {}", self.outgoing.join(", "), back.join(", "))
            }
        }
    }

    /// The sort key within a column: relation group first, then id.
    fn key(&self, side: Side) -> (&str, &str) {
        let group = match side {
            Side::Left => self.incoming.first(),
            Side::Right => self.outgoing.first(),
        };
        (group.copied().unwrap_or(""), self.node.id.as_str())
    }
}

/// A laid-out column: its visible entries with their y positions, and the overflow box.
struct Column<'a> {
    side: Side,
    rows: Vec<(f64, Entry<'a>)>,
    /// `(y, hidden count)` of the "+N more" box.
    more: Option<(f64, usize)>,
    total: usize,
}

/// Draws `center`'s relations as an inline `<svg class="graph" role="group">`.
///
/// `nodes` supplies labels, kinds and links for the entities mentioned by `edges`; an
/// entity missing from `nodes` is drawn from its ref alone. Edges not touching the center
/// (and self-loops) are ignored. Each side column shows at most `max_per_side` nodes,
/// followed by a "+N more" box when there are more.
pub fn dependency_graph(
    center: &Node,
    nodes: &[Node],
    edges: &[Edge],
    max_per_side: usize,
) -> Markup {
    let by_id: HashMap<&str, &Node> = nodes
        .iter()
        .rev() // the first node with a given id wins
        .map(|n| (n.id.as_str(), n))
        .collect();

    let mut out: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut inc: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in edges {
        if e.from == e.to {
            continue;
        }
        if e.from == center.id {
            out.entry(e.to.as_str()).or_default().insert(&e.label);
        } else if e.to == center.id {
            inc.entry(e.from.as_str()).or_default().insert(&e.label);
        }
    }

    let lookup = |id: &str| -> Node {
        by_id
            .get(id)
            .map(|n| (*n).clone())
            .unwrap_or_else(|| node_from_ref(id))
    };
    let mut right: Vec<Entry> = out
        .iter()
        .map(|(id, labels)| Entry {
            node: lookup(id),
            outgoing: labels.iter().copied().collect(),
            incoming: inc
                .get(id)
                .map(|l| l.iter().copied().collect())
                .unwrap_or_default(),
        })
        .collect();
    let mut left: Vec<Entry> = inc
        .iter()
        .filter(|(id, _)| !out.contains_key(*id))
        .map(|(id, labels)| Entry {
            node: lookup(id),
            outgoing: Vec::new(),
            incoming: labels.iter().copied().collect(),
        })
        .collect();
    left.sort_by(|a, b| a.key(Side::Left).cmp(&b.key(Side::Left)));
    right.sort_by(|a, b| a.key(Side::Right).cmp(&b.key(Side::Right)));

    let left = layout(Side::Left, left, max_per_side);
    let right = layout(Side::Right, right, max_per_side);
    let content_h = column_height(&left)
        .max(column_height(&right))
        .max(NODE_H + 40.0);
    let height = content_h + 2.0 * PAD_Y;
    // Both columns are centred vertically, as is the center node.
    let left_off = (height - column_height(&left)) / 2.0;
    let right_off = (height - column_height(&right)) / 2.0;
    let center_y = (height - NODE_H) / 2.0;

    let gid = match slug(&center.id) {
        s if s.is_empty() => "graph-entity".to_owned(),
        s => format!("graph-{s}"),
    };
    let arrow_id = format!("{gid}-arrow");
    let title_id = format!("{gid}-title");
    let name = display_label(center);
    let summary = format!(
        "Relations of {name}: {} incoming, {} outgoing",
        left.total, right.total
    );
    let empty = left.total == 0 && right.total == 0;

    html! {
        svg class="graph" id=(gid) role="group" aria-labelledby=(title_id) aria-label=(summary)
            viewBox=(format!("0 0 {} {}", num(WIDTH), num(height))) width="100%"
            xmlns="http://www.w3.org/2000/svg" {
            title id=(title_id) { (summary) }
            defs {
                marker id=(arrow_id) viewBox="0 0 10 10" refX="9" refY="5"
                    markerWidth="8" markerHeight="8" orient="auto-start-reverse" {
                    path class="edge-arrow" d="M0 0L10 5L0 10z" fill="currentColor" {}
                }
            }
            @for col in [&left, &right] {
                @let off = if col.side == Side::Left { left_off } else { right_off };
                @for (y, entry) in &col.rows {
                    (edge(col.side, center_y, off + y, &entry.labels(col.side),
                        !entry.incoming.is_empty() && col.side == Side::Right, &arrow_id))
                }
                @if let Some((y, _)) = col.more {
                    (edge(col.side, center_y, off + y, "", false, &arrow_id))
                }
            }
            @for col in [&left, &right] {
                @let off = if col.side == Side::Left { left_off } else { right_off };
                @let x = if col.side == Side::Left { LEFT_X } else { RIGHT_X };
                @for (y, entry) in &col.rows {
                    (node_box(&entry.node, x, off + y, false))
                }
                @if let Some((y, hidden)) = col.more {
                    g class="node node-more" {
                        rect x=(num(x)) y=(num(off + y)) width=(num(NODE_W)) height=(num(NODE_H))
                            rx="8" {}
                        text class="node-label" x=(num(x + NODE_W / 2.0))
                            y=(num(off + y + NODE_H / 2.0 + 5.0)) text-anchor="middle" {
                            "+" (hidden) " more"
                        }
                    }
                }
            }
            (node_box(center, CENTER_X, center_y, true))
            @if empty {
                text class="graph-caption" x=(num(WIDTH / 2.0)) y=(num(center_y + NODE_H + 24.0))
                    text-anchor="middle" { "No relations" }
            }
        }
    }
}

/// Keeps the first `max` entries of a side, assigns their y offsets (relative to the
/// column's top) and adds the "+N more" box for the rest.
fn layout(side: Side, entries: Vec<Entry<'_>>, max: usize) -> Column<'_> {
    let total = entries.len();
    let mut rows = Vec::new();
    let mut y = 0.0;
    let mut prev_group: Option<String> = None;
    for entry in entries.into_iter().take(max) {
        let group = entry.key(side).0.to_owned();
        if let Some(prev) = &prev_group {
            y += NODE_H + ROW_GAP;
            if *prev != group {
                y += GROUP_GAP;
            }
        }
        prev_group = Some(group);
        rows.push((y, entry));
    }
    let more = (total > max).then(|| {
        let y = if rows.is_empty() {
            0.0
        } else {
            y + NODE_H + ROW_GAP + GROUP_GAP
        };
        (y, total - max)
    });
    Column {
        side,
        rows,
        more,
        total,
    }
}

/// The height taken by a column's boxes.
fn column_height(col: &Column<'_>) -> f64 {
    let last = col
        .more
        .map(|(y, _)| y)
        .or_else(|| col.rows.last().map(|(y, _)| *y));
    last.map_or(0.0, |y| y + NODE_H)
}

/// A curved connector between the center and a side node at `node_y`, with an arrowhead
/// pointing along the relation and its label near the side node.
fn edge(
    side: Side,
    center_y: f64,
    node_y: f64,
    label: &str,
    both_ways: bool,
    arrow_id: &str,
) -> Markup {
    let cy = center_y + NODE_H / 2.0;
    let ny = node_y + NODE_H / 2.0;
    // Paths always run from the source to the target so `marker-end` points the right way.
    let (x1, y1, x2, y2, label_x, anchor) = match side {
        Side::Left => {
            let sx = LEFT_X + NODE_W;
            (sx, ny, CENTER_X, cy, sx + 8.0, "start")
        }
        Side::Right => (CENTER_X + NODE_W, cy, RIGHT_X, ny, RIGHT_X - 8.0, "end"),
    };
    let d = curve((x1, y1), (x2, y2));
    let marker = format!("url(#{arrow_id})");
    let class = if label.is_empty() {
        "edge edge-more"
    } else {
        "edge"
    };
    html! {
        g class=(class) {
            path d=(d) fill="none" stroke="currentColor" marker-end=(marker)
                marker-start=[both_ways.then_some(&marker)] {}
            @if !label.is_empty() {
                text class="edge-label" x=(num(label_x)) y=(num(ny - 6.0)) text-anchor=(anchor) {
                    (label)
                }
            }
        }
    }
}

/// A node box: a rounded rect with the kind (small caps) above the (truncated) label,
/// the full text in a `<title>`, wrapped in a link when the node has a safe `href`.
pub(crate) fn node_box(node: &Node, x: f64, y: f64, is_center: bool) -> Markup {
    let kind = css_ident(&node.kind);
    let class = if is_center {
        format!("node node-center node-{kind}")
    } else {
        format!("node node-{kind}")
    };
    let label = display_label(node);
    let inner = html! {
        g class=(class) {
            title { (label) " (" (node.kind) ")" }
            rect x=(num(x)) y=(num(y)) width=(num(NODE_W)) height=(num(NODE_H)) rx="8" {}
            text class="node-kind" x=(num(x + NODE_W / 2.0)) y=(num(y + 17.0))
                text-anchor="middle" font-variant="small-caps" { (node.kind) }
            text class="node-label" x=(num(x + NODE_W / 2.0)) y=(num(y + 36.0))
                text-anchor="middle" { (truncate(&label, MAX_LABEL_CHARS)) }
        }
    };
    match node.href.as_deref().filter(|h| safe_href(h)) {
        Some(href) => html! { a class="node-link" href=(href) { (inner) } },
        None => inner,
    }
}

/// Builds a node for a ref that was not supplied: `kind:namespace/name` → kind and name.
fn node_from_ref(id: &str) -> Node {
    let (kind, rest) = id.split_once(':').unwrap_or(("entity", id));
    let name = rest.rsplit('/').next().unwrap_or(rest);
    Node {
        id: id.to_owned(),
        label: name.to_owned(),
        kind: kind.to_owned(),
        href: None,
    }
}

/// The node's label, or the name part of its ref when the label is blank.
fn display_label(node: &Node) -> String {
    if node.label.trim().is_empty() {
        node_from_ref(&node.id).label
    } else {
        node.label.clone()
    }
}

/// Truncates to `max` characters (not bytes), ending with "…" when shortened.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Only relative links and http(s)/mailto URLs are linked (no `javascript:` and friends).
fn safe_href(href: &str) -> bool {
    let h = href.trim();
    let scheme_end = h.find(':');
    let path_start = h.find(['/', '?', '#']);
    match (scheme_end, path_start) {
        (None, _) => !h.is_empty(),
        (Some(c), Some(p)) if p < c => true,
        (Some(c), _) => {
            let scheme = h[..c].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
    }
}

/// A kind turned into a CSS class suffix: lowercase ASCII alphanumerics and dashes.
fn css_ident(s: &str) -> String {
    let out = slug(s);
    if out.is_empty() {
        "unknown".to_owned()
    } else {
        out
    }
}

/// Lowercase ASCII alphanumerics separated by single dashes.
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Formats a coordinate compactly (at most two decimals, no `-0`).
/// An SVG path from `a` to `b`: a cubic curve leaving and arriving horizontally.
pub(crate) fn curve((x1, y1): (f64, f64), (x2, y2): (f64, f64)) -> String {
    let mid = (x1 + x2) / 2.0;
    format!(
        "M{} {} C{} {} {} {} {} {}",
        num(x1),
        num(y1),
        num(mid),
        num(y1),
        num(mid),
        num(y2),
        num(x2),
        num(y2)
    )
}

pub(crate) fn num(v: f64) -> String {
    crate::chart::fmt_num(v)
}
