//! The pages. Each handler loads what it shows (read model, store, DORA index) and draws it
//! with maud and `socle-ui`.

pub mod adoption;
pub mod catalog;
pub mod create;
pub mod data;
pub mod data_access;
pub mod data_quality;
pub mod data_runs;
pub mod deployments;
pub mod dora;
pub mod entity;
pub mod feedback;
pub mod home;
pub mod oidc;
pub mod scorecards;
pub mod signin;
pub mod slo;
pub mod surveys;
pub mod team;
pub mod tokens;

use socle_api::AppState;

/// The platform's environments in promotion order: development, staging, production (by
/// type), then by name.
pub fn environments(state: &AppState) -> Vec<String> {
    let rank = |t: &str| match t.to_ascii_lowercase().as_str() {
        "development" => 0,
        "staging" => 1,
        "production" => 2,
        _ => 3,
    };
    // A developer's own machine comes before the shared environments.
    let mut envs: Vec<(i32, bool, String)> = state
        .config
        .platform
        .environments
        .values()
        .map(|e| (rank(&e.env_type), e.name != "local", e.name.clone()))
        .collect();
    envs.sort();
    envs.into_iter().map(|(_, _, n)| n).collect()
}

/// Paths the render benchmark measures on a catalog (the first service, team and system found).
pub fn bench_paths(state: &AppState) -> Vec<String> {
    let snap = state.snapshot();
    let first = |kind: &str| {
        snap.entities
            .iter()
            .find(|e| e.kind() == kind)
            .map(|e| crate::layout::entity_href(&e.entity_ref))
    };
    let mut out = vec![
        "/".to_owned(),
        "/catalog".to_owned(),
        "/catalog?q=pay".to_owned(),
        "/catalog?kind=component&type=service&sort=name&page=3".to_owned(),
        "/dora".to_owned(),
        "/deployments".to_owned(),
        "/create".to_owned(),
    ];
    out.extend(first("component"));
    out.extend(first("group"));
    out.extend(first("system"));
    out
}
