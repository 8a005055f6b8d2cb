//! What adoption reports read: runs with their start and entity, first deployments, weekly
//! counts of active people. On SQLite and PostgreSQL.

use socle_store::{
    ActivityCount, AdoptionWeekCounts, DeploymentRecord, DeploymentStatus, RunStatus, Store,
    TemplateRun,
};

use super::open;

/// Monday 2026-10-19T00:00:00Z.
const W0: i64 = 1_792_368_000_000;
const DAY: i64 = 86_400_000;

fn run(
    status: RunStatus,
    dry_run: bool,
    started: Option<i64>,
    entity: Option<&str>,
) -> TemplateRun {
    TemplateRun {
        id: String::new(),
        seq: 0,
        template: "rust-axum-service".into(),
        actor: "user:default/ann".into(),
        status,
        dry_run,
        parameters: serde_json::json!({}),
        steps: serde_json::json!([]),
        log: serde_json::json!([]),
        output: serde_json::json!({}),
        error: None,
        created_at: started.unwrap_or(W0) + 60_000,
        started_at: started,
        entity: entity.map(str::to_owned),
    }
}

async fn runs_keep_their_start_and_entity_and_dry_runs_are_left_out(store: &Store) {
    store
        .record_template_run(run(
            RunStatus::Completed,
            false,
            Some(W0),
            Some("component:default/a"),
        ))
        .await
        .unwrap();
    store
        .record_template_run(run(
            RunStatus::Completed,
            true,
            Some(W0 + 1),
            Some("component:default/x"),
        ))
        .await
        .unwrap();
    store
        .record_template_run(run(RunStatus::Failed, false, None, None))
        .await
        .unwrap();
    let runs = store.adoption_runs().await.unwrap();
    let got: Vec<_> = runs
        .iter()
        .map(|r| {
            (
                r.id.as_str(),
                r.status,
                r.started_at,
                r.finished_at,
                r.entity.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "run-1",
                RunStatus::Completed,
                Some(W0),
                W0 + 60_000,
                Some("component:default/a")
            ),
            ("run-3", RunStatus::Failed, None, W0 + 60_000, None),
        ]
    );
    let full = store.get_template_run("run-1").await.unwrap().unwrap();
    assert_eq!(full.entity.as_deref(), Some("component:default/a"));
}
both!(runs_keep_their_start_and_entity_and_dry_runs_are_left_out);

fn deployment(service: &str, status: DeploymentStatus, at: i64) -> DeploymentRecord {
    DeploymentRecord {
        id: String::new(),
        seq: 0,
        service: service.into(),
        environment: "dev".into(),
        version: "1".into(),
        images: vec![],
        gitops_commit: String::new(),
        source_commit: String::new(),
        changed: true,
        status,
        actor: "user:default/ann".into(),
        kind: "deploy".into(),
        spec: "{}".into(),
        created_at: at,
    }
}

async fn a_services_first_deployment_is_its_first_success(store: &Store) {
    for (s, status, at) in [
        ("a", DeploymentStatus::Failed, W0),
        ("a", DeploymentStatus::Success, W0 + 5),
        ("a", DeploymentStatus::Success, W0 + 9),
        ("b", DeploymentStatus::Success, W0 + 7),
        ("c", DeploymentStatus::Failed, W0 + 1),
    ] {
        store
            .record_deployment(deployment(s, status, at))
            .await
            .unwrap();
    }
    let first: Vec<(String, i64)> = store
        .first_deployments()
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.service, f.at))
        .collect();
    assert_eq!(first, [("a".to_owned(), W0 + 5), ("b".to_owned(), W0 + 7)]);
}
both!(a_services_first_deployment_is_its_first_success);

async fn active_people_are_counted_per_week_portal_apart_from_cli_and_api(store: &Store) {
    let audit = |who: &'static str, action: &'static str, outcome: &'static str, at: i64| {
        store.audit(who, action, "t", outcome, "", at)
    };
    // Week 1: ann and bob open portal sessions (ann twice); cy deploys without a session; bob
    // deploys too (a portal user that week); a service account and a refused attempt are
    // not counted.
    audit("user:default/ann", "session.open", "ok", W0 + 1)
        .await
        .unwrap();
    audit("user:default/ann", "session.open", "ok", W0 + DAY)
        .await
        .unwrap();
    audit("user:default/bob", "session.open", "ok", W0 + 2 * DAY)
        .await
        .unwrap();
    audit("user:default/bob", "deployment.deploy", "ok", W0 + 3 * DAY)
        .await
        .unwrap();
    audit("user:default/cy", "deployment.deploy", "ok", W0 + 3 * DAY)
        .await
        .unwrap();
    audit("user:default/cy", "template.run", "ok", W0 + 4 * DAY)
        .await
        .unwrap();
    audit("serviceaccount:ci", "deployment.deploy", "ok", W0 + 3 * DAY)
        .await
        .unwrap();
    audit(
        "user:default/dan",
        "deployment.deploy",
        "denied",
        W0 + 3 * DAY,
    )
    .await
    .unwrap();
    // Week 3: bob deploys without a session that week (his session was in week 1).
    audit("user:default/bob", "deployment.deploy", "ok", W0 + 15 * DAY)
        .await
        .unwrap();
    // Outside the window.
    audit("user:default/eve", "session.open", "ok", W0 + 30 * DAY)
        .await
        .unwrap();
    let weeks = store.weekly_activity(W0, W0 + 21 * DAY).await.unwrap();
    assert_eq!(
        weeks,
        [
            ActivityCount {
                week: W0,
                portal_users: 2,
                cli_api_users: 1
            },
            ActivityCount {
                week: W0 + 14 * DAY,
                portal_users: 0,
                cli_api_users: 1
            },
        ]
    );
}
both!(active_people_are_counted_per_week_portal_apart_from_cli_and_api);

fn counts(scope: &str, services: i64, docs: i64, slo: i64) -> AdoptionWeekCounts {
    AdoptionWeekCounts {
        scope: scope.into(),
        services,
        golden_path: 1,
        deployed: 2,
        with_docs: docs,
        with_slo: slo,
    }
}

async fn a_week_is_snapshotted_once(store: &Store) {
    let org = counts("organisation", 5, 2, 1);
    let team = counts("group:default/a", 3, 1, 1);
    // Tuesday of the week, then Sunday of the same week with other counts: the first stays.
    assert!(
        store
            .save_adoption_week(W0 + DAY + 5, &org, std::slice::from_ref(&team))
            .await
            .unwrap()
    );
    let later = counts("organisation", 9, 9, 9);
    let new_team = counts("group:default/b", 4, 4, 4);
    assert!(
        !store
            .save_adoption_week(W0 + 6 * DAY, &later, &[new_team])
            .await
            .unwrap()
    );
    let org_weeks = store
        .adoption_weeks("organisation", W0 - 7 * DAY, W0 + 14 * DAY)
        .await
        .unwrap();
    assert_eq!(org_weeks.len(), 1);
    assert_eq!(org_weeks[0].week, W0);
    assert_eq!(org_weeks[0].taken_at, W0 + DAY + 5);
    assert_eq!(org_weeks[0].counts, org);
    // The second attempt added no team row either.
    let b = store
        .adoption_weeks("group:default/b", W0, W0 + 7 * DAY)
        .await
        .unwrap();
    assert!(b.is_empty(), "{b:?}");
    let a = store
        .adoption_weeks("group:default/a", W0, W0 + 7 * DAY)
        .await
        .unwrap();
    assert_eq!(a.iter().map(|w| &w.counts).collect::<Vec<_>>(), [&team]);
}
both!(a_week_is_snapshotted_once);

async fn concurrent_snapshots_of_a_week_store_one(store: &Store) {
    let tries = (0..4).map(|i| {
        let store = store.clone();
        async move {
            store
                .save_adoption_week(
                    W0 + 7 * DAY + i,
                    &counts("organisation", 10 + i, 1, 1),
                    &[counts("group:default/a", i, 0, 0)],
                )
                .await
                .unwrap()
        }
    });
    let taken = futures_util::future::join_all(tries).await;
    assert_eq!(taken.iter().filter(|t| **t).count(), 1, "{taken:?}");
    let org = store
        .adoption_weeks("organisation", W0, W0 + 14 * DAY)
        .await
        .unwrap();
    let a = store
        .adoption_weeks("group:default/a", W0, W0 + 14 * DAY)
        .await
        .unwrap();
    assert_eq!((org.len(), a.len()), (1, 1));
    // Both rows from the same attempt.
    assert_eq!(org[0].taken_at, a[0].taken_at);
    assert_eq!(org[0].counts.services - 10, a[0].counts.services);
}
both!(concurrent_snapshots_of_a_week_store_one);
