//! The lineage SVG: columns by level, arrows along the data flow, escaping, the "+N more" box,
//! and a golden file.

use std::collections::BTreeMap;

use socle_ui::graph::Node;
use socle_ui::lineage::{Placed, lineage_graph};

fn placed(id: &str, level: i32) -> Placed {
    let kind = id.split_once(':').map_or("entity", |(k, _)| k);
    Placed {
        node: Node {
            id: id.into(),
            label: id.rsplit('/').next().unwrap().into(),
            kind: kind.into(),
            href: Some(format!(
                "/catalog/{kind}/default/{}",
                id.rsplit('/').next().unwrap()
            )),
        },
        level,
    }
}

fn chain() -> (Vec<Placed>, Vec<(String, String)>) {
    let nodes = vec![
        placed("component:default/ingest", -2),
        placed("datacontract:default/raw", -1),
        placed("datacontract:default/orders", 0),
        placed("datacontract:default/revenue", 1),
    ];
    let edges = vec![
        (
            "component:default/ingest".into(),
            "datacontract:default/raw".into(),
        ),
        (
            "datacontract:default/raw".into(),
            "datacontract:default/orders".into(),
        ),
        (
            "datacontract:default/orders".into(),
            "datacontract:default/revenue".into(),
        ),
    ];
    (nodes, edges)
}

#[test]
fn each_edge_is_one_arrow_from_left_to_right() {
    let (nodes, edges) = chain();
    let svg = lineage_graph(
        "datacontract:default/orders",
        &nodes,
        &edges,
        &BTreeMap::new(),
    )
    .into_string();
    assert_eq!(svg.matches("class=\"edge\"").count(), 3);
    assert!(
        svg.contains("Lineage of orders: 2 upstream, 1 downstream"),
        "{svg}"
    );
    assert_eq!(svg.matches("node-center").count(), 1);
    // Columns left to right: ingest, raw, orders, revenue (box x = 20 + level index * 264).
    for (name, x) in [
        ("ingest", 20),
        ("raw", 284),
        ("orders", 548),
        ("revenue", 812),
    ] {
        let at = svg.find(&format!(">{name}</text>")).unwrap();
        let rect = svg[..at].rfind("<rect x=\"").unwrap();
        assert!(
            svg[rect..].starts_with(&format!("<rect x=\"{x}\"")),
            "{name}: {}",
            &svg[rect..rect + 20]
        );
    }
}

#[test]
fn an_edge_to_a_node_not_drawn_is_left_out() {
    let (nodes, mut edges) = chain();
    edges.push((
        "datacontract:default/elsewhere".into(),
        "datacontract:default/orders".into(),
    ));
    let svg = lineage_graph(
        "datacontract:default/orders",
        &nodes,
        &edges,
        &BTreeMap::new(),
    )
    .into_string();
    assert_eq!(svg.matches("class=\"edge\"").count(), 3);
}

#[test]
fn levels_cut_short_end_with_a_more_box_counted_in_the_summary() {
    let (nodes, edges) = chain();
    let more = BTreeMap::from([(-1, 7)]);
    let svg = lineage_graph("datacontract:default/orders", &nodes, &edges, &more).into_string();
    assert!(svg.contains("+7 more"), "{svg}");
    assert!(svg.contains("9 upstream"), "{svg}");
}

#[test]
fn labels_and_links_are_escaped() {
    let mut nodes = chain().0;
    nodes[1].node.label = "<script>alert(1)</script>".into();
    nodes[3].node.href = Some("javascript:alert(1)".into());
    let svg =
        lineage_graph("datacontract:default/orders", &nodes, &[], &BTreeMap::new()).into_string();
    assert!(!svg.contains("<script>"));
    assert!(svg.contains("&lt;script&gt;"));
    assert!(!svg.contains("javascript:"));
}

#[test]
fn snapshot_of_a_small_lineage() {
    let (nodes, edges) = chain();
    let svg = lineage_graph(
        "datacontract:default/orders",
        &nodes,
        &edges,
        &BTreeMap::new(),
    )
    .into_string();
    insta::assert_snapshot!(svg.replace("><", ">\n<"));
}
