//! Campaigns over HTTP: listed, their progress per team, and the scorecard file a promotion
//! gives (which loads); unknown names and scorecards are not found, an unknown level refused.

use hyper::StatusCode;

use crate::harness::{Server, both_backends, start_with};

const CAMPAIGN: &str = "apiVersion: socle.dev/v1alpha1
kind: Campaign
metadata: {name: describe, title: Describe every service}
spec:
  filter: {kind: Component}
  start: 2020-01-01
  target: 2099-12-31
  brief: One line each.
  rules:
    - id: described
      check: {builtin: has-description}
";

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: shop, description: Sells.}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: search}
spec: {type: service, lifecycle: production, owner: team-a}
";

async fn server(backend: &str) -> Option<Server> {
    let campaigns = socle_scorecard::load_campaigns(CAMPAIGN, "campaigns/c.yaml").unwrap();
    let config = socle_api::ServerConfig {
        refresh_interval: None,
        scorecards: socle_app::scorecards::Scorecards::with_campaigns(Vec::new(), campaigns)
            .unwrap(),
        ..Default::default()
    };
    start_with(backend, config).await
}

async fn campaigns_report_progress_and_promote(backend: &str) {
    let Some(s) = server(backend).await else {
        return;
    };
    s.register_catalog(ORG).await;
    let (status, list) = s.call("GET", "/api/v1/campaigns", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["name"], "describe");
    assert_eq!(list[0]["target"], "2099-12-31");
    let (status, r) = s
        .call("GET", "/api/v1/campaigns/describe", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        (r["entities"].as_u64(), r["passing"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(r["teams"][0]["team"], "group:default/team-a");
    assert_eq!(r["teams"][0]["failing"][0][0], "component:default/search");
    assert_eq!(r["burnup"].as_array().map(Vec::len), Some(1), "{r}");
    assert!(r["teams"][0].get("burnup").is_none(), "{r}");
    let (status, t) = s
        .call("GET", "/api/v1/campaigns/describe/teams/team-a", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["failing"][0][0], "component:default/search");
    assert_eq!(t["burnup"].as_array().map(Vec::len), Some(1), "{t}");
    let (status, _) = s
        .call("GET", "/api/v1/campaigns/describe/teams/nobody", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A campaign is not a scorecard.
    let (status, _) = s
        .call("GET", "/api/v1/scorecards/campaign:describe", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, p) = s
        .call(
            "GET",
            "/api/v1/campaigns/describe/promotion?into=production-readiness&level=Bronze",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let card = socle_scorecard::load(p["file"].as_str().unwrap(), "p.yaml")
        .unwrap()
        .remove(0);
    assert_eq!(
        card.rules.last().map(|r| (r.id.as_str(), r.level)),
        Some(("described", 0))
    );
    for (path, expected) in [
        ("/api/v1/campaigns/nope", StatusCode::NOT_FOUND),
        (
            "/api/v1/campaigns/describe/promotion?into=nope&level=Gold",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/campaigns/describe/promotion?into=production-readiness&level=Mythril",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, body) = s.call("GET", path, None, None).await;
        assert_eq!(status, expected, "{path}: {body}");
    }
}
both_backends!(campaigns_report_progress_and_promote);
