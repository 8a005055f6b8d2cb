//! Shared fixtures and helpers.

use socle_search::{FacetCount, SearchDoc, SearchIndex, SearchQuery, SearchResults};

#[allow(clippy::too_many_arguments)]
pub fn doc(
    entity_ref: &str,
    title: Option<&str>,
    description: Option<&str>,
    tags: &[&str],
    owner: Option<&str>,
    spec_type: Option<&str>,
    lifecycle: Option<&str>,
) -> SearchDoc {
    let (kind, rest) = entity_ref.split_once(':').expect("kind");
    let (namespace, name) = rest.split_once('/').expect("namespace");
    SearchDoc {
        entity_ref: entity_ref.to_owned(),
        kind: kind.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        title: title.map(str::to_owned),
        description: description.map(str::to_owned),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        owner: owner.map(str::to_owned),
        spec_type: spec_type.map(str::to_owned),
        lifecycle: lifecycle.map(str::to_owned),
        system: None,
    }
}

pub const TEAM_A: &str = "group:default/team-a";
pub const TEAM_B: &str = "group:default/team-b";
pub const TEAM_C: &str = "group:default/team-c";

/// Ten entities with hand-computed facet counts (see `facets.rs`).
pub fn catalog() -> Vec<SearchDoc> {
    vec![
        doc(
            "component:default/payments-api",
            Some("Payments API"),
            Some("Handles card payments"),
            &["java", "payments"],
            Some(TEAM_A),
            Some("service"),
            Some("production"),
        ),
        doc(
            "component:default/payments-worker",
            None,
            Some("Background jobs for payments"),
            &["java"],
            Some(TEAM_A),
            Some("service"),
            Some("experimental"),
        ),
        doc(
            "api:default/payments",
            Some("Payments REST API"),
            None,
            &["rest", "payments"],
            Some(TEAM_A),
            Some("openapi"),
            Some("production"),
        ),
        doc(
            "component:default/checkout-web",
            None,
            Some("Checkout UI: calls the payments API"),
            &["react", "frontend"],
            Some(TEAM_B),
            Some("website"),
            Some("production"),
        ),
        doc(
            "component:default/search",
            None,
            Some("Full-text search service"),
            &["rust"],
            Some(TEAM_B),
            Some("service"),
            Some("production"),
        ),
        doc(
            "resource:default/payments-db",
            None,
            None,
            &["postgres"],
            Some(TEAM_A),
            Some("database"),
            None,
        ),
        doc(
            "system:default/commerce",
            Some("Commerce platform"),
            None,
            &[],
            Some(TEAM_C),
            None,
            None,
        ),
        doc(
            "component:default/inventory",
            None,
            Some("Stock levels, legacy monolith"),
            &["java", "Legacy"],
            Some(TEAM_C),
            Some("service"),
            Some("deprecated"),
        ),
        doc(
            "group:default/team-a",
            Some("Team A"),
            None,
            &[],
            None,
            Some("team"),
            None,
        ),
        doc(
            "user:default/jdoe",
            Some("Jane Doe"),
            None,
            &[],
            None,
            None,
            None,
        ),
    ]
}

pub fn catalog_index() -> SearchIndex {
    SearchIndex::build(catalog()).expect("build")
}

pub fn text(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.to_owned(),
        ..Default::default()
    }
}

pub fn refs(res: &SearchResults) -> Vec<&str> {
    res.hits.iter().map(|h| h.entity_ref.as_str()).collect()
}

pub fn sorted_refs(res: &SearchResults) -> Vec<&str> {
    let mut r = refs(res);
    r.sort_unstable();
    r
}

pub fn counts(facet: &[FacetCount]) -> Vec<(&str, u64)> {
    facet.iter().map(|f| (f.value.as_str(), f.count)).collect()
}

/// Asserts the hits are ordered by score desc, then entity ref asc.
pub fn assert_ranked(res: &SearchResults) {
    for pair in res.hits.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a.score > b.score || (a.score == b.score && a.entity_ref < b.entity_ref),
            "bad order: {} ({}) before {} ({})",
            a.entity_ref,
            a.score,
            b.entity_ref,
            b.score
        );
    }
}
