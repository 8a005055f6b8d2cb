//! GitHub / GitLab webhook payloads to events, and the signature checks.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use socle_dora::webhooks::{
    MAX_BODY, MAX_PUSH_COMMITS, WebhookError, github_events, gitlab_events, parse_gitlab_timestamp,
    verify_github, verify_gitlab,
};
use socle_dora::{Change, Deployment, Event, Incident};

const GH_PUSH: &[u8] = include_bytes!("fixtures/github-push.json");
const GH_DEPLOY_SUCCESS: &[u8] = include_bytes!("fixtures/github-deployment-status-success.json");
const GH_DEPLOY_PENDING: &[u8] = include_bytes!("fixtures/github-deployment-status-pending.json");
const GH_ISSUE_INCIDENT: &[u8] = include_bytes!("fixtures/github-issue-incident-closed.json");
const GH_ISSUE_OTHER: &[u8] = include_bytes!("fixtures/github-issue-not-incident.json");
const GL_PUSH: &[u8] = include_bytes!("fixtures/gitlab-push.json");
const GL_DEPLOY_SUCCESS: &[u8] = include_bytes!("fixtures/gitlab-deployment-success.json");
const GL_ISSUE_INCIDENT: &[u8] = include_bytes!("fixtures/gitlab-issue-incident.json");

// GitHub push fixture
const GH_BEFORE: &str = "ac0996dca504da12b87ec6be3292d0f44d33c35a";
const GH_C1: &str = "c5e7dda5ab06c27254abbb1fa9dc0e85a065e6a0";
const GH_C2: &str = "b370c1346946edb238e6f0194317e88c024e65bf";
// GitLab push fixture (listed newest first, as GitLab did in the wild)
const GL_BEFORE: &str = "0b64923051acc3f72ea0c25a77da83694d5ce69b";
const GL_C1: &str = "9d9c47857232073437f1d991ebcf0b7b335fa1ab";
const GL_C2: &str = "7d6bb6a0f24077bdae566594004ae60ba0bbdc4b";
const ZEROS: &str = "0000000000000000000000000000000000000000";

fn edited(fixture: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(fixture).unwrap();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn invalid<T: std::fmt::Debug>(r: Result<T, WebhookError>) -> String {
    match r {
        Err(WebhookError::Invalid(m)) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn unauthorized(r: Result<(), WebhookError>) -> String {
    match r {
        Err(WebhookError::Unauthorized(m)) => m,
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

fn change(source: &str, id: &str, service: &str, at: i64, parent: Option<&str>) -> Event {
    Event::Change(Change {
        source: source.into(),
        id: id.into(),
        service: service.into(),
        committed_at: at,
        parent: parent.map(Into::into),
    })
}

fn parents(events: &[Event]) -> Vec<(String, Option<String>)> {
    events
        .iter()
        .map(|e| match e {
            Event::Change(c) => (c.id.clone(), c.parent.clone()),
            other => panic!("expected a change, got {other:?}"),
        })
        .collect()
}

fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

// ------------------------------------------------------------------------------------------
// Signatures and tokens
// ------------------------------------------------------------------------------------------

#[test]
fn github_signature_computed_over_the_body_is_accepted() {
    let sig = sign(b"It's a Secret to Everybody", GH_PUSH);
    verify_github(b"It's a Secret to Everybody", GH_PUSH, Some(&sig)).unwrap();
}

#[test]
fn github_signature_matches_githubs_documented_example() {
    // docs.github.com "Validating webhook deliveries": secret, payload and expected header.
    verify_github(
        b"It's a Secret to Everybody",
        b"Hello, World!",
        Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
    )
    .unwrap();
}

#[test]
fn github_forged_signature_is_rejected() {
    let forged = format!("sha256={}", "ab".repeat(32));
    let m = unauthorized(verify_github(b"s3cret", GH_PUSH, Some(&forged)));
    assert!(m.contains("does not match"), "{m}");
    // Right body, wrong secret.
    let other_secret = sign(b"not-the-secret", GH_PUSH);
    unauthorized(verify_github(b"s3cret", GH_PUSH, Some(&other_secret)));
}

#[test]
fn github_signature_over_a_modified_body_is_rejected() {
    let sig = sign(b"s3cret", GH_PUSH);
    let mut tampered = GH_PUSH.to_vec();
    let pos = tampered.iter().position(|b| *b == b'9').unwrap();
    tampered[pos] = b'8';
    unauthorized(verify_github(b"s3cret", &tampered, Some(&sig)));
    // Extra whitespace is a different body too.
    let mut padded = GH_PUSH.to_vec();
    padded.push(b' ');
    unauthorized(verify_github(b"s3cret", &padded, Some(&sig)));
}

#[test]
fn github_missing_signature_is_rejected() {
    let m = unauthorized(verify_github(b"s3cret", GH_PUSH, None));
    assert!(m.contains("X-Hub-Signature-256"), "{m}");
}

#[test]
fn github_malformed_signature_headers_are_rejected() {
    let good = sign(b"s3cret", GH_PUSH);
    let bare_hex = good.trim_start_matches("sha256=").to_owned();
    let sha1 = format!("sha1={bare_hex}");
    let upper_prefix = format!("SHA256={bare_hex}");
    let bad_hex = format!("sha256={}", "zz".repeat(32));
    let odd_hex = format!("sha256={}", &bare_hex[..63]);
    let truncated = format!("sha256={}", &bare_hex[..32]);
    for header in [
        bare_hex.as_str(),
        sha1.as_str(),
        upper_prefix.as_str(),
        bad_hex.as_str(),
        odd_hex.as_str(),
        truncated.as_str(),
        "sha256=",
        "",
    ] {
        unauthorized(verify_github(b"s3cret", GH_PUSH, Some(header)));
    }
    // Hex digits in upper case still decode to the same digest.
    let upper_hex = format!("sha256={}", bare_hex.to_uppercase());
    verify_github(b"s3cret", GH_PUSH, Some(&upper_hex)).unwrap();
}

#[test]
fn github_empty_secret_is_refused_even_with_a_matching_signature() {
    let sig = sign(b"", GH_PUSH);
    let m = unauthorized(verify_github(b"", GH_PUSH, Some(&sig)));
    assert!(m.contains("secret"), "{m}");
}

#[test]
fn gitlab_token_must_match_exactly() {
    verify_gitlab("glwht-7f3a9c", Some("glwht-7f3a9c")).unwrap();
    // Same length, one byte off.
    unauthorized(verify_gitlab("glwht-7f3a9c", Some("glwht-7f3a9d")));
    // Different lengths: a prefix and an extension.
    unauthorized(verify_gitlab("glwht-7f3a9c", Some("glwht-7f3a9")));
    unauthorized(verify_gitlab("glwht-7f3a9c", Some("glwht-7f3a9c ")));
    unauthorized(verify_gitlab("glwht-7f3a9c", Some("")));
}

#[test]
fn gitlab_missing_token_is_rejected() {
    let m = unauthorized(verify_gitlab("glwht-7f3a9c", None));
    assert!(m.contains("X-Gitlab-Token"), "{m}");
}

#[test]
fn gitlab_empty_configured_token_is_refused() {
    unauthorized(verify_gitlab("", Some("")));
    unauthorized(verify_gitlab("", None));
}

// ------------------------------------------------------------------------------------------
// GitHub payloads
// ------------------------------------------------------------------------------------------

#[test]
fn github_push_gives_one_change_per_commit_chained_from_before() {
    let events = github_events("push", GH_PUSH).unwrap();
    assert_eq!(
        events,
        vec![
            // 2024-05-14T09:58:12-04:00
            change(
                "github",
                GH_C1,
                "payments-api",
                1_715_695_092_000,
                Some(GH_BEFORE)
            ),
            // 2024-05-14T10:03:47-04:00
            change(
                "github",
                GH_C2,
                "payments-api",
                1_715_695_427_000,
                Some(GH_C1)
            ),
        ]
    );
}

#[test]
fn github_push_creating_a_branch_has_no_parent_for_its_first_commit() {
    let body = edited(GH_PUSH, |v| {
        v["before"] = json!(ZEROS);
        v["created"] = json!(true);
    });
    let events = github_events("push", &body).unwrap();
    assert_eq!(
        parents(&events),
        vec![(GH_C1.into(), None), (GH_C2.into(), Some(GH_C1.into()))]
    );
}

#[test]
fn github_branch_deletion_gives_no_events() {
    let body = edited(GH_PUSH, |v| {
        v["deleted"] = json!(true);
        v["after"] = json!(ZEROS);
        v["commits"] = json!([]);
        v["head_commit"] = Value::Null;
    });
    assert_eq!(github_events("push", &body).unwrap(), vec![]);
    // Even if commits were (wrongly) listed.
    let body = edited(GH_PUSH, |v| v["deleted"] = json!(true));
    assert_eq!(github_events("push", &body).unwrap(), vec![]);
}

#[test]
fn github_push_with_a_missing_timestamp_names_the_field() {
    let body = edited(GH_PUSH, |v| {
        v["commits"][1].as_object_mut().unwrap().remove("timestamp");
    });
    assert_eq!(
        invalid(github_events("push", &body)),
        "commits[1].timestamp: missing"
    );
}

#[test]
fn github_push_errors_name_their_fields() {
    let no_id = edited(GH_PUSH, |v| v["commits"][0]["id"] = json!(42));
    assert_eq!(
        invalid(github_events("push", &no_id)),
        "commits[0].id: expected a string"
    );
    let local_time = edited(GH_PUSH, |v| {
        v["commits"][0]["timestamp"] = json!("2024-05-14T09:58:12")
    });
    let m = invalid(github_events("push", &local_time));
    assert!(m.starts_with("commits[0].timestamp: "), "{m}");
    assert!(m.contains("no timezone"), "{m}");
    let no_repo = edited(GH_PUSH, |v| {
        v.as_object_mut().unwrap().remove("repository");
    });
    assert_eq!(
        invalid(github_events("push", &no_repo)),
        "repository: missing"
    );
    let no_name = edited(GH_PUSH, |v| v["repository"]["name"] = Value::Null);
    assert_eq!(
        invalid(github_events("push", &no_name)),
        "repository.name: missing"
    );
    let commits_not_array = edited(GH_PUSH, |v| v["commits"] = json!({}));
    assert_eq!(
        invalid(github_events("push", &commits_not_array)),
        "commits: expected an array"
    );
}

#[test]
fn github_deployment_success_maps_to_a_deployment() {
    let events = github_events("deployment_status", GH_DEPLOY_SUCCESS).unwrap();
    assert_eq!(
        events,
        vec![Event::Deployment(Deployment {
            source: "github".into(),
            id: "1466924185".into(),
            service: "payments-api".into(),
            environment: "production".into(),
            status: "success".into(),
            // deployment_status.updated_at 2024-05-14T14:21:09Z (created_at is a second earlier)
            finished_at: 1_715_696_469_000,
            changes: vec![],
            commit: Some(GH_C2.into()),
        })]
    );
}

#[test]
fn github_deployment_failure_and_error_are_failures() {
    for state in ["failure", "error"] {
        let body = edited(GH_DEPLOY_SUCCESS, |v| {
            v["deployment_status"]["state"] = json!(state)
        });
        let events = github_events("deployment_status", &body).unwrap();
        match events.as_slice() {
            [Event::Deployment(d)] => {
                assert_eq!(d.status, "failure", "{state}");
                assert!(!d.succeeded());
                assert_eq!(d.id, "1466924185");
            }
            other => panic!("{state}: {other:?}"),
        }
    }
}

#[test]
fn github_unfinished_deployment_statuses_give_no_events() {
    assert_eq!(
        github_events("deployment_status", GH_DEPLOY_PENDING).unwrap(),
        vec![]
    );
    for state in ["queued", "in_progress", "inactive", "pending"] {
        let body = edited(GH_DEPLOY_SUCCESS, |v| {
            v["deployment_status"]["state"] = json!(state)
        });
        assert_eq!(
            github_events("deployment_status", &body).unwrap(),
            vec![],
            "{state}"
        );
    }
}

#[test]
fn github_deployment_without_state_names_the_field() {
    let body = edited(GH_DEPLOY_SUCCESS, |v| {
        v["deployment_status"]
            .as_object_mut()
            .unwrap()
            .remove("state");
    });
    assert_eq!(
        invalid(github_events("deployment_status", &body)),
        "deployment_status.state: missing"
    );
    let no_id = edited(GH_DEPLOY_SUCCESS, |v| {
        v["deployment"].as_object_mut().unwrap().remove("id");
    });
    assert_eq!(
        invalid(github_events("deployment_status", &no_id)),
        "deployment.id: missing"
    );
    let bad_time = edited(GH_DEPLOY_SUCCESS, |v| {
        v["deployment_status"]["updated_at"] = json!("yesterday")
    });
    let m = invalid(github_events("deployment_status", &bad_time));
    assert!(m.starts_with("deployment_status.updated_at: "), "{m}");
}

#[test]
fn github_deployment_falls_back_to_the_status_environment_and_created_at() {
    let body = edited(GH_DEPLOY_SUCCESS, |v| {
        v["deployment"]
            .as_object_mut()
            .unwrap()
            .remove("environment");
        v["deployment_status"]["environment"] = json!("staging");
        v["deployment_status"]
            .as_object_mut()
            .unwrap()
            .remove("updated_at");
    });
    match github_events("deployment_status", &body)
        .unwrap()
        .as_slice()
    {
        [Event::Deployment(d)] => {
            assert_eq!(d.environment, "staging");
            // created_at 2024-05-14T14:21:08Z
            assert_eq!(d.finished_at, 1_715_696_468_000);
        }
        other => panic!("{other:?}"),
    }
    let neither = edited(GH_DEPLOY_SUCCESS, |v| {
        v["deployment"]
            .as_object_mut()
            .unwrap()
            .remove("environment");
        v["deployment_status"]
            .as_object_mut()
            .unwrap()
            .remove("environment");
    });
    let m = invalid(github_events("deployment_status", &neither));
    assert!(m.starts_with("deployment.environment: missing"), "{m}");
}

#[test]
fn github_incident_issue_maps_to_an_incident() {
    let events = github_events("issues", GH_ISSUE_INCIDENT).unwrap();
    assert_eq!(
        events,
        vec![Event::Incident(Incident {
            source: "github".into(),
            id: "octo-org/Payments-API#87".into(),
            service: "payments-api".into(),
            started_at: 1_715_697_602_000, // 2024-05-14T14:40:02Z
            resolved_at: Some(1_715_702_731_000), // 2024-05-14T16:05:31Z
            deployment: None,
            title: None,
            severity: None,
            url: None,
            labels: Default::default(),
        })]
    );
}

#[test]
fn github_open_or_reopened_incident_is_unresolved() {
    // Reopened: state open, GitHub keeps no closed_at, but even a stale one is ignored.
    let body = edited(GH_ISSUE_INCIDENT, |v| {
        v["action"] = json!("reopened");
        v["issue"]["state"] = json!("open");
    });
    match github_events("issues", &body).unwrap().as_slice() {
        [Event::Incident(i)] => {
            assert_eq!(i.id, "octo-org/Payments-API#87");
            assert_eq!(i.started_at, 1_715_697_602_000);
            assert_eq!(i.resolved_at, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn github_closed_incident_without_closed_at_names_the_field() {
    let body = edited(GH_ISSUE_INCIDENT, |v| v["issue"]["closed_at"] = Value::Null);
    assert_eq!(
        invalid(github_events("issues", &body)),
        "issue.closed_at: missing"
    );
}

#[test]
fn github_incident_closed_before_it_started_is_invalid() {
    let body = edited(GH_ISSUE_INCIDENT, |v| {
        v["issue"]["closed_at"] = json!("2024-05-14T14:00:00Z")
    });
    let m = invalid(github_events("issues", &body));
    assert!(m.starts_with("issue.closed_at: "), "{m}");
}

#[test]
fn github_issue_without_the_incident_label_gives_no_events() {
    assert_eq!(github_events("issues", GH_ISSUE_OTHER).unwrap(), vec![]);
    // Adding the label (any case) makes it one.
    let labelled = edited(GH_ISSUE_OTHER, |v| {
        v["action"] = json!("labeled");
        v["issue"]["labels"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "id": 1, "name": "INCIDENT", "color": "b60205" }));
    });
    match github_events("issues", &labelled).unwrap().as_slice() {
        [Event::Incident(i)] => {
            assert_eq!(i.id, "octo-org/Payments-API#88");
            assert_eq!(i.started_at, 1_715_698_961_000); // 2024-05-14T15:02:41Z
            assert_eq!(i.resolved_at, None);
        }
        other => panic!("{other:?}"),
    }
    // A label that merely contains the word is not the label.
    let similar = edited(GH_ISSUE_OTHER, |v| {
        v["issue"]["labels"] = json!([{ "name": "incident-review" }, { "name": "no incident" }]);
    });
    assert_eq!(github_events("issues", &similar).unwrap(), vec![]);
}

#[test]
fn github_ping_and_unknown_events_give_no_events() {
    let ping = br#"{"zen":"Design for failure.","hook_id":109948940,"hook":{"type":"Repository","id":109948940,"events":["push","deployment_status","issues"],"active":true,"config":{"content_type":"json","insecure_ssl":"0","url":"https://socle.example/hooks/github"}}}"#;
    assert_eq!(github_events("ping", ping).unwrap(), vec![]);
    assert_eq!(github_events("star", GH_PUSH).unwrap(), vec![]);
    assert_eq!(
        github_events("pull_request", b"not even json").unwrap(),
        vec![]
    );
    // The right header picks the mapping: a push body under `issues` has no issue.
    assert_eq!(invalid(github_events("issues", GH_PUSH)), "issue: missing");
}

#[test]
fn github_body_that_is_not_json_is_invalid() {
    let m = invalid(github_events("push", b"{\"ref\": "));
    assert!(m.starts_with("body: not JSON"), "{m}");
    let m = invalid(github_events("push", b"[]"));
    assert!(m.starts_with("body: "), "{m}");
}

// ------------------------------------------------------------------------------------------
// GitLab payloads
// ------------------------------------------------------------------------------------------

#[test]
fn gitlab_push_gives_changes_ordered_oldest_first_and_chained() {
    let events = gitlab_events("Push Hook", GL_PUSH).unwrap();
    assert_eq!(
        events,
        vec![
            // 2024-05-14T16:48:30+02:00, listed second
            change(
                "gitlab",
                GL_C1,
                "checkout-service",
                1_715_698_110_000,
                Some(GL_BEFORE)
            ),
            // 2024-05-14T17:02:11+02:00, listed first
            change(
                "gitlab",
                GL_C2,
                "checkout-service",
                1_715_698_931_000,
                Some(GL_C1)
            ),
        ]
    );
}

#[test]
fn gitlab_push_sorts_by_timestamp_whatever_the_listed_order() {
    let a = "1111111111111111111111111111111111111111";
    let b = "2222222222222222222222222222222222222222";
    let c = "3333333333333333333333333333333333333333";
    let body = edited(GL_PUSH, |v| {
        v["after"] = json!(c);
        v["commits"] = json!([
            { "id": b, "timestamp": "2024-05-14T10:00:00+00:00" },
            { "id": c, "timestamp": "2024-05-14T12:30:00+02:00" },
            { "id": a, "timestamp": "2024-05-14T11:59:00+02:00" },
        ]);
    });
    assert_eq!(
        parents(&gitlab_events("Push Hook", &body).unwrap()),
        vec![
            (a.into(), Some(GL_BEFORE.into())),
            (b.into(), Some(a.into())),
            (c.into(), Some(b.into())),
        ]
    );
}

#[test]
fn gitlab_push_with_equal_timestamps_keeps_history_order() {
    let a = "1111111111111111111111111111111111111111";
    let b = "2222222222222222222222222222222222222222";
    let c = "3333333333333333333333333333333333333333";
    let same = "2024-05-14T10:00:00Z";
    // Listed oldest first: stable order.
    let oldest_first = edited(GL_PUSH, |v| {
        v["after"] = json!(c);
        v["commits"] = json!([
            { "id": a, "timestamp": same },
            { "id": b, "timestamp": same },
            { "id": c, "timestamp": same },
        ]);
    });
    let expected = vec![
        (a.to_owned(), Some(GL_BEFORE.to_owned())),
        (b.into(), Some(a.into())),
        (c.into(), Some(b.into())),
    ];
    assert_eq!(
        parents(&gitlab_events("Push Hook", &oldest_first).unwrap()),
        expected
    );
    // Listed newest first (the head, `after`, comes first): turned around.
    let newest_first = edited(GL_PUSH, |v| {
        v["after"] = json!(c);
        v["commits"] = json!([
            { "id": c, "timestamp": same },
            { "id": b, "timestamp": same },
            { "id": a, "timestamp": same },
        ]);
    });
    assert_eq!(
        parents(&gitlab_events("Push Hook", &newest_first).unwrap()),
        expected
    );
}

#[test]
fn gitlab_new_branch_and_deleted_branch() {
    let created = edited(GL_PUSH, |v| v["before"] = json!(ZEROS));
    assert_eq!(
        parents(&gitlab_events("Push Hook", &created).unwrap()),
        vec![(GL_C1.into(), None), (GL_C2.into(), Some(GL_C1.into()))]
    );
    let deleted = edited(GL_PUSH, |v| {
        v["after"] = json!(ZEROS);
        v["checkout_sha"] = Value::Null;
        v["commits"] = json!([]);
        v["total_commits_count"] = json!(0);
    });
    assert_eq!(gitlab_events("Push Hook", &deleted).unwrap(), vec![]);
}

#[test]
fn gitlab_service_is_the_project_path() {
    // GitLab's project attributes have no `path`: the last segment of path_with_namespace.
    let events = gitlab_events("Push Hook", GL_PUSH).unwrap();
    assert!(events.iter().all(|e| e.service() == "checkout-service"));
    // `path` wins when sent.
    let with_path = edited(GL_PUSH, |v| v["project"]["path"] = json!("Checkout-API"));
    let events = gitlab_events("Push Hook", &with_path).unwrap();
    assert!(events.iter().all(|e| e.service() == "checkout-api"));
    // Only a name: lowercased.
    let name_only = edited(GL_PUSH, |v| {
        v["project"] = json!({ "id": 1187, "name": "Checkout" });
    });
    let events = gitlab_events("Push Hook", &name_only).unwrap();
    assert!(events.iter().all(|e| e.service() == "checkout"));
    let none = edited(GL_PUSH, |v| v["project"] = json!({ "id": 1187 }));
    let m = invalid(gitlab_events("Push Hook", &none));
    assert!(m.starts_with("project.path: missing"), "{m}");
}

#[test]
fn gitlab_deployment_success_maps_to_a_deployment() {
    let events = gitlab_events("Deployment Hook", GL_DEPLOY_SUCCESS).unwrap();
    assert_eq!(
        events,
        vec![Event::Deployment(Deployment {
            source: "gitlab".into(),
            id: "4821".into(),
            service: "checkout-service".into(),
            environment: "production".into(),
            status: "success".into(),
            finished_at: 1_715_700_045_000, // 2024-05-14 17:20:45 +0200
            changes: vec![],
            // From commit_url: the payload itself only has short_sha.
            commit: Some(GL_C2.into()),
        })]
    );
}

#[test]
fn gitlab_deployment_commit_prefers_sha_and_never_uses_a_short_sha() {
    let with_sha = edited(GL_DEPLOY_SUCCESS, |v| {
        v["sha"] = json!(GL_C1);
    });
    match gitlab_events("Deployment Hook", &with_sha)
        .unwrap()
        .as_slice()
    {
        [Event::Deployment(d)] => assert_eq!(d.commit.as_deref(), Some(GL_C1)),
        other => panic!("{other:?}"),
    }
    let no_url = edited(GL_DEPLOY_SUCCESS, |v| v["commit_url"] = Value::Null);
    match gitlab_events("Deployment Hook", &no_url)
        .unwrap()
        .as_slice()
    {
        [Event::Deployment(d)] => assert_eq!(d.commit, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn gitlab_deployment_statuses() {
    let failed = edited(GL_DEPLOY_SUCCESS, |v| v["status"] = json!("failed"));
    match gitlab_events("Deployment Hook", &failed)
        .unwrap()
        .as_slice()
    {
        [Event::Deployment(d)] => {
            assert_eq!(d.status, "failure");
            assert_eq!(d.id, "4821");
        }
        other => panic!("{other:?}"),
    }
    for status in ["running", "canceled", "created", "blocked"] {
        let body = edited(GL_DEPLOY_SUCCESS, |v| v["status"] = json!(status));
        assert_eq!(
            gitlab_events("Deployment Hook", &body).unwrap(),
            vec![],
            "{status}"
        );
    }
}

#[test]
fn gitlab_deployment_with_a_zoneless_timestamp_is_rejected() {
    let body = edited(GL_DEPLOY_SUCCESS, |v| {
        v["status_changed_at"] = json!("2024-05-14 17:20:45")
    });
    let m = invalid(gitlab_events("Deployment Hook", &body));
    assert!(m.starts_with("status_changed_at: "), "{m}");
    assert!(m.contains("no timezone"), "{m}");
}

#[test]
fn gitlab_deployment_errors_name_their_fields() {
    let no_status = edited(GL_DEPLOY_SUCCESS, |v| {
        v.as_object_mut().unwrap().remove("status");
    });
    assert_eq!(
        invalid(gitlab_events("Deployment Hook", &no_status)),
        "status: missing"
    );
    let no_id = edited(GL_DEPLOY_SUCCESS, |v| {
        v.as_object_mut().unwrap().remove("deployment_id");
    });
    assert_eq!(
        invalid(gitlab_events("Deployment Hook", &no_id)),
        "deployment_id: missing"
    );
    let no_time = edited(GL_DEPLOY_SUCCESS, |v| v["status_changed_at"] = Value::Null);
    assert_eq!(
        invalid(gitlab_events("Deployment Hook", &no_time)),
        "status_changed_at: missing"
    );
}

#[test]
fn gitlab_timestamps_in_the_formats_gitlab_sends() {
    assert_eq!(
        parse_gitlab_timestamp("2021-04-28 21:50:00 +0200"),
        Ok(1_619_639_400_000)
    );
    assert_eq!(
        parse_gitlab_timestamp("2021-04-28 19:50:00 +0000"),
        Ok(1_619_639_400_000)
    );
    assert_eq!(
        parse_gitlab_timestamp("2021-04-28 14:50:00 -0500"),
        Ok(1_619_639_400_000)
    );
    assert_eq!(
        parse_gitlab_timestamp("2013-12-03 17:15:43 UTC"),
        Ok(1_386_090_943_000)
    );
    assert_eq!(
        parse_gitlab_timestamp("2011-12-12T14:27:31+02:00"),
        Ok(1_323_692_851_000)
    );
    assert_eq!(
        parse_gitlab_timestamp("2024-05-14T15:31:07.123Z"),
        Ok(1_715_700_667_123)
    );
    for local in ["2021-04-28 21:50:00", "2021-04-28T21:50:00"] {
        let e = parse_gitlab_timestamp(local).unwrap_err().to_string();
        assert!(e.contains("no timezone"), "{local}: {e}");
    }
    for junk in ["", "yesterday", "2021-04-28", "2021-04-28 21:50:00 CEST"] {
        assert!(parse_gitlab_timestamp(junk).is_err(), "{junk}");
    }
}

#[test]
fn gitlab_incident_issue_maps_to_an_incident() {
    let events = gitlab_events("Issue Hook", GL_ISSUE_INCIDENT).unwrap();
    assert_eq!(
        events,
        vec![Event::Incident(Incident {
            source: "gitlab".into(),
            id: "shop/checkout-service#12".into(),
            service: "checkout-service".into(),
            started_at: 1_715_700_667_000, // 2024-05-14T15:31:07Z
            resolved_at: Some(1_715_703_164_000), // 2024-05-14T16:12:44Z
            deployment: None,
            title: None,
            severity: None,
            url: None,
            labels: Default::default(),
        })]
    );
}

#[test]
fn gitlab_incident_by_issue_type_and_in_older_timestamp_format() {
    let body = edited(GL_ISSUE_INCIDENT, |v| {
        let a = v["object_attributes"].as_object_mut().unwrap();
        a.remove("type");
        a.insert("issue_type".into(), json!("incident"));
        a.insert("state".into(), json!("opened"));
        a.insert("closed_at".into(), Value::Null);
        a.insert("created_at".into(), json!("2013-12-03 17:15:43 UTC"));
    });
    match gitlab_events("Confidential Issue Hook", &body)
        .unwrap()
        .as_slice()
    {
        [Event::Incident(i)] => {
            assert_eq!(i.id, "shop/checkout-service#12");
            assert_eq!(i.started_at, 1_386_090_943_000);
            assert_eq!(i.resolved_at, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn gitlab_issue_that_is_not_an_incident_gives_no_events() {
    for ty in ["Issue", "Task"] {
        let body = edited(GL_ISSUE_INCIDENT, |v| {
            v["object_attributes"]["type"] = json!(ty)
        });
        assert_eq!(gitlab_events("Issue Hook", &body).unwrap(), vec![], "{ty}");
    }
    // An `incident` label does not make a GitLab issue an incident.
    let labelled = edited(GL_ISSUE_INCIDENT, |v| {
        v["object_attributes"]["type"] = json!("Issue");
        v["object_attributes"]["labels"] = json!([{ "id": 5, "title": "incident" }]);
        v["labels"] = json!([{ "id": 5, "title": "incident" }]);
    });
    assert_eq!(gitlab_events("Issue Hook", &labelled).unwrap(), vec![]);
}

#[test]
fn gitlab_incident_errors_name_their_fields() {
    let no_iid = edited(GL_ISSUE_INCIDENT, |v| {
        v["object_attributes"]
            .as_object_mut()
            .unwrap()
            .remove("iid");
    });
    assert_eq!(
        invalid(gitlab_events("Issue Hook", &no_iid)),
        "object_attributes.iid: missing"
    );
    let zoneless = edited(GL_ISSUE_INCIDENT, |v| {
        v["object_attributes"]["closed_at"] = json!("2024-05-14 16:12:44")
    });
    let m = invalid(gitlab_events("Issue Hook", &zoneless));
    assert!(m.starts_with("object_attributes.closed_at: "), "{m}");
    assert!(m.contains("no timezone"), "{m}");
}

#[test]
fn gitlab_header_and_object_kind_must_agree() {
    let m = invalid(gitlab_events("Push Hook", GL_DEPLOY_SUCCESS));
    assert!(m.starts_with("object_kind: "), "{m}");
    let m = invalid(gitlab_events("Issue Hook", GL_PUSH));
    assert!(m.starts_with("object_kind: "), "{m}");
    let no_kind = edited(GL_PUSH, |v| {
        v.as_object_mut().unwrap().remove("object_kind");
    });
    assert_eq!(
        invalid(gitlab_events("Push Hook", &no_kind)),
        "object_kind: missing"
    );
}

#[test]
fn gitlab_other_hooks_give_no_events() {
    let tag_push = edited(GL_PUSH, |v| {
        v["object_kind"] = json!("tag_push");
        v["event_name"] = json!("tag_push");
        v["ref"] = json!("refs/tags/v1.4.0");
    });
    assert_eq!(gitlab_events("Tag Push Hook", &tag_push).unwrap(), vec![]);
    assert_eq!(gitlab_events("Pipeline Hook", b"{}").unwrap(), vec![]);
    assert_eq!(gitlab_events("", GL_PUSH).unwrap(), vec![]);
}

// ------------------------------------------------------------------------------------------
// Bounds
// ------------------------------------------------------------------------------------------

#[test]
fn bodies_over_five_mib_are_rejected() {
    assert_eq!(MAX_BODY, 5 * 1024 * 1024);
    // A valid JSON body just over the limit (padded with whitespace).
    let mut body = GH_PUSH.to_vec();
    body.resize(MAX_BODY + 1, b' ');
    let m = invalid(github_events("push", &body));
    assert!(m.starts_with("body: "), "{m}");
    invalid(gitlab_events("Push Hook", &body));
    // Exactly at the limit is read.
    body.truncate(MAX_BODY);
    assert_eq!(github_events("push", &body).unwrap().len(), 2);
}

#[test]
fn pushes_with_too_many_commits_are_rejected() {
    let commits = |n: usize| -> Value {
        (0..n)
            .map(|i| json!({ "id": format!("{i:040x}"), "timestamp": "2024-05-14T10:00:00Z" }))
            .collect()
    };
    let over = edited(GH_PUSH, |v| v["commits"] = commits(MAX_PUSH_COMMITS + 1));
    let m = invalid(github_events("push", &over));
    assert!(m.starts_with("commits: "), "{m}");
    let over = edited(GL_PUSH, |v| v["commits"] = commits(MAX_PUSH_COMMITS + 1));
    invalid(gitlab_events("Push Hook", &over));
    // GitHub's own cap (2048 per push) is accepted, chained in order.
    let at_cap = edited(GH_PUSH, |v| v["commits"] = commits(MAX_PUSH_COMMITS));
    let events = github_events("push", &at_cap).unwrap();
    assert_eq!(events.len(), MAX_PUSH_COMMITS);
    assert_eq!(
        parents(&events[MAX_PUSH_COMMITS - 1..]),
        vec![(
            format!("{:040x}", MAX_PUSH_COMMITS - 1),
            Some(format!("{:040x}", MAX_PUSH_COMMITS - 2))
        )]
    );
}
