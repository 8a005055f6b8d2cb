//! Survey responses: once per person and round, stored apart from who answered. On SQLite and
//! PostgreSQL.

use socle_store::{Store, SurveySubmission};

use super::open;

async fn a_person_answers_a_round_once(store: &Store) {
    let submit = |person: &'static str, answers: &'static str| {
        store.submit_survey_response(
            "devex",
            "2026-01-05",
            person,
            "group:default/team-a",
            answers,
        )
    };
    assert_eq!(
        submit("user:default/bob", r#"{"q":1}"#).await.unwrap(),
        SurveySubmission::Recorded
    );
    assert_eq!(
        submit("user:default/ann", r#"{"q":2}"#).await.unwrap(),
        SurveySubmission::Recorded
    );
    assert_eq!(
        submit("user:default/ann", r#"{"q":5}"#).await.unwrap(),
        SurveySubmission::AlreadyAnswered
    );
    assert!(
        store
            .survey_answered("devex", "2026-01-05", "user:default/ann")
            .await
            .unwrap()
    );
    assert!(
        !store
            .survey_answered("devex", "2026-04-05", "user:default/ann")
            .await
            .unwrap()
    );
    assert!(
        !store
            .survey_answered("devex", "2026-01-05", "user:default/cat")
            .await
            .unwrap()
    );
    // Another round is another answer.
    assert_eq!(
        store
            .submit_survey_response(
                "devex",
                "2026-04-05",
                "user:default/ann",
                "group:default/team-a",
                "{}"
            )
            .await
            .unwrap(),
        SurveySubmission::Recorded
    );
    let mut got: Vec<String> = store
        .survey_responses("devex", "2026-01-05")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.answers)
        .collect();
    got.sort();
    assert_eq!(got, [r#"{"q":1}"#, r#"{"q":2}"#]);
}
both!(a_person_answers_a_round_once);

async fn concurrent_answers_are_all_kept_once(store: &Store) {
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            // Each person sends twice at the same time.
            let person = format!("user:default/p{}", i % 6);
            s.submit_survey_response("pulse", "2026-01-01", &person, "group:default/t", "{}")
                .await
                .unwrap()
        }));
    }
    let mut recorded = 0;
    for t in tasks {
        if t.await.unwrap() == SurveySubmission::Recorded {
            recorded += 1;
        }
    }
    assert_eq!(recorded, 6);
    assert_eq!(
        store
            .survey_responses("pulse", "2026-01-01")
            .await
            .unwrap()
            .len(),
        6
    );
}
both!(concurrent_answers_are_all_kept_once);

/// What the schema holds: responses with no person, no time and no id shared with the
/// respondents, who are one sorted list per round (no row per person, so no order of arrival).
#[test]
fn the_schema_has_nothing_that_joins_a_person_to_an_answer() {
    let sql = include_str!("../../migrations/0040_surveys.sql");
    let columns = |table: &str| -> Vec<String> {
        let start = sql.find(&format!("CREATE TABLE {table} (")).unwrap();
        let body = &sql[start..];
        let body = &body[body.find('(').unwrap() + 1..body.find(");").unwrap()];
        body.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("PRIMARY KEY"))
            .map(|l| l.split_whitespace().next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        columns("survey_answers"),
        ["survey", "round", "slot", "team", "answers"]
    );
    assert_eq!(columns("survey_rounds"), ["survey", "round", "respondents"]);
    assert_eq!(sql.matches("CREATE TABLE").count(), 2);
}

async fn respondents_are_kept_sorted_whatever_the_order_of_arrival(store: &Store) {
    for p in ["user:default/zoe", "user:default/adam", "user:default/max"] {
        store
            .submit_survey_response("s", "r", p, "group:default/t", "{}")
            .await
            .unwrap();
    }
    for p in ["user:default/zoe", "user:default/adam", "user:default/max"] {
        assert!(store.survey_answered("s", "r", p).await.unwrap(), "{p}");
    }
    assert!(
        !store
            .survey_answered("s", "r", "user:default/bea")
            .await
            .unwrap()
    );
}
both!(respondents_are_kept_sorted_whatever_the_order_of_arrival);
