//! Surveys: who may answer which round, once; results per team only past the threshold, with
//! the previous round compared; nothing that links an answer to its author (store rows, audit
//! log, errors). Both databases.

use std::collections::BTreeMap;
use std::sync::Arc;

use socle_app::surveys::Surveys;
use socle_app::{Actor, App, AppConfig, ErrorCode, FixedClock, Principal};
use socle_store::{Role, Store};
use socle_survey::{Outcome, Summary};
use socle_testkit::Backend;

/// 2026-03-10T00:00:00Z.
const T0: i64 = 1_773_100_800_000;
const DAY: i64 = 86_400_000;

const SURVEY: &str = "apiVersion: socle.dev/v1alpha1
kind: Survey
metadata: {name: pulse, title: Pulse}
spec:
  audience: {teams: [eng]}
  opens: 2026-02-01
  recurrence: monthly
  openForDays: 14
  questions:
    - {id: happy, type: likert, text: I am happy.}
    - {id: recommend, type: enps, text: Recommend?}
    - {id: wish, type: text, text: A wish?}
";

/// `eng` has two teams under it; `sales` is outside the audience.
fn org() -> String {
    let mut out = String::new();
    let group = |name: &str, parent: Option<&str>| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {name}\nspec:\n  type: team\n{}  children: []\n---\n",
            parent
                .map(|p| format!("  parent: {p}\n"))
                .unwrap_or_default()
        )
    };
    out.push_str(&group("eng", None));
    out.push_str(&group("team-a", Some("eng")));
    out.push_str(&group("team-b", Some("eng")));
    out.push_str(&group("sales", None));
    let user = |name: &str, team: &str| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: {name}\nspec:\n  memberOf: [{team}]\n---\n"
        )
    };
    for i in 0..6 {
        out.push_str(&user(&format!("a{i}"), "team-a"));
    }
    for i in 0..2 {
        out.push_str(&user(&format!("b{i}"), "team-b"));
    }
    out.push_str(&user("sam", "sales"));
    out
}

fn person(name: &str) -> Actor {
    with_role(name, Role::Member)
}

fn with_role(name: &str, role: Role) -> Actor {
    Actor::Principal(Principal {
        token_id: "t".into(),
        subject: format!("user:default/{name}"),
        role,
    })
}

async fn app(backend: Backend, dir: &std::path::Path) -> Option<(Arc<App>, Arc<FixedClock>)> {
    let config = socle_testkit::store_config(backend, dir, "socle_app")?;
    let store = Store::open(&config).await.unwrap();
    let survey = socle_survey::load(SURVEY, "surveys/pulse.yaml").unwrap();
    let settings = AppConfig {
        refresh_interval: None,
        gitops_root: dir.join("gitops"),
        surveys: Surveys::new(survey).unwrap(),
        ..Default::default()
    };
    let clock = FixedClock::at(T0);
    let app = App::with_clock(store, settings, clock.clone())
        .await
        .unwrap();
    let catalog = dir.join("catalog");
    std::fs::create_dir_all(&catalog).unwrap();
    std::fs::write(catalog.join("org.yaml"), org()).unwrap();
    let spec =
        socle_ingest::LocationSpec::file(catalog.join("org.yaml").to_string_lossy().into_owned());
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
    Some((app, clock))
}

fn answers(happy: u8, recommend: u8, wish: &str) -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([
        ("happy".into(), vec![happy.to_string()]),
        ("recommend".into(), vec![recommend.to_string()]),
        ("wish".into(), vec![wish.into()]),
    ])
}

fn shown(g: &socle_survey::GroupResult) -> Option<usize> {
    match &g.outcome {
        Outcome::Shown { respondents, .. } => Some(*respondents),
        Outcome::NotEnoughAnswers => None,
    }
}

async fn survey_rounds_and_results(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((app, clock)) = app(backend, dir.path()).await else {
        return;
    };
    // Round 2026-03-01 is open (14 days from the 1st).
    let list = app.list_surveys(&person("a0")).await.unwrap();
    let pulse = list.iter().find(|s| s.name == "pulse").unwrap();
    assert_eq!(pulse.open_round.as_ref().unwrap().id, "2026-03-01");
    assert_eq!(pulse.rounds, ["2026-03-01", "2026-02-01"]);
    assert_eq!(pulse.threshold, 5);
    let you = pulse.you.clone().unwrap();
    assert!(you.in_audience && !you.answered);

    for i in 0..6 {
        let r = app
            .answer_survey(
                &person(&format!("a{i}")),
                "pulse",
                &answers(4, 9, &format!("wish a{i}")),
            )
            .await
            .unwrap();
        assert_eq!(r.round, "2026-03-01");
    }
    app.answer_survey(&person("b0"), "pulse", &answers(1, 0, "from b0"))
        .await
        .unwrap();
    // A second answer to the round is refused and changes nothing.
    let again = app
        .answer_survey(&person("a0"), "pulse", &answers(1, 0, "x"))
        .await
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::Conflict);
    assert!(
        app.list_surveys(&person("a0")).await.unwrap()[1]
            .you
            .clone()
            .unwrap()
            .answered
    );
    // Outside the audience, not a person, not a member, a bad answer.
    let e = app
        .answer_survey(&person("sam"), "pulse", &answers(3, 5, ""))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(
        e.message.contains("asks the teams group:default/eng"),
        "{}",
        e.message
    );
    let robot = Actor::Principal(Principal {
        token_id: "t".into(),
        subject: "serviceaccount:ci".into(),
        role: Role::Admin,
    });
    assert_eq!(
        app.answer_survey(&robot, "pulse", &answers(3, 5, ""))
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        app.answer_survey(&with_role("b1", Role::Viewer), "pulse", &answers(3, 5, ""))
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    let bad = app
        .answer_survey(&person("b1"), "pulse", &answers(9, 5, ""))
        .await
        .unwrap_err();
    assert_eq!(bad.code, ErrorCode::InvalidRequest);
    assert_eq!(bad.detail_lines(), ["happy: a whole number from 1 to 5"]);

    // Team b (1 respondent) is hidden, and so is team a: the organisation minus team a would
    // be team b's answer.
    let r = app
        .survey_results(&Actor::Anonymous, "pulse", None)
        .await
        .unwrap();
    assert_eq!(r.round.id, "2026-03-01");
    assert_eq!(r.previous_round.as_deref(), Some("2026-02-01"));
    let groups: Vec<(&str, Option<usize>)> = r
        .groups
        .iter()
        .map(|g| (g.group.as_str(), shown(g)))
        .collect();
    assert_eq!(
        groups,
        [
            ("organisation", Some(7)),
            ("group:default/team-a", None),
            ("group:default/team-b", None)
        ]
    );
    let Outcome::Shown { questions, .. } = &r.groups[0].outcome else {
        panic!()
    };
    let Summary::Likert {
        mean, distribution, ..
    } = &questions[0].summary
    else {
        panic!()
    };
    assert_eq!(
        (*mean, distribution.as_slice()),
        (Some(3.57), &[1, 0, 0, 6, 0][..])
    );
    let Summary::Text { texts } = &questions[2].summary else {
        panic!()
    };
    assert_eq!(
        texts.first().map(String::as_str),
        Some("from b0"),
        "sorted, without names"
    );

    // Nothing was audited, and no stored row names a person next to an answer.
    assert!(
        app.store
            .audit_log(100)
            .await
            .unwrap()
            .iter()
            .all(|e| !e.action.starts_with("survey"))
    );
    for row in app
        .store
        .survey_responses("pulse", "2026-03-01")
        .await
        .unwrap()
    {
        assert!(!row.answers.contains("user:"), "{}", row.answers);
        assert!(row.team.starts_with("group:default/team-"));
    }

    // Closed after 14 days; the next round compares with this one.
    clock.set(T0 + 5 * DAY);
    let e = app
        .answer_survey(&person("b1"), "pulse", &answers(3, 5, ""))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict);
    clock.set(T0 + 22 * DAY);
    for i in 0..5 {
        app.answer_survey(&person(&format!("a{i}")), "pulse", &answers(5, 10, ""))
            .await
            .unwrap();
    }
    let r = app
        .survey_results(&Actor::Anonymous, "pulse", Some("2026-04-01"))
        .await
        .unwrap();
    assert_eq!(r.previous_round.as_deref(), Some("2026-03-01"));
    let Outcome::Shown { questions, .. } = &r.groups[0].outcome else {
        panic!()
    };
    assert_eq!(
        (questions[0].previous, questions[0].change),
        (Some(3.57), Some(1.43))
    );
    assert_eq!(
        shown(&r.groups[1]),
        Some(5),
        "team a alone: nothing hidden to protect"
    );
    assert_eq!(
        app.survey_results(&Actor::Anonymous, "pulse", Some("2026-05-01"))
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    assert_eq!(
        app.survey_results(&Actor::InvalidToken, "pulse", None)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Unauthenticated
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survey_rounds_and_results_sqlite() {
    survey_rounds_and_results(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survey_rounds_and_results_postgres() {
    survey_rounds_and_results(Backend::Postgres).await;
}
