//! Deploys through `App`: the application's clock stamps records and audit rows, and every
//! attempt is audited with its outcome.

use std::sync::Arc;

use socle_app::deploy::DeployInput;
use socle_app::{Actor, App, AppConfig, ErrorCode, FixedClock, Principal};
use socle_store::{Role, Store};
use socle_testkit::Backend;

const SHOP: &str =
    "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: .\n";
const T0: i64 = 1_780_000_000_000;

/// The application on `backend` (None: PostgreSQL is not configured).
async fn app(backend: Backend, dir: &std::path::Path) -> Option<Arc<App>> {
    let config = socle_testkit::store_config(backend, dir, "socle_app")?;
    let store = Store::open(&config).await.unwrap();
    let settings = AppConfig {
        refresh_interval: None,
        gitops_root: dir.join("gitops"),
        ..Default::default()
    };
    Some(
        App::with_clock(store, settings, FixedClock::at(T0))
            .await
            .unwrap(),
    )
}

fn actor(subject: &str, role: Role) -> Actor {
    Actor::Principal(Principal {
        token_id: "t".into(),
        subject: subject.into(),
        role,
    })
}

fn input() -> DeployInput {
    DeployInput {
        workload: SHOP.into(),
        environment: "dev".into(),
        image: Some("ghcr.io/acme/shop:1".into()),
        version: None,
        source_commit: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_applications_clock_stamps_the_deploy_and_its_audit_row() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let d = app
            .deploy(&actor("serviceaccount:ci", Role::Admin), input())
            .await
            .unwrap();
        assert_eq!(d.created_at, T0);
        let log = app.store.audit_log(10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(
            (
                log[0].at,
                log[0].action.as_str(),
                log[0].target.as_str(),
                log[0].outcome.as_str()
            ),
            (T0, "deployment.deploy", "shop@dev", "ok")
        );
        assert_eq!(
            log[0].detail, d.gitops_commit,
            "the detail is the GitOps commit"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_deploy_is_audited_as_denied_and_commits_nothing() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let e = app
            .deploy(&actor("user:default/val", Role::Viewer), input())
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        let e = app.deploy(&Actor::Anonymous, input()).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Unauthenticated);
        let outcomes: Vec<(String, String)> = app
            .store
            .audit_log(10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.actor, e.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("anonymous".to_owned(), "denied".to_owned()),
                ("user:default/val".to_owned(), "denied".to_owned()),
            ]
        );
        assert!(
            app.store
                .list_deployments(None, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(!dir.path().join("gitops/dev.git").exists());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_of_no_owning_team_may_not_deploy_an_unowned_service() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let e = app
            .deploy(&actor("user:default/ann", Role::Member), input())
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        assert!(
            e.message.contains("not in the catalog or has no owner"),
            "{e}"
        );
    }
}

const ORG: &str = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\n  annotations:\n    socle.dev/service-accounts: ci, release-bot\nspec:\n  type: team\n  children: []\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-b\nspec:\n  type: team\n  children: []\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: shop\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: search\nspec:\n  type: service\n  lifecycle: production\n  owner: team-b\n";

/// The organisation's catalog, registered by an admin.
async fn with_org(app: &App, dir: &std::path::Path) {
    let file = dir.join("org.yaml");
    std::fs::write(&file, ORG).unwrap();
    let spec = socle_ingest::LocationSpec::file(file.to_string_lossy().into_owned());
    app.store
        .add_location(
            &spec.key(),
            &serde_json::to_value(&spec).unwrap(),
            "user:default/admin",
            socle_store::LocationTrust::Organisation,
            T0,
        )
        .await
        .unwrap();
    app.refresh(&spec).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_listed_by_a_team_deploys_that_teams_services_only() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        with_org(&app, dir.path()).await;
        let ci = actor("serviceaccount:ci", Role::Member);
        assert_eq!(
            app.authorize_deploy(&ci, "shop").unwrap(),
            "serviceaccount:ci"
        );
        let e = app.authorize_deploy(&ci, "search").unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        let other = actor("serviceaccount:nightly", Role::Member);
        assert_eq!(
            app.authorize_deploy(&other, "shop").unwrap_err().code,
            ErrorCode::Forbidden
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_loop_deploys_promotes_rolls_back_and_is_blocked_once_then_never_again() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let app = with_guardrails(app, dir.path()).await;
        with_org(&app, dir.path()).await;
        let services = ["shop".to_owned(), "search".to_owned()];
        let done = socle_app::demo::play_loop(&app, &services).await.unwrap();
        assert_eq!(
            done,
            socle_app::demo::DemoLoop {
                deployed: 4,
                promoted: 4,
                rolled_back: 1,
                blocked: 1
            }
        );
        let prod = app
            .store
            .list_deployments(None, Some("prod"), 10)
            .await
            .unwrap();
        assert_eq!(prod.len(), 2);
        let again = socle_app::demo::play_loop(&app, &services).await.unwrap();
        assert_eq!(
            again,
            socle_app::demo::DemoLoop::default(),
            "a restart plays nothing"
        );
    }
}

/// `app` with the built-in guardrails (the demo's blocked deploy needs them).
async fn with_guardrails(app: Arc<App>, dir: &std::path::Path) -> Arc<App> {
    let store = app.store.clone();
    drop(app);
    let settings = AppConfig {
        refresh_interval: None,
        gitops_root: dir.join("gitops"),
        guardrails: Some(socle_policy::PolicySet::builtin(None).unwrap()),
        ..Default::default()
    };
    App::with_clock(store, settings, FixedClock::at(T0))
        .await
        .unwrap()
}

/// Runs `git` in `dir` with a fixed author and commit date.
fn git(dir: &std::path::Path, args: &[&str], date: &str) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A deploy of a commit of a repository the catalog reads as a Git location records that
/// commit's first-parent history as changes, so the service's lead time has data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_commit_of_a_git_location_records_its_history_as_changes() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let repo = dir.path().join("shop");
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"], "2026-05-01T08:00:00Z");
        std::fs::write(
            repo.join("catalog-info.yaml"),
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: shop\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
        )
        .unwrap();
        git(&repo, &["add", "."], "2026-05-01T08:00:00Z");
        git(&repo, &["commit", "-qm", "first"], "2026-05-01T08:00:00Z");
        std::fs::write(repo.join("README.md"), "shop\n").unwrap();
        git(&repo, &["add", "."], "2026-05-01T09:30:00Z");
        git(&repo, &["commit", "-qm", "second"], "2026-05-01T09:30:00Z");
        let head = String::from_utf8(
            std::process::Command::new("git")
                .args(["rev-parse", "HEAD"])
                .current_dir(&repo)
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
        .trim()
        .to_owned();
        let spec = socle_ingest::LocationSpec {
            kind: socle_ingest::LocationKind::Git,
            target: repo.display().to_string(),
            branch: Some("main".into()),
            path: None,
        };
        app.store
            .add_location(
                &spec.key(),
                &serde_json::to_value(&spec).unwrap(),
                "test",
                socle_store::LocationTrust::Team,
                T0,
            )
            .await
            .unwrap();
        socle_app::ingest::refresh_location(
            &app.store,
            &spec,
            &Default::default(),
            T0,
            None,
            &socle_app::ingest::Remotes::none(),
        )
        .await
        .unwrap();
        let mut deploy = input();
        deploy.source_commit = Some(head.clone());
        app.deploy(&actor("serviceaccount:ci", Role::Admin), deploy)
            .await
            .unwrap();
        let (_, changes, _) = app.store.dora_load().await.unwrap();
        let mut got: Vec<(String, i64, bool)> = changes
            .iter()
            .map(|c| (c.service.clone(), c.committed_at, c.parent.is_some()))
            .collect();
        got.sort_by_key(|g| g.1);
        assert_eq!(
            got,
            vec![
                ("shop".to_owned(), 1_777_622_400_000, false),
                ("shop".to_owned(), 1_777_627_800_000, true),
            ],
            "{backend:?}"
        );
        assert!(changes.iter().any(|c| c.id == head));
    }
}

/// A service whose catalog entry is not from a Git location records no history (and the
/// deploy still succeeds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_commit_without_a_git_location_records_no_changes() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let mut deploy = input();
        deploy.source_commit = Some("0123456789abcdef0123456789abcdef01234567".into());
        app.deploy(&actor("serviceaccount:ci", Role::Admin), deploy)
            .await
            .unwrap();
        let (_, changes, _) = app.store.dora_load().await.unwrap();
        assert!(changes.is_empty(), "{changes:?}");
    }
}

/// An import through the application (the API's path) names the change ids its deployments
/// reference that no change defines, in the import or in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_names_the_change_ids_nothing_defines() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let admin = actor("serviceaccount:ci", Role::Admin);
        let known = "{\"type\":\"change\",\"id\":\"aaa111\",\"service\":\"shop\",\"committed_at\":\"2026-03-01T08:00:00Z\"}\n";
        let out = app
            .import_events(&admin, known.as_bytes(), Some("github"), false)
            .await
            .unwrap();
        assert_eq!(out["unknown_changes"], serde_json::Value::Null, "{out}");
        let deploys = concat!(
            "{\"type\":\"deployment\",\"id\":\"d1\",\"service\":\"shop\",\"environment\":\"production\",\"finished_at\":\"2026-03-01T10:00:00Z\",\"changes\":[\"aaa111\",\"bbb222\",\"ccc333\"]}\n",
            "{\"type\":\"change\",\"id\":\"ccc333\",\"service\":\"shop\",\"committed_at\":\"2026-03-01T09:00:00Z\"}\n",
        );
        let out = app
            .import_events(&admin, deploys.as_bytes(), Some("argocd"), false)
            .await
            .unwrap();
        assert_eq!(out["unknown_changes"]["count"], 1, "{backend:?}: {out}");
        assert_eq!(out["unknown_changes"]["ids"], serde_json::json!(["bbb222"]));
    }
}

/// Two replicas (two `App`s on one store and one GitOps directory) deploying to one environment
/// at once take turns through the store's `deploy:<environment>` lease: every deploy commits on
/// the previous one and the records follow the branch's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_through_two_replicas_record_in_the_branchs_order() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(a) = app(backend, dir.path()).await else {
            continue;
        };
        let settings = AppConfig {
            refresh_interval: None,
            gitops_root: dir.path().join("gitops"),
            ..Default::default()
        };
        let b = App::with_clock(a.store.clone(), settings, FixedClock::at(T0))
            .await
            .unwrap();
        assert_ne!(a.config.instance, b.config.instance);
        let admin = actor("serviceaccount:ci", Role::Admin);
        let deploys = (1..=6).map(|n| {
            let (app, admin) = (
                if n % 2 == 0 { a.clone() } else { b.clone() },
                admin.clone(),
            );
            tokio::spawn(async move {
                let mut i = input();
                i.image = Some(format!("ghcr.io/acme/shop:{n}"));
                app.deploy(&admin, i).await
            })
        });
        for d in futures_util::future::join_all(deploys).await {
            assert!(d.unwrap().unwrap().changed);
        }
        let mut records = a.store.list_deployments(None, None, 100).await.unwrap();
        records.sort_by_key(|d| d.seq);
        let repo = dir.path().join("gitops/gitops/dev.git");
        let out = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(&repo)
            .args(["rev-list", "--first-parent", "--reverse", "HEAD"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let history: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let recorded: Vec<String> = records.iter().map(|d| d.gitops_commit.clone()).collect();
        assert_eq!(
            recorded, history,
            "{backend:?}: records in the branch's order"
        );
    }
}
