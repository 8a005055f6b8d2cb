//! Webhook payloads of any shape, for every event type: never a panic; a payload is mapped to
//! events or refused as invalid (never "unauthorized": that is the signature's business).

use proptest::prelude::*;
use serde_json::Value;
use socle_dora::webhooks::{
    WebhookError, github_events, gitlab_events, verify_github, verify_gitlab,
};

const FIXTURES: [(&str, bool, &[u8]); 8] = [
    ("push", true, include_bytes!("fixtures/github-push.json")),
    (
        "deployment_status",
        true,
        include_bytes!("fixtures/github-deployment-status-success.json"),
    ),
    (
        "deployment_status",
        true,
        include_bytes!("fixtures/github-deployment-status-pending.json"),
    ),
    (
        "issues",
        true,
        include_bytes!("fixtures/github-issue-incident-closed.json"),
    ),
    (
        "issues",
        true,
        include_bytes!("fixtures/github-issue-not-incident.json"),
    ),
    (
        "Push Hook",
        false,
        include_bytes!("fixtures/gitlab-push.json"),
    ),
    (
        "Deployment Hook",
        false,
        include_bytes!("fixtures/gitlab-deployment-success.json"),
    ),
    (
        "Issue Hook",
        false,
        include_bytes!("fixtures/gitlab-issue-incident.json"),
    ),
];

const GITHUB_EVENTS: [&str; 5] = [
    "push",
    "deployment_status",
    "issues",
    "ping",
    "workflow_run",
];
const GITLAB_EVENTS: [&str; 6] = [
    "Push Hook",
    "Deployment Hook",
    "Issue Hook",
    "Confidential Issue Hook",
    "Note Hook",
    "",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        Just(Value::from("aaaaaaaaaaaaaaaaaa\u{e9}")),
        Just(Value::from("2021-04-28 21:50:00 +0200\u{e9}")),
        Just(Value::from("2026-01-05T10:00:00\u{301}Z")),
        Just(Value::from("success")),
        Just(Value::from("closed")),
        Just(Value::from("incident")),
        Just(Value::from(
            "https://gitlab.example.com/-/commit/😀😀😀😀😀😀😀😀😀😀"
        )),
        (0usize..600).prop_map(|n| Value::from("é".repeat(n))),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every path to a value in `v` (object keys and array indices).
fn paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                at.push(k.clone());
                paths(x, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                at.push(i.to_string());
                paths(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn replace_at(v: &mut Value, path: &[String], new: Value) {
    let Some((first, rest)) = path.split_first() else {
        *v = new;
        return;
    };
    let next = match v {
        Value::Object(m) => m.get_mut(first),
        Value::Array(a) => first.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    };
    if let Some(x) = next {
        replace_at(x, rest, new);
    }
}

fn events(github: bool, event: &str, body: &[u8]) -> Result<usize, String> {
    let r = if github {
        github_events(event, body)
    } else {
        gitlab_events(event, body)
    };
    match r {
        Ok(events) => Ok(events.len()),
        Err(WebhookError::Invalid(m)) => Err(m),
        Err(WebhookError::Unauthorized(m)) => panic!("a payload is never unauthorized: {m}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_for_every_event_type(v in json_value()) {
        let body = serde_json::to_vec(&v).unwrap();
        for e in GITHUB_EVENTS {
            if let Err(m) = events(true, e, &body) {
                prop_assert!(!m.is_empty());
            }
        }
        for e in GITLAB_EVENTS {
            if let Err(m) = events(false, e, &body) {
                prop_assert!(!m.is_empty());
            }
        }
    }

    #[test]
    fn arbitrary_bytes_for_every_event_type(body in prop::collection::vec(any::<u8>(), 0..512)) {
        for e in GITHUB_EVENTS {
            let _ = events(true, e, &body);
        }
        for e in GITLAB_EVENTS {
            let _ = events(false, e, &body);
        }
        prop_assert!(verify_github(b"secret", &body, Some(&String::from_utf8_lossy(&body))).is_err());
        prop_assert!(verify_gitlab("token", Some(&String::from_utf8_lossy(&body))).is_err() || body == b"token");
    }

    /// Real payloads with one field, anywhere, replaced by a value of any shape.
    #[test]
    fn mutated_real_payloads(which in 0usize..FIXTURES.len(), pick in any::<prop::sample::Index>(), new in json_value()) {
        let (event, github, fixture) = FIXTURES[which];
        let mut v: Value = serde_json::from_slice(fixture).unwrap();
        let mut all = Vec::new();
        paths(&v, &mut Vec::new(), &mut all);
        let path = pick.get(&all).clone();
        replace_at(&mut v, &path, new);
        let body = serde_json::to_vec(&v).unwrap();
        match events(github, event, &body) {
            Ok(n) => prop_assert!(n <= 2048),
            Err(m) => prop_assert!(!m.is_empty()),
        }
    }
}

#[test]
fn every_fixture_still_maps() {
    for (event, github, body) in FIXTURES {
        assert!(events(github, event, body).is_ok(), "{event}");
    }
}

#[test]
fn deeply_nested_payloads_are_invalid_not_a_stack_overflow() {
    let body = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
    for e in GITHUB_EVENTS.iter().take(3) {
        let m = events(true, e, body.as_bytes()).unwrap_err();
        assert!(m.starts_with("body: not JSON"), "{m}");
    }
    let m = events(false, "Push Hook", body.as_bytes()).unwrap_err();
    assert!(m.starts_with("body: not JSON"), "{m}");
}

#[test]
fn a_multi_byte_commit_timestamp_is_invalid_not_a_panic() {
    let mut v: Value = serde_json::from_slice(FIXTURES[0].2).unwrap();
    v["commits"][0]["timestamp"] = Value::from("aaaaaaaaaaaaaaaaaa\u{e9}");
    let m = events(true, "push", &serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(m.starts_with("commits[0].timestamp: "), "{m}");
    assert!(m.contains("is not RFC 3339"), "{m}");
}
