//! Scanner findings: opened, kept open while reported, closed when their tool's next import
//! for the entity no longer reports them, reopened with a new age. On SQLite and PostgreSQL.

use socle_store::{FindingsImported, NewFinding, Store};

use super::open;

const E: &str = "component:default/shop";

fn f(tool: &str, key: &str, severity: &str) -> NewFinding {
    NewFinding {
        tool: tool.into(),
        key: key.into(),
        rule: format!("rule-{key}"),
        severity: severity.into(),
        message: "m".into(),
        location: "src/a.py:3".into(),
    }
}

fn tools(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| s.to_string()).collect()
}

async fn a_finding_not_reported_again_is_closed(store: &Store) {
    let first = store
        .import_findings(
            E,
            &tools(&["bandit"]),
            &[f("bandit", "a", "high"), f("bandit", "b", "low")],
            1_000,
        )
        .await
        .unwrap();
    assert_eq!(
        first,
        FindingsImported {
            opened: 2,
            still_open: 0,
            closed: 0
        }
    );
    let second = store
        .import_findings(E, &tools(&["bandit"]), &[f("bandit", "a", "high")], 1_000)
        .await
        .unwrap();
    assert_eq!(
        second,
        FindingsImported {
            opened: 0,
            still_open: 1,
            closed: 1
        }
    );
    let open = store.entity_findings(E, false).await.unwrap();
    assert_eq!(
        open.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
    let all = store.entity_findings(E, true).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].closed_at, Some(1_000));
}
both!(a_finding_not_reported_again_is_closed);

async fn another_tools_import_leaves_findings_alone(store: &Store) {
    store
        .import_findings(E, &tools(&["bandit"]), &[f("bandit", "a", "high")], 1)
        .await
        .unwrap();
    let out = store
        .import_findings(E, &tools(&["trivy"]), &[f("trivy", "x", "critical")], 2)
        .await
        .unwrap();
    assert_eq!(out.closed, 0);
    // Nor does an import for another entity.
    store
        .import_findings("component:default/other", &tools(&["bandit"]), &[], 3)
        .await
        .unwrap();
    assert_eq!(store.entity_findings(E, false).await.unwrap().len(), 2);
    assert_eq!(store.open_findings().await.unwrap().len(), 2);
}
both!(another_tools_import_leaves_findings_alone);

async fn a_reopened_finding_ages_from_its_return(store: &Store) {
    store
        .import_findings(E, &tools(&["t"]), &[f("t", "a", "critical")], 10)
        .await
        .unwrap();
    store
        .import_findings(E, &tools(&["t"]), &[], 20)
        .await
        .unwrap();
    let out = store
        .import_findings(E, &tools(&["t"]), &[f("t", "a", "critical")], 30)
        .await
        .unwrap();
    assert_eq!(out.opened, 1);
    let open = store.entity_findings(E, false).await.unwrap();
    assert_eq!(
        (open[0].first_seen, open[0].last_seen, open[0].closed_at),
        (30, 30, None)
    );
}
both!(a_reopened_finding_ages_from_its_return);

async fn a_finding_still_open_keeps_its_first_seen(store: &Store) {
    store
        .import_findings(E, &tools(&["t"]), &[f("t", "a", "high")], 10)
        .await
        .unwrap();
    store
        .import_findings(E, &tools(&["t"]), &[f("t", "a", "critical")], 50)
        .await
        .unwrap();
    let open = store.entity_findings(E, false).await.unwrap();
    assert_eq!(
        (
            open[0].first_seen,
            open[0].last_seen,
            open[0].severity.as_str()
        ),
        (10, 50, "critical")
    );
}
both!(a_finding_still_open_keeps_its_first_seen);
