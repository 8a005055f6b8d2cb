//! `kind: ResourceGrant` documents: loaded with their teams as full references, checked, matched.

use socle_catalog::Limits;
use socle_platform::config::default_files;
use socle_platform::{SharedResource, load_config};

fn load(grant: &str) -> Result<socle_platform::PlatformConfig, Vec<socle_platform::ConfigError>> {
    let mut files = default_files();
    files.push(("grants.yaml".into(), grant.into()));
    load_config(&files, &Limits::default())
}

fn grant(spec: &str) -> String {
    format!(
        "apiVersion: socle.dev/v1alpha1\nkind: ResourceGrant\nmetadata:\n  name: g\nspec:\n  type: postgres\n  id: orders-db\n{spec}"
    )
}

fn orders_db(environment: &str) -> SharedResource<'_> {
    SharedResource {
        environment,
        kind: "postgres",
        class: None,
        id: "orders-db",
    }
}

#[test]
fn a_grant_names_teams_as_group_references() {
    let c = load(&grant("  teams: [team-b, group:finance/payroll]\n")).unwrap();
    assert_eq!(
        c.grants[0].teams,
        ["group:default/team-b", "group:finance/payroll"]
    );
    assert_eq!(c.grants[0].source, "grants.yaml:1");
}

#[test]
fn a_grant_matches_its_team_type_id_and_environments() {
    let c = load(&grant("  teams: [team-b]\n  environments: [dev]\n")).unwrap();
    assert_eq!(
        c.grant_for(&orders_db("dev"), "group:default/team-b")
            .map(|g| g.name.as_str()),
        Some("g")
    );
    assert!(
        c.grant_for(&orders_db("prod"), "group:default/team-b")
            .is_none()
    );
    assert!(
        c.grant_for(&orders_db("dev"), "group:default/team-c")
            .is_none()
    );
    let other = SharedResource {
        id: "billing-db",
        ..orders_db("dev")
    };
    assert!(c.grant_for(&other, "group:default/team-b").is_none());
}

#[test]
fn a_grant_with_a_class_matches_only_that_class() {
    let c = load(&grant("  class: large\n  teams: [team-b]\n")).unwrap();
    assert!(
        c.grant_for(&orders_db("dev"), "group:default/team-b")
            .is_none()
    );
    let large = SharedResource {
        class: Some("large"),
        ..orders_db("dev")
    };
    assert!(c.grant_for(&large, "group:default/team-b").is_some());
}

#[test]
fn a_grant_to_a_user_is_an_error() {
    let e = load(&grant("  teams: [user:default/mallory]\n")).unwrap_err();
    assert_eq!(
        (e[0].rule.as_str(), e[0].path.as_str()),
        ("grant.teams", "spec.teams[0]")
    );
    assert!(
        e[0].message.contains("user:default/mallory is not a group"),
        "{}",
        e[0].message
    );
}

#[test]
fn a_grant_for_an_unknown_environment_is_an_error() {
    let e = load(&grant("  teams: [team-b]\n  environments: [qa]\n")).unwrap_err();
    assert_eq!(e[0].rule, "grant.environment");
    assert_eq!(e[0].line, Some(1));
    assert!(
        e[0].message
            .contains("names environment \"qa\", which this platform does not define"),
        "{}",
        e[0].message
    );
}

#[test]
fn a_grant_without_teams_is_an_error() {
    let e = load(&grant("  teams: []\n")).unwrap_err();
    assert_eq!(e[0].rule, "grant.teams");
}
