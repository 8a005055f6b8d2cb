//! Surveys over HTTP: answering once, results past the threshold, and nothing a caller — an
//! admin included — can read that links an answer to its author: not the results, not the
//! audit log, not the errors. Both databases.

use serde_json::{Value, json};

use crate::harness::{Server, both_backends};

const SURVEY: &str = "apiVersion: socle.dev/v1alpha1
kind: Survey
metadata: {name: pulse}
spec:
  opens: 2020-01-06
  closes: 2099-12-31
  questions:
    - {id: flow, type: likert, text: Flow}
    - {id: used, type: multiple, options: [CLI, API], text: Used}
    - {id: wish, type: text, text: Wish}
";

fn org() -> String {
    let mut out = String::from(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n---\n",
    );
    for i in 0..6 {
        out.push_str(&format!(
            "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: p{i}\nspec:\n  memberOf: [team-a]\n---\n"
        ));
    }
    out
}

async fn server(backend: &str) -> Option<Server> {
    let config = socle_api::ServerConfig {
        refresh_interval: None,
        surveys: socle_app::surveys::Surveys::new(
            socle_survey::load(SURVEY, "surveys/pulse.yaml").unwrap(),
        )
        .unwrap(),
        ..Default::default()
    };
    let s = crate::harness::start_with(backend, config).await?;
    s.register_catalog(&org()).await;
    Some(s)
}

async fn answers_are_anonymous_over_http(backend: &str) {
    let Some(s) = server(backend).await else {
        return;
    };
    let mut tokens = Vec::new();
    for i in 0..6 {
        tokens.push(s.token(&format!("p{i}"), "member").await);
    }
    // Below the threshold: not even the count.
    let (status, r) = s
        .call("GET", "/api/v1/surveys/pulse/results", None, None)
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r["groups"],
        json!([{"group": "organisation", "status": "not_enough_answers"}])
    );
    for (i, t) in tokens.iter().enumerate().take(4) {
        let body = json!({"answers": {"flow": i + 1, "used": ["API"], "wish": format!("secret wish {i}")}});
        let (status, r) = s
            .call("POST", "/api/v1/surveys/pulse/answers", Some(t), Some(body))
            .await;
        assert_eq!(status, 201, "{r}");
        assert_eq!(r, json!({"survey": "pulse", "round": "2020-01-06"}));
    }
    let (_, r) = s
        .call("GET", "/api/v1/surveys/pulse/results", None, None)
        .await;
    assert_eq!(
        r["groups"],
        json!([{"group": "organisation", "status": "not_enough_answers"},
               {"group": "group:default/team-a", "status": "not_enough_answers"}])
    );
    // A second answer, a bad one, one from an unknown question: refused, nothing echoed back
    // but the question ids.
    let (status, r) = s
        .call(
            "POST",
            "/api/v1/surveys/pulse/answers",
            Some(&tokens[0]),
            Some(json!({"answers": {"flow": 5}})),
        )
        .await;
    assert_eq!(status, 409, "{r}");
    let (status, r) = s
        .call(
            "POST",
            "/api/v1/surveys/pulse/answers",
            Some(&tokens[4]),
            Some(json!({"answers": {"flow": 7, "used": {"x": 1}}})),
        )
        .await;
    assert_eq!(status, 400, "{r}");
    assert_eq!(
        r["error"]["message"],
        "answers.used: a number, a string or a list of strings"
    );
    let (status, r) = s
        .call(
            "POST",
            "/api/v1/surveys/pulse/answers",
            Some(&tokens[4]),
            Some(json!({"answers": {"flow": 7, "nope": 1}})),
        )
        .await;
    assert_eq!(status, 400, "{r}");
    assert_eq!(
        r["error"]["details"],
        json!([
            "nope: this survey has no such question",
            "flow: a whole number from 1 to 5",
            "used: an answer is required"
        ])
    );
    let body = json!({"answers": {"flow": 5, "used": ["CLI", "API"]}});
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/surveys/pulse/answers",
            Some(&tokens[4]),
            Some(body),
        )
        .await;
    assert_eq!(status, 201);
    // Five respondents: shown, texts sorted, and no name anywhere in the results.
    let (status, raw) = s
        .call_raw("GET", "/api/v1/surveys/pulse/results", Some(&s.admin), None)
        .await;
    assert_eq!(status, 200);
    let r: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(r["groups"][0]["respondents"], 5);
    assert_eq!(r["groups"][0]["questions"][0]["mean"], 3.0);
    assert_eq!(
        r["groups"][0]["questions"][1]["counts"],
        json!([{"option": "CLI", "count": 1}, {"option": "API", "count": 5}])
    );
    assert_eq!(r["groups"][0]["questions"][2]["texts"][0], "secret wish 0");
    assert!(!raw.contains("user:"), "{raw}");
    // The audit log (an admin's view of every mutation) holds nothing about surveys.
    let (status, raw) = s
        .call_raw("GET", "/api/v1/audit", Some(&s.admin), None)
        .await;
    assert_eq!(status, 200);
    assert!(
        !raw.contains("survey") && !raw.contains("secret wish"),
        "{raw}"
    );
    // A person sees that they answered, never what.
    let (_, list) = s
        .call("GET", "/api/v1/surveys", Some(&tokens[0]), None)
        .await;
    let pulse = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "pulse")
        .unwrap();
    assert_eq!(pulse["you"], json!({"in_audience": true, "answered": true}));
}
both_backends!(answers_are_anonymous_over_http);
