//! Scanner findings over HTTP: SARIF imports by whom may act for the entity (the owning team,
//! its service accounts, admins) — attacks by anonymous clients, viewers and other teams
//! refused and audited — and SARIF produced in the test by real scanners from PyPI (Checkov on
//! manifests, Bandit on code) plus Trivy's published sample: imported, then closed once fixed.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Server, both};

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
  annotations:
    socle.dev/service-accounts: ci
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-b
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ann
spec:
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: eve
spec:
  memberOf: [team-b]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: val
spec:
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
spec:
  type: service
  lifecycle: production
  owner: team-a
";

const TRIVY: &str = include_str!("../../../../conformance/sarif/trivy-alpine-310.sarif");
const SHOP: &str = "/api/v1/entities/component/default/shop/findings";

fn import(sarif: &str) -> Value {
    json!({"entity": "component:default/shop", "sarif": serde_json::from_str::<Value>(sarif).unwrap()})
}

async fn open_findings(s: &Server) -> Vec<Value> {
    let (status, list) = s.call("GET", SHOP, None, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

/// Anonymous clients, bad tokens, viewers (even of the owning team) and members of another team
/// cannot import findings for an entity; nothing is stored and each attempt is audited.
async fn only_the_owning_team_and_admins_import_findings(s: &Server) {
    s.register_catalog(ORG).await;
    let viewer = s.token("val", "viewer").await;
    let eve = s.token("eve", "member").await;
    for (token, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("socle_not_a_token"), StatusCode::UNAUTHORIZED),
        (Some(viewer.as_str()), StatusCode::FORBIDDEN),
        (Some(eve.as_str()), StatusCode::FORBIDDEN),
    ] {
        let (status, body) = s
            .call("POST", "/api/v1/findings", token, Some(import(TRIVY)))
            .await;
        assert_eq!(status, expected, "{token:?}: {body}");
    }
    assert_eq!(open_findings(s).await, Vec::<Value>::new());
    let (_, log) = s.call("GET", "/api/v1/audit", Some(&s.admin), None).await;
    let denied: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "findings.import" && e["outcome"] == "denied")
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(
        denied.contains(&"user:default/val") && denied.contains(&"user:default/eve"),
        "{denied:?}"
    );
}
both!(only_the_owning_team_and_admins_import_findings);

/// A member of the owning team and a service account the team lists may import.
async fn the_owning_team_and_its_service_account_import(s: &Server) {
    s.register_catalog(ORG).await;
    let ann = s.token("ann", "member").await;
    let (status, out) = s
        .call("POST", "/api/v1/findings", Some(&ann), Some(import(TRIVY)))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        (out["tools"][0].as_str(), out["opened"].as_u64()),
        (Some("Trivy"), Some(4))
    );
    let (status, ci) = s
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&s.admin),
            Some(json!({"name": "ci", "subject": "serviceaccount:ci", "role": "member"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let ci = ci["secret"].as_str().unwrap();
    let (status, out) = s
        .call("POST", "/api/v1/findings", Some(ci), Some(import(TRIVY)))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["still_open"], 4);
    let found = open_findings(s).await;
    assert_eq!(found.len(), 4);
    assert!(found.iter().all(|f| f["severity"] == "medium"), "{found:?}");
}
both!(the_owning_team_and_its_service_account_import);

/// Findings for an entity that is not in the catalog, or a document that is not SARIF 2.1.0,
/// are refused.
async fn unknown_entities_and_bad_documents_are_refused(s: &Server) {
    s.register_catalog(ORG).await;
    let body =
        json!({"entity": "component:default/nope", "sarif": {"version": "2.1.0", "runs": []}});
    let (status, _) = s
        .call("POST", "/api/v1/findings", Some(&s.admin), Some(body))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body = json!({"entity": "component:default/shop", "sarif": {"version": "1.0", "runs": []}});
    let (status, err) = s
        .call("POST", "/api/v1/findings", Some(&s.admin), Some(body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("2.1.0"),
        "{err}"
    );
}
both!(unknown_entities_and_bad_documents_are_refused);

/// Runs a scanner; None (the test skips) when it is not installed, unless CI requires it.
fn scan(program: &str, args: &[&str], dir: &Path, out: &Path) -> Option<String> {
    let ran = Command::new(program).args(args).current_dir(dir).output();
    match ran {
        Err(e) => {
            assert!(
                std::env::var_os("SOCLE_REQUIRE_SCANNERS").is_none(),
                "{program} is required (SOCLE_REQUIRE_SCANNERS): {e}"
            );
            eprintln!("{program} is not installed: skipped");
            None
        }
        Ok(o) => Some(std::fs::read_to_string(out).unwrap_or_else(|e| {
            panic!(
                "{program} wrote no SARIF ({e}): {}",
                String::from_utf8_lossy(&o.stderr)
            )
        })),
    }
}

const MANIFEST: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: shop
spec:
  replicas: 1
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
        - name: shop
          image: ghcr.io/acme/shop@sha256:0000000000000000000000000000000000000000000000000000000000000000
";

/// Checkov's SARIF for the manifest, before and after its memory request is set (`CKV_K8S_12`).
fn checkov() -> &'static Option<(String, String)> {
    static OUT: OnceLock<Option<(String, String)>> = OnceLock::new();
    OUT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let run = |manifest: &str| {
            std::fs::write(dir.path().join("deploy.yaml"), manifest).unwrap();
            let out = dir.path().join("out");
            let _ = std::fs::remove_dir_all(&out);
            scan(
                "checkov",
                &[
                    "-f",
                    "deploy.yaml",
                    "-o",
                    "sarif",
                    "--output-file-path",
                    "out",
                    "--quiet",
                    "--compact",
                    "--framework",
                    "kubernetes",
                ],
                dir.path(),
                &out.join("results_sarif.sarif"),
            )
        };
        let before = run(MANIFEST)?;
        let fixed =
            format!("{MANIFEST}          resources:\n            requests: {{memory: 64Mi}}\n");
        Some((before, run(&fixed)?))
    })
}

/// Bandit's SARIF for a small module, before and after its `shell=True` call (`B602`) is fixed.
fn bandit() -> &'static Option<(String, String)> {
    static OUT: OnceLock<Option<(String, String)>> = OnceLock::new();
    OUT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let run = |code: &str| {
            std::fs::write(dir.path().join("app.py"), code).unwrap();
            scan(
                "bandit",
                &["-q", "-f", "sarif", "-o", "out.sarif", "app.py"],
                dir.path(),
                &dir.path().join("out.sarif"),
            )
        };
        let before = run(
            "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n",
        )?;
        let after =
            run("import subprocess\n\n\ndef run(cmd):\n    return subprocess.call([cmd])\n")?;
        Some((before, after))
    })
}

fn rules(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|f| {
            format!(
                "{}/{}",
                f["tool"].as_str().unwrap(),
                f["rule"].as_str().unwrap()
            )
        })
        .collect()
}

/// Checkov's findings on a manifest are imported; once the manifest sets its memory request,
/// Checkov's next report closes CKV_K8S_12 and leaves the others open.
async fn checkovs_fixed_finding_is_closed(s: &Server) {
    let Some((before, after)) = checkov() else {
        return;
    };
    s.register_catalog(ORG).await;
    let (status, out) = s
        .call(
            "POST",
            "/api/v1/findings",
            Some(&s.admin),
            Some(import(before)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let open = rules(&open_findings(s).await);
    assert!(open.contains(&"Checkov/CKV_K8S_12".to_owned()), "{open:?}");
    let (status, out) = s
        .call(
            "POST",
            "/api/v1/findings",
            Some(&s.admin),
            Some(import(after)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["closed"], 1, "{out}");
    let open = rules(&open_findings(s).await);
    assert!(!open.contains(&"Checkov/CKV_K8S_12".to_owned()), "{open:?}");
    let (_, all) = s
        .call("GET", &format!("{SHOP}?closed=true"), None, None)
        .await;
    let closed: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["closed_at"].is_null())
        .collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["rule"], "CKV_K8S_12");
}
both!(checkovs_fixed_finding_is_closed);

/// Bandit's high-severity finding on code is imported, and closed once the code is fixed.
async fn bandits_fixed_finding_is_closed(s: &Server) {
    let Some((before, after)) = bandit() else {
        return;
    };
    s.register_catalog(ORG).await;
    s.call(
        "POST",
        "/api/v1/findings",
        Some(&s.admin),
        Some(import(before)),
    )
    .await;
    let open = open_findings(s).await;
    let b602 = open
        .iter()
        .find(|f| f["rule"] == "B602")
        .unwrap_or_else(|| panic!("{open:?}"));
    assert_eq!(
        (b602["severity"].as_str(), b602["location"].as_str()),
        (Some("high"), Some("app.py:5"))
    );
    let (_, out) = s
        .call(
            "POST",
            "/api/v1/findings",
            Some(&s.admin),
            Some(import(after)),
        )
        .await;
    assert_eq!(out["closed"], 1, "{out}");
    assert!(!rules(&open_findings(s).await).contains(&"Bandit/B602".to_owned()));
}
both!(bandits_fixed_finding_is_closed);

/// The built-in scorecard is listed, and an entity's result names the failing rules with their
/// fix-it text and the fact they read.
async fn an_entity_reads_its_level_and_what_to_fix(s: &Server) {
    s.register_catalog(ORG).await;
    let (status, list) = s.call("GET", "/api/v1/scorecards", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["name"], "production-readiness");
    let (status, cards) = s
        .call(
            "GET",
            "/api/v1/entities/component/default/shop/scorecards",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cards}");
    let card = &cards[0];
    assert_eq!(card["level"], Value::Null, "{card}");
    let system = card["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "system")
        .unwrap();
    assert_eq!(system["passed"], false);
    assert_eq!(
        system["fixit"],
        "Set spec.system to the system it is part of."
    );
    assert_eq!(system["facts"][0]["path"], "entity.spec.system");
    assert_eq!(
        system["facts"][0]["source"]["source"]
            .as_str()
            .map(|s| s.starts_with("catalog")),
        Some(true)
    );
    let (status, report) = s
        .call("GET", "/api/v1/scorecards/production-readiness", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["entities"], 1);
    assert_eq!(report["leaderboard"][0]["team"], "group:default/team-a");
    let (status, _) = s.call("GET", "/api/v1/scorecards/nope", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The day's levels are kept: shop, team-a's only service, below the first level.
    let (status, h) = s
        .call(
            "GET",
            "/api/v1/scorecards/production-readiness/history?team=team-a&days=7",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{h}");
    assert_eq!(h["levels"], json!(["Bronze", "Silver", "Gold"]));
    assert_eq!(h["days"].as_array().map(Vec::len), Some(1), "{h}");
    assert_eq!(h["days"][0]["counts"], json!([1, 0, 0, 0]));
    let (_, h) = s
        .call(
            "GET",
            "/api/v1/scorecards/production-readiness/history?team=team-b",
            None,
            None,
        )
        .await;
    assert_eq!(h["days"], json!([]));
    let (status, _) = s
        .call("GET", "/api/v1/scorecards/nope/history", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
both!(an_entity_reads_its_level_and_what_to_fix);
