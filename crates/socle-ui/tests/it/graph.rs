//! Tests for the entity relations graph.

use socle_ui::graph::{Edge, Node, dependency_graph};

fn node(id: &str, href: Option<&str>) -> Node {
    let (kind, rest) = id.split_once(':').expect("kind:namespace/name");
    let name = rest.rsplit('/').next().expect("name");
    Node {
        id: id.to_owned(),
        label: name.to_owned(),
        kind: kind.to_owned(),
        href: href.map(str::to_owned),
    }
}

fn edge(from: &str, to: &str, label: &str) -> Edge {
    Edge {
        from: from.to_owned(),
        to: to.to_owned(),
        label: label.to_owned(),
    }
}

const CART: &str = "component:default/cart-service";

fn center() -> Node {
    node(CART, Some("/catalog/default/component/cart-service"))
}

/// The `x` and `y` of the rect of the node whose `<title>` starts with `label (`.
fn position(svg: &str, label: &str) -> (f64, f64) {
    let marker = format!("<title>{label} (");
    let after = svg
        .split(&marker)
        .nth(1)
        .unwrap_or_else(|| panic!("no node {label} in {svg}"));
    let attr = |name: &str| -> f64 {
        let key = format!(" {name}=\"");
        after
            .split(&key)
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .expect("numeric attribute")
    };
    (attr("x"), attr("y"))
}

fn sample() -> (Vec<Node>, Vec<Edge>) {
    let nodes = vec![
        node(
            "api:default/cart-api",
            Some("/catalog/default/api/cart-api"),
        ),
        node("component:default/payments", None),
        node(
            "group:default/team-a",
            Some("/catalog/default/group/team-a"),
        ),
        node("component:default/storefront", None),
        node("system:default/shop", None),
        node("component:default/unrelated", None),
    ];
    let edges = vec![
        edge(CART, "api:default/cart-api", "providesApi"),
        edge(CART, "component:default/payments", "dependsOn"),
        edge(CART, "group:default/team-a", "ownedBy"),
        edge("group:default/team-a", CART, "ownerOf"),
        edge("component:default/storefront", CART, "dependsOn"),
        edge("system:default/shop", CART, "hasPart"),
        // Does not touch the center: ignored.
        edge(
            "component:default/unrelated",
            "component:default/payments",
            "dependsOn",
        ),
    ];
    (nodes, edges)
}

#[test]
fn incoming_left_outgoing_right() {
    let (nodes, edges) = sample();
    let svg = dependency_graph(&center(), &nodes, &edges, 8).into_string();
    let (cx, _) = position(&svg, "cart-service");
    assert_eq!(cx, 380.0);
    for outgoing in ["cart-api", "payments", "team-a"] {
        assert_eq!(position(&svg, outgoing).0, 736.0, "{outgoing} goes right");
    }
    for incoming in ["storefront", "shop"] {
        assert_eq!(position(&svg, incoming).0, 24.0, "{incoming} goes left");
    }
    assert!(
        !svg.contains("unrelated"),
        "edges not touching the center are ignored"
    );
    // team-a is related both ways: it is on the right, and its connector has two arrowheads.
    assert_eq!(svg.matches("marker-start=").count(), 1);
    assert!(svg.contains(">ownedBy, ← ownerOf</text>"), "{svg}");
    assert!(svg.contains(r#"aria-label="Relations of cart-service: 2 incoming, 3 outgoing""#));
    assert!(svg.contains("<title id=\"graph-component-default-cart-service-title\">Relations of cart-service: 2 incoming, 3 outgoing</title>"));
    assert!(svg.contains(r#"role="group""#) && !svg.contains(r#"role="img""#));
}

#[test]
fn columns_are_grouped_by_relation_then_id() {
    let (nodes, edges) = sample();
    let svg = dependency_graph(&center(), &nodes, &edges, 8).into_string();
    // Right column: dependsOn (payments) < ownedBy (team-a) < providesApi (cart-api).
    let y = |label| position(&svg, label).1;
    assert!(y("payments") < y("team-a") && y("team-a") < y("cart-api"));
    // Left column: dependsOn (storefront) < hasPart (shop).
    assert!(y("storefront") < y("shop"));

    let many: Vec<Edge> = ["c", "a", "b"]
        .iter()
        .map(|n| edge(&format!("component:default/{n}"), CART, "dependsOn"))
        .collect();
    let svg = dependency_graph(&center(), &[], &many, 8).into_string();
    let y = |label| position(&svg, label).1;
    assert!(y("a") < y("b") && y("b") < y("c"));
}

#[test]
fn more_box_when_over_the_cap() {
    let edges: Vec<Edge> = (0..7)
        .map(|i| edge(&format!("component:default/client-{i}"), CART, "dependsOn"))
        .collect();
    let svg = dependency_graph(&center(), &[], &edges, 3).into_string();
    assert!(svg.contains(">+4 more</text>"), "{svg}");
    for shown in ["client-0", "client-1", "client-2"] {
        assert!(svg.contains(&format!(">{shown}</text>")), "{shown}");
    }
    for hidden in ["client-3", "client-6"] {
        assert!(!svg.contains(hidden), "{hidden} is hidden");
    }
    // Totals still count every relation.
    assert!(svg.contains("7 incoming, 0 outgoing"));
    // At the cap exactly: no "+N more".
    let svg = dependency_graph(&center(), &[], &edges[..3], 3).into_string();
    assert!(!svg.contains("more</text>"));
}

#[test]
fn height_grows_with_the_larger_column() {
    let viewbox_height = |svg: &str| -> f64 {
        svg.split("viewBox=\"0 0 960 ")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .expect("viewBox")
    };
    let edges = |n: usize| -> Vec<Edge> {
        (0..n)
            .map(|i| edge(CART, &format!("api:default/api-{i}"), "providesApi"))
            .collect()
    };
    let small = dependency_graph(&center(), &[], &edges(1), 10).into_string();
    let large = dependency_graph(&center(), &[], &edges(6), 10).into_string();
    assert!(viewbox_height(&large) > viewbox_height(&small));
    assert!(large.contains(r#"width="100%""#));
}

#[test]
fn labels_are_escaped_and_truncated() {
    let evil = Node {
        id: "component:default/evil".to_owned(),
        label: "<script>alert(1)</script>".to_owned(),
        kind: "component".to_owned(),
        href: None,
    };
    let long = Node {
        id: "component:default/long".to_owned(),
        label: "a-really-long-component-name-that-does-not-fit".to_owned(),
        kind: "component".to_owned(),
        href: None,
    };
    let edges = [
        edge(CART, &evil.id, "<b>dependsOn</b>"),
        edge(CART, &long.id, "dependsOn"),
    ];
    let svg = dependency_graph(&center(), &[evil, long], &edges, 8).into_string();
    assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(svg.contains(">&lt;b&gt;dependsOn&lt;/b&gt;</text>"));
    assert!(svg.contains(">a-really-long-component-n…</text>"), "{svg}");
    assert!(
        svg.contains("<title>a-really-long-component-name-that-does-not-fit (component)</title>")
    );
}

#[test]
fn links_and_kind_classes() {
    let (nodes, edges) = sample();
    let svg = dependency_graph(&center(), &nodes, &edges, 8).into_string();
    assert!(svg.contains(
        r#"<a class="node-link" href="/catalog/default/api/cart-api"><g class="node node-api">"#
    ));
    assert!(svg.contains(
        r#"<a class="node-link" href="/catalog/default/group/team-a"><g class="node node-group">"#
    ));
    assert!(svg.contains(r#"<a class="node-link" href="/catalog/default/component/cart-service"><g class="node node-center node-component">"#));
    // Nodes without href are not links.
    assert_eq!(svg.matches("<a ").count(), 3);
    assert!(svg.contains(r#"<g class="node node-system">"#));

    let bad = Node {
        href: Some("javascript:alert(1)".to_owned()),
        ..node("api:default/x", None)
    };
    let svg = dependency_graph(
        &center(),
        &[bad],
        &[edge(CART, "api:default/x", "providesApi")],
        8,
    )
    .into_string();
    assert!(!svg.contains("javascript"), "{svg}");
}

#[test]
fn unknown_nodes_are_drawn_from_their_ref() {
    let svg = dependency_graph(
        &center(),
        &[],
        &[edge(CART, "resource:default/orders-db", "dependsOn")],
        8,
    )
    .into_string();
    assert!(svg.contains(r#"<g class="node node-resource">"#));
    assert!(svg.contains(">orders-db</text>"));
}

#[test]
fn no_relations_still_draws_the_center() {
    let svg = dependency_graph(&center(), &[], &[], 8).into_string();
    assert!(svg.contains(">No relations</text>"));
    assert!(svg.contains("0 incoming, 0 outgoing"));
    assert!(svg.contains(r#"class="node node-center node-component""#));
    assert!(!svg.contains(r#"<g class="edge"#));
}

#[test]
fn snapshot_small_graph() {
    let (nodes, edges) = sample();
    let svg = dependency_graph(&center(), &nodes, &edges, 2).into_string();
    insta::assert_snapshot!(svg.replace("><", ">\n<"));
}
