//! Adoption over HTTP, after a real golden-path run (published, registered, deployed to dev):
//! the organisation's figures for anyone signed in, without a person's name; a team's details
//! for its members and admins only. Both databases.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::both_backends;
use crate::templates::{PATH, setup, values};

/// ann (team-a) creates orders-api from the Rust golden path, for real, and previews another
/// (a dry run, which does not count).
async fn created(backend: &str) -> Option<(crate::harness::Server, String, String)> {
    let (s, ann, eve) = setup(backend).await?;
    let (status, run) = s
        .call(
            "POST",
            PATH,
            Some(&ann),
            Some(json!({"values": values("orders-api")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let (status, dry) = s
        .call(
            "POST",
            PATH,
            Some(&ann),
            Some(json!({"values": values("preview-api"), "dry_run": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{dry}");
    Some((s, ann, eve))
}

async fn the_organisations_figures_count_the_golden_path_service(backend: &str) {
    let Some((s, _ann, eve)) = created(backend).await else {
        return;
    };
    let (status, body) = s.call("GET", "/api/v1/adoption", Some(&eve), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let a = &body["adoption"];
    // One component in the catalog: orders-api, from the golden path, deployed to dev by it,
    // with TechDocs and an SLO file.
    let now = &a["now"];
    assert_eq!(
        [
            &now["services"],
            &now["golden_path"],
            &now["deployed_through_socle"],
            &now["with_docs"],
            &now["with_slo"]
        ],
        [&json!(1), &json!(1), &json!(1), &json!(1), &json!(1)],
        "{a}"
    );
    assert_eq!(
        a["templates"],
        json!([{"template": "rust-axum-service", "runs": 1, "completed": 1, "failed": 0, "success_rate": 1.0,
                "duration_median_seconds": a["templates"][0]["duration_median_seconds"],
                "duration_p90_seconds": a["templates"][0]["duration_p90_seconds"]}]),
        "the dry run is not counted"
    );
    // The run deployed during itself: its first deploy came within the run's duration.
    let ttfd = &a["time_to_first_deploy"];
    assert_eq!(ttfd["services"], 1, "{ttfd}");
    let hours = ttfd["median_hours"].as_f64().unwrap();
    let run_hours = a["templates"][0]["duration_median_seconds"]
        .as_f64()
        .unwrap()
        / 3600.0;
    assert!(hours > 0.0 && hours <= run_hours, "{hours} {run_hours}");
    // Organisation-wide counts of active people are in the weekly series, as numbers.
    assert!(
        a["weekly"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["portal_users"].is_u64())
    );
    assert_eq!(body["impact"]["adopted"], 1);
}
both_backends!(the_organisations_figures_count_the_golden_path_service);

async fn no_person_is_named_in_the_organisations_report(backend: &str) {
    let Some((s, _ann, _eve)) = created(backend).await else {
        return;
    };
    let (status, body) = s
        .call("GET", "/api/v1/adoption", Some(&s.admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = body.to_string();
    assert!(
        !text.contains("user:default/ann") && !text.contains("\"ann\""),
        "{text}"
    );
}
both_backends!(no_person_is_named_in_the_organisations_report);

async fn another_teams_member_sees_the_totals_but_not_the_teams_details(backend: &str) {
    let Some((s, ann, eve)) = created(backend).await else {
        return;
    };
    let (_, for_eve) = s.call("GET", "/api/v1/adoption", Some(&eve), None).await;
    assert_eq!(for_eve["teams"], json!([]), "{for_eve}");
    assert_eq!(for_eve["impact"]["teams"], 1);
    let (_, for_ann) = s.call("GET", "/api/v1/adoption", Some(&ann), None).await;
    let teams: Vec<&str> = for_ann["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["team"].as_str().unwrap())
        .collect();
    assert_eq!(teams, ["group:default/team-a"]);
    let (status, body) = s
        .call("GET", "/api/v1/adoption/teams/team-a", Some(&eve), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(!body.to_string().contains("orders-api"), "{body}");
    let (status, _) = s
        .call("GET", "/api/v1/adoption/teams/team-a", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s.call("GET", "/api/v1/adoption", None, None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "anonymous, even on loopback"
    );
}
both_backends!(another_teams_member_sees_the_totals_but_not_the_teams_details);

async fn a_teams_impact_starts_at_its_golden_path_run(backend: &str) {
    let Some((s, ann, _eve)) = created(backend).await else {
        return;
    };
    let (status, body) = s
        .call(
            "GET",
            "/api/v1/adoption/teams/group:default%2Fteam-a",
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let impact: &Value = &body["impact"];
    assert_eq!(impact["adopted_by"], "golden_path");
    assert_eq!(body["adoption"]["scope"], "group:default/team-a");
    // Adopted seconds ago: nothing is compared, and the caveat says why.
    assert_eq!(impact["keys"], json!([]), "{impact}");
    assert_eq!(
        impact["caveats"][0]["kind"], "adopted_too_recently",
        "{impact}"
    );
    // The built-in DevEx survey has no round on both sides of a date this recent.
    assert!(
        impact["surveys"].as_array().is_some_and(|s| !s.is_empty()),
        "{impact}"
    );
    let (status, _) = s
        .call("GET", "/api/v1/adoption/teams/nope", Some(&s.admin), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .call("GET", "/api/v1/adoption?since=5000d", Some(&ann), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
both_backends!(a_teams_impact_starts_at_its_golden_path_run);
