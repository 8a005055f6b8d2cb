//! Issue 12: a shared resource belongs to the team that first provisioned it. Another team's
//! workload naming the same `id` is refused, gets it through a grant, and never with its own
//! params. Every test runs on SQLite, and on PostgreSQL when `SOCLE_TEST_DATABASE_URL` is set.

use socle_catalog::Limits;
use socle_deploy::{DeployError, DeployRequest, Deployer, NoGuardrails, gitops};
use socle_store::{SecretKey, Store, StoreConfig};

const TEAM_A: &str = "group:default/team-a";
const TEAM_B: &str = "group:default/team-b";

/// Team A's service and its shared database.
const ORDERS: &str = "apiVersion: score.dev/v1b1
metadata:
  name: orders
containers:
  web:
    image: ghcr.io/acme/orders:1.0.0
    variables:
      DB_PASSWORD: ${resources.db.password}
resources:
  db:
    type: postgres
    id: orders-db
    params:
      size: 5Gi
";

/// Team B's service naming the same id.
fn billing(params: &str) -> String {
    ORDERS
        .replace("name: orders", "name: billing")
        .replace("acme/orders", "acme/billing")
        .replace("      size: 5Gi\n", params)
}

const SAME_PARAMS: &str = "      size: 5Gi\n";

fn grant(environments: &str) -> String {
    format!(
        "apiVersion: socle.dev/v1alpha1\nkind: ResourceGrant\nmetadata:\n  name: orders-db-for-billing\nspec:\n  type: postgres\n  id: orders-db\n  teams: [team-b]\n{environments}"
    )
}

pub(crate) struct Env {
    pub d: Deployer,
    _dir: tempfile::TempDir,
}

fn suffix() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    t ^ (u64::from(std::process::id()) << 32)
}

/// A deployer over a fresh store of `backend` (None: PostgreSQL is not configured), with the
/// shipped configuration plus `extra` documents.
async fn open(backend: &str, extra: String) -> Option<Env> {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path().join("data"), None);
    if backend == "postgres" {
        let Ok(url) = std::env::var("SOCLE_TEST_DATABASE_URL") else {
            assert!(
                std::env::var_os("SOCLE_REQUIRE_POSTGRES").is_none(),
                "SOCLE_REQUIRE_POSTGRES set without SOCLE_TEST_DATABASE_URL"
            );
            eprintln!("SOCLE_TEST_DATABASE_URL not set: PostgreSQL variant skipped");
            return None;
        };
        config.database_url = Some(url);
        config.pg_schema = Some(format!("socle_deploy_test_{}", suffix()));
    }
    config.secret_key = Some(SecretKey::generate());
    let store = Store::open(&config).await.unwrap();
    assert_eq!(store.backend_name(), backend);
    let mut files = socle_platform::config::default_files();
    if !extra.is_empty() {
        files.push(("grants.yaml".into(), extra));
    }
    let d = Deployer {
        store,
        config: socle_platform::load_config(&files, &Limits::default()).unwrap(),
        gitops_root: dir.path().to_path_buf(),
        limits: Limits::default(),
        runner: None,
        clock: None,
    };
    Some(Env { d, _dir: dir })
}

macro_rules! both {
    ($name:ident, $extra:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(e) = super::open("sqlite", $extra).await {
                    super::$name(&e).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(e) = super::open("postgres", $extra).await {
                    super::$name(&e).await;
                }
            }
        }
    };
}

fn req(text: &str, owner: Option<&str>) -> DeployRequest {
    DeployRequest {
        workload: socle_score::parse_workload(text, "score.yaml", &Limits::default()).unwrap(),
        env: "dev".into(),
        image: None,
        version: None,
        source_commit: None,
        actor: "user:default/someone".into(),
        kind: "deploy".into(),
        owner: owner.map(str::to_owned),
    }
}

fn forbidden(e: DeployError) -> String {
    match e {
        DeployError::Forbidden(m) => m,
        other => panic!("expected Forbidden, got {other}"),
    }
}

fn billing_files(e: &Env) -> usize {
    let repo = gix::open(e._dir.path().join("gitops/dev.git")).unwrap();
    gitops::files_at(&repo, "main", "dev/workloads/billing/")
        .unwrap()
        .len()
}

async fn another_teams_workload_cannot_use_a_shared_resource(e: &Env) {
    e.d.deploy(req(ORDERS, Some(TEAM_A)), &NoGuardrails)
        .await
        .unwrap();
    let err =
        e.d.deploy(req(&billing(SAME_PARAMS), Some(TEAM_B)), &NoGuardrails)
            .await
            .unwrap_err();
    let m = forbidden(err);
    assert!(
        m.starts_with("resource db (type postgres, id orders-db) in dev belongs to group:default/team-a; group:default/team-b, the owner of billing may not use it."),
        "{m}"
    );
    assert!(
        m.contains("`kind: ResourceGrant`") && m.contains("spec.id orders-db"),
        "{m}"
    );
    assert_eq!(billing_files(e), 0, "nothing of billing is committed");
    let own = e.d.store.resource_ownership("dev").await.unwrap();
    let (_, db) = own.iter().next().unwrap();
    assert_eq!(db.owner.as_deref(), Some(TEAM_A));
    assert_eq!(db.used_by.iter().collect::<Vec<_>>(), ["orders"]);
}
both!(
    another_teams_workload_cannot_use_a_shared_resource,
    String::new()
);

async fn a_grant_lets_another_team_use_it_as_provisioned(e: &Env) {
    e.d.deploy(req(ORDERS, Some(TEAM_A)), &NoGuardrails)
        .await
        .unwrap();
    let before = e.d.store.resource_state("dev").await.unwrap();
    e.d.deploy(req(&billing(SAME_PARAMS), Some(TEAM_B)), &NoGuardrails)
        .await
        .unwrap();
    // The same resource: same credentials, still team A's, used by both.
    assert_eq!(e.d.store.resource_state("dev").await.unwrap(), before);
    let own = e.d.store.resource_ownership("dev").await.unwrap();
    let (uid, db) = own.iter().next().unwrap();
    assert_eq!(db.owner.as_deref(), Some(TEAM_A));
    assert_eq!(db.used_by.iter().collect::<Vec<_>>(), ["billing", "orders"]);
    assert!(billing_files(e) > 0);
    let repo = gix::open(e._dir.path().join("gitops/dev.git")).unwrap();
    let files = gitops::files_at(&repo, "main", "dev/workloads/billing/").unwrap();
    let deployment =
        String::from_utf8_lossy(&files["dev/workloads/billing/deployment-billing.yaml"])
            .into_owned();
    assert!(
        deployment.contains(&format!("name: {uid}")),
        "billing reads the owner's secret: {deployment}"
    );
}
both!(
    a_grant_lets_another_team_use_it_as_provisioned,
    super::grant("")
);

async fn a_granted_team_cannot_change_the_params(e: &Env) {
    e.d.deploy(req(ORDERS, Some(TEAM_A)), &NoGuardrails)
        .await
        .unwrap();
    let before = e.d.store.resource_ownership("dev").await.unwrap();
    let err =
        e.d.deploy(
            req(&billing("      size: 500Gi\n"), Some(TEAM_B)),
            &NoGuardrails,
        )
        .await
        .unwrap_err();
    let m = forbidden(err);
    assert!(
        m.contains("belongs to group:default/team-a and is shared through grant orders-db-for-billing, but this workload asks for it with other params than its owner's"),
        "{m}"
    );
    assert_eq!(billing_files(e), 0);
    assert_eq!(e.d.store.resource_ownership("dev").await.unwrap(), before);
}
both!(a_granted_team_cannot_change_the_params, super::grant(""));

async fn a_grant_applies_only_in_its_environments(e: &Env) {
    e.d.deploy(req(ORDERS, Some(TEAM_A)), &NoGuardrails)
        .await
        .unwrap();
    let err =
        e.d.deploy(req(&billing(SAME_PARAMS), Some(TEAM_B)), &NoGuardrails)
            .await
            .unwrap_err();
    assert!(forbidden(err).contains("belongs to group:default/team-a"));
}
both!(
    a_grant_applies_only_in_its_environments,
    super::grant("  environments: [staging]\n")
);

async fn a_deploy_with_no_owning_team_cannot_use_a_teams_resource(e: &Env) {
    e.d.deploy(req(ORDERS, Some(TEAM_A)), &NoGuardrails)
        .await
        .unwrap();
    let err =
        e.d.deploy(req(&billing(SAME_PARAMS), None), &NoGuardrails)
            .await
            .unwrap_err();
    let m = forbidden(err);
    assert!(
        m.contains("belongs to group:default/team-a; a deploy with no owning team (the service has no owner in the catalog) may not use it"),
        "{m}"
    );
}
both!(
    a_deploy_with_no_owning_team_cannot_use_a_teams_resource,
    String::new()
);

async fn an_unowned_resource_is_not_adopted_from_another_teams_workload(e: &Env) {
    // Saved before owners were recorded (or by a deploy with no team), used by orders, which
    // the catalog does not give to team B.
    e.d.deploy(req(ORDERS, None), &NoGuardrails).await.unwrap();
    let err =
        e.d.deploy(req(&billing(SAME_PARAMS), Some(TEAM_B)), &NoGuardrails)
            .await
            .unwrap_err();
    let m = forbidden(err);
    assert!(
        m.contains(
            "has no recorded owner and is used by orders, which group:default/team-b does not own"
        ),
        "{m}"
    );
    let own = e.d.store.resource_ownership("dev").await.unwrap();
    assert_eq!(own.values().next().unwrap().owner, None);
}
both!(
    an_unowned_resource_is_not_adopted_from_another_teams_workload,
    String::new()
);

async fn an_unowned_resource_is_adopted_by_its_only_users_team(e: &Env) {
    e.d.deploy(req(ORDERS, None), &NoGuardrails).await.unwrap();
    e.d.deploy(
        req(&ORDERS.replace("1.0.0", "1.0.1"), Some("team-a")),
        &NoGuardrails,
    )
    .await
    .unwrap();
    let own = e.d.store.resource_ownership("dev").await.unwrap();
    assert_eq!(own.values().next().unwrap().owner.as_deref(), Some(TEAM_A));
}
both!(
    an_unowned_resource_is_adopted_by_its_only_users_team,
    String::new()
);
