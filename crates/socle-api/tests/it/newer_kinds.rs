//! The newer kinds in the catalog API: Environment and AiResource entities and an MCP server API
//! are listed, filtered, related to their owner and counted in the facets; a Location's optional
//! target that is missing takes nothing away from a clean refresh.

use hyper::StatusCode;
use serde_json::json;

use crate::harness::{Server, both};

const CATALOG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Environment
metadata:
  name: staging
spec:
  lifecycle: staging
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: AiResource
metadata:
  name: review-skill
spec:
  type: skill
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: catalog-tools
spec:
  type: mcp-server
  lifecycle: experimental
  owner: team-a
  remotes:
    - type: streamable-http
      url: https://tools.example.com/mcp
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: maybe-more
spec:
  presence: optional
  targets:
    - ./teams/catalog-info.yaml
    - https://example.com/catalog-info.yaml
";

async fn newer_kinds_are_listed_and_related(s: &Server) {
    let (_, outcome) = s.register_catalog(CATALOG).await;
    assert_eq!(outcome["status"], "ok", "{outcome}");
    assert_eq!(outcome["added"], 5, "{outcome}");
    assert_eq!(outcome["errors"], json!([]), "{outcome}");

    for (kind, name) in [
        ("environment", "staging"),
        ("airesource", "review-skill"),
        ("api", "catalog-tools"),
    ] {
        let (status, page) = s
            .call("GET", &format!("/api/v1/entities?kind={kind}"), None, None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["totalItems"], 1, "{kind}: {page}");
        assert_eq!(page["items"][0]["metadata"]["name"], name, "{kind}");
    }
    let (_, env) = s
        .call(
            "GET",
            "/api/v1/entities/Environment/default/staging",
            None,
            None,
        )
        .await;
    assert_eq!(
        env["relations"],
        json!([{"type": "ownedBy", "targetRef": "group:default/team-a"}])
    );
    let (_, team) = s
        .call("GET", "/api/v1/entities/group/default/team-a", None, None)
        .await;
    assert_eq!(
        team["relations"],
        json!([
            {"type": "ownerOf", "targetRef": "airesource:default/review-skill"},
            {"type": "ownerOf", "targetRef": "api:default/catalog-tools"},
            {"type": "ownerOf", "targetRef": "environment:default/staging"},
        ])
    );
    let (_, owned) = s
        .call(
            "GET",
            "/api/v1/entities?owner=group:default/team-a",
            None,
            None,
        )
        .await;
    assert_eq!(owned["totalItems"], 3, "{owned}");
    let (_, f) = s.call("GET", "/api/v1/facets", None, None).await;
    assert_eq!(
        f["facets"]["kind"],
        json!([
            {"value": "airesource", "count": 1},
            {"value": "api", "count": 1},
            {"value": "environment", "count": 1},
            {"value": "group", "count": 1},
            {"value": "location", "count": 1},
        ])
    );
}
both!(newer_kinds_are_listed_and_related);
