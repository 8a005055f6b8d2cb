//! Campaigns: progress per team over time (burn-up) from the stored results, reminders posted
//! to the webhook a team names (a receiver started here), and promotion of the campaign's rules
//! into a scorecard file that loads.

use std::sync::Arc;

use socle_app::scorecards::Scorecards;
use socle_app::scorecards::campaigns::Delivery;
use socle_app::{Actor, App, AppConfig, FixedClock};
use socle_store::Store;
use socle_testkit::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// 2026-05-28.
const T0: i64 = 1_780_000_000_000;
const DAY: i64 = 86_400_000;

const CAMPAIGN: &str = "apiVersion: socle.dev/v1alpha1
kind: Campaign
metadata:
  name: describe-everything
  title: Describe every service
spec:
  filter: {kind: Component}
  start: 2026-05-18
  target: 2026-06-17
  brief: A description tells a newcomer what a service is for <in one line>.
  rules:
    - id: described
      check: {builtin: has-description}
";

fn org(webhook: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
  annotations:
    socle.dev/campaign-webhook: {webhook}
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
kind: Component
metadata:
  name: shop
  description: Sells.
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: search
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: cart
spec:
  type: service
  lifecycle: production
  owner: team-b
"
    )
}

async fn start(backend: Backend, dir: &std::path::Path) -> Option<(Arc<App>, Arc<FixedClock>)> {
    let config = socle_testkit::store_config(backend, dir, "socle_app")?;
    let clock = FixedClock::at(T0);
    Some((open(&config, clock.clone()).await, clock))
}

/// An application over the store `config` names (a second one is another replica).
async fn open(config: &socle_store::StoreConfig, clock: Arc<FixedClock>) -> Arc<App> {
    let store = Store::open(config).await.unwrap();
    let campaigns = socle_scorecard::load_campaigns(CAMPAIGN, "campaigns/c.yaml").unwrap();
    let settings = AppConfig {
        refresh_interval: None,
        scorecards: Scorecards::with_campaigns(Vec::new(), campaigns).unwrap(),
        ..Default::default()
    };
    App::with_clock(store, settings, clock).await.unwrap()
}

async fn register(app: &App, dir: &std::path::Path, yaml: &str) {
    let file = dir.join("org.yaml");
    std::fs::write(&file, yaml).unwrap();
    let spec = socle_ingest::LocationSpec::file(file.to_string_lossy().into_owned());
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
    // What the background does at start: a pass over the catalog.
    app.rescore_all().await.unwrap();
}

/// A webhook receiver on loopback: answers `status` to each request and hands over its body.
async fn receiver(status: u16) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/team-a", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let n = conn.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break String::new();
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break format!("{}\n{body}", head.lines().next().unwrap_or_default());
                    }
                }
            };
            let _ = tx.send(body);
            let answer =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            let _ = conn.write_all(answer.as_bytes()).await;
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_per_team_over_time_and_reminders_to_the_teams_webhook() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some((app, clock)) = start(backend, dir.path()).await else {
            continue;
        };
        let (url, mut bodies) = receiver(200).await;
        register(&app, dir.path(), &org(&url)).await;
        // Day 10 of 30 (a third of the time gone): team-a has 1 of 2 described (on track),
        // team-b 0 of 1 (behind).
        let r = app
            .campaign_report(&Actor::Anonymous, "describe-everything")
            .await
            .unwrap();
        assert_eq!((r.entities, r.passing), (3, 1));
        assert!((r.expected - 10.0 / 30.0).abs() < 1e-9, "{}", r.expected);
        let teams: Vec<(&str, usize, usize, bool)> = r
            .teams
            .iter()
            .map(|t| (t.team.as_str(), t.passing, t.entities, t.behind))
            .collect();
        assert_eq!(
            teams,
            [
                ("group:default/team-b", 0, 1, true),
                ("group:default/team-a", 1, 2, false)
            ]
        );
        // Reminders: team-a's webhook receives a Slack-compatible message; team-b names none.
        let sent = app.send_campaign_reminders().await.unwrap();
        let outcomes: Vec<(&str, Delivery)> = sent
            .iter()
            .map(|o| (o.team.as_str(), o.outcome.clone()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("group:default/team-b", Delivery::NoWebhook),
                ("group:default/team-a", Delivery::Sent)
            ]
        );
        let got = bodies.recv().await.unwrap();
        let (line, body) = got.split_once('\n').unwrap();
        assert_eq!(line, "POST /hooks/team-a HTTP/1.1");
        let msg: serde_json::Value = serde_json::from_str(body).unwrap();
        let text = msg["text"].as_str().unwrap();
        assert!(text.starts_with("Campaign \"Describe every service\": 1 of 2 entities of group:default/team-a pass (target 2026-06-17). Still to do: component:default/search."), "{text}");
        assert!(text.ends_with("&lt;in one line&gt;."), "{text}");

        // The next day search is described: team-a's burn-up reads 1/2 then 2/2.
        clock.advance(DAY);
        let described = org(&url).replace(
            "  name: search\n",
            "  name: search\n  description: Finds.\n",
        );
        let file = dir.path().join("org.yaml");
        std::fs::write(&file, described).unwrap();
        let spec = socle_ingest::LocationSpec::file(file.to_string_lossy().into_owned());
        app.refresh(&spec).await.unwrap();
        let r = app
            .campaign_report(&Actor::Anonymous, "describe-everything")
            .await
            .unwrap();
        assert!(
            r.teams.iter().all(|t| t.burnup.is_empty()),
            "a campaign's report carries the whole catalog's burn-up only"
        );
        let a = app
            .campaign_team(&Actor::Anonymous, "describe-everything", "team-a")
            .await
            .unwrap();
        assert_eq!(
            (a.team.as_str(), a.passing, a.entities),
            ("group:default/team-a", 2, 2)
        );
        assert!(a.failing.is_empty());
        let b = app
            .campaign_team(&Actor::Anonymous, "describe-everything", "team-b")
            .await
            .unwrap();
        assert_eq!(b.failing.len(), b.entities - b.passing);
        let burn: Vec<(&str, i64, i64)> = a
            .burnup
            .iter()
            .map(|d| (d.date.as_str(), d.passing, d.total))
            .collect();
        assert_eq!(burn, [("2026-05-28", 1, 2), ("2026-05-29", 2, 2)]);
        assert_eq!(r.burnup.last().map(|d| (d.passing, d.total)), Some((2, 3)));
        // Only team-b is reminded now.
        let sent = app.send_campaign_reminders().await.unwrap();
        assert_eq!(sent.len(), 1);
        // Unknown campaigns are not found.
        let e = app
            .campaign_report(&Actor::Anonymous, "nope")
            .await
            .unwrap_err();
        assert_eq!(e.code, socle_app::ErrorCode::NotFound);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_is_reported_and_campaigns_stay_out_of_scorecard_lists() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = start(Backend::Sqlite, dir.path()).await.unwrap();
    let (url, _bodies) = receiver(500).await;
    register(&app, dir.path(), &org(&url)).await;
    let sent = app.send_campaign_reminders().await.unwrap();
    let a = sent
        .iter()
        .find(|o| o.team == "group:default/team-a")
        .unwrap();
    assert_eq!(a.outcome, Delivery::Failed("HTTP 500".into()));
    // A webhook nobody listens at fails, not the others.
    let dir2 = tempfile::tempdir().unwrap();
    let (app2, _) = start(Backend::Sqlite, dir2.path()).await.unwrap();
    register(&app2, dir2.path(), &org("http://127.0.0.1:9/x")).await;
    let sent = app2.send_campaign_reminders().await.unwrap();
    assert!(
        sent.iter()
            .any(|o| matches!(o.outcome, Delivery::Failed(_))),
        "{sent:?}"
    );
    // Campaigns are not scorecards.
    let names: Vec<String> = app
        .scorecard_list(&Actor::Anonymous)
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["production-readiness"]);
    let cards = app
        .entity_scorecards(&Actor::Anonymous, "component:default/shop")
        .await
        .unwrap();
    assert!(cards.iter().all(|c| !c.scorecard.starts_with("campaign:")));
    assert!(
        app.scorecard_report(&Actor::Anonymous, "campaign:describe-everything")
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaigns_rules_are_promoted_into_a_scorecard_file_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = start(Backend::Sqlite, dir.path()).await.unwrap();
    let yaml = app
        .promote_campaign(
            &Actor::Anonymous,
            "describe-everything",
            "production-readiness",
            "Silver",
        )
        .unwrap();
    let card = socle_scorecard::load(&yaml, "promoted.yaml")
        .unwrap_or_else(|e| panic!("{e:?}\n{yaml}"))
        .remove(0);
    let builtin = &socle_scorecard::builtin_scorecards()[0];
    assert_eq!(card.name, "production-readiness");
    assert_eq!(card.levels, builtin.levels);
    assert_eq!(card.rules.len(), builtin.rules.len() + 1);
    let promoted = card.rules.last().unwrap();
    assert_eq!((promoted.id.as_str(), promoted.level), ("described", 1));
    // The earlier rules are unchanged (the rules, their levels and checks).
    assert_eq!(&card.rules[..builtin.rules.len()], &builtin.rules[..]);
    for (into, level, code) in [
        (
            "production-readiness",
            "Platinum",
            socle_app::ErrorCode::InvalidRequest,
        ),
        ("nope", "Gold", socle_app::ErrorCode::NotFound),
    ] {
        let e = app
            .promote_campaign(&Actor::Anonymous, "describe-everything", into, level)
            .unwrap_err();
        assert_eq!(e.code, code, "{e}");
    }
}

/// The outcome of team-a's reminder in a run.
fn team_a(sent: &[socle_app::scorecards::campaigns::ReminderOutcome]) -> Delivery {
    sent.iter()
        .find(|o| o.team == "group:default/team-a")
        .map(|o| o.outcome.clone())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_is_delivered_once_a_day_whatever_restarts_and_replicas() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(config) = socle_testkit::store_config(backend, dir.path(), "socle_app") else {
            continue;
        };
        let clock = FixedClock::at(T0);
        let app = open(&config, clock.clone()).await;
        let (url, mut bodies) = receiver(200).await;
        register(&app, dir.path(), &org(&url)).await;
        assert_eq!(
            team_a(&app.send_campaign_reminders().await.unwrap()),
            Delivery::Sent
        );
        // Sent twice the same day by this process, by a restart of it and by another replica:
        // the receiver gets one delivery.
        assert_eq!(
            team_a(&app.send_campaign_reminders().await.unwrap()),
            Delivery::AlreadySent
        );
        let replica = open(&config, clock.clone()).await;
        assert_eq!(
            team_a(&replica.send_campaign_reminders().await.unwrap()),
            Delivery::AlreadySent
        );
        bodies.recv().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(bodies.try_recv().is_err(), "a second delivery");
        // The campaign's report says when the team was last reminded.
        let r = app
            .campaign_report(&Actor::Anonymous, "describe-everything")
            .await
            .unwrap();
        let a = r
            .teams
            .iter()
            .find(|t| t.team == "group:default/team-a")
            .unwrap();
        let reminder = a.reminder.as_ref().unwrap();
        assert_eq!(
            (reminder.status, reminder.sent_at, reminder.period),
            (socle_store::ReminderStatus::Sent, Some(T0), T0 / DAY)
        );
        let b = r
            .teams
            .iter()
            .find(|t| t.team == "group:default/team-b")
            .unwrap();
        assert_eq!(b.reminder, None);
        // The next day's reminder is another one.
        clock.advance(DAY);
        assert_eq!(
            team_a(&replica.send_campaign_reminders().await.unwrap()),
            Delivery::Sent
        );
        bodies.recv().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reminder_is_tried_again_and_keeps_the_last_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let (app, clock) = start(Backend::Sqlite, dir.path()).await.unwrap();
    let (url, _bodies) = receiver(200).await;
    register(&app, dir.path(), &org(&url)).await;
    assert_eq!(
        team_a(&app.send_campaign_reminders().await.unwrap()),
        Delivery::Sent
    );
    // The next day the receiver is gone: the attempt fails, and the next one tries again.
    clock.advance(DAY);
    let file = dir.path().join("org.yaml");
    std::fs::write(&file, org("http://127.0.0.1:9/x")).unwrap();
    let spec = socle_ingest::LocationSpec::file(file.to_string_lossy().into_owned());
    app.refresh(&spec).await.unwrap();
    assert!(matches!(
        team_a(&app.send_campaign_reminders().await.unwrap()),
        Delivery::Failed(_)
    ));
    assert!(matches!(
        team_a(&app.send_campaign_reminders().await.unwrap()),
        Delivery::Failed(_)
    ));
    let reminders = app
        .store
        .campaign_reminders("describe-everything")
        .await
        .unwrap();
    assert_eq!(reminders.len(), 1);
    let r = &reminders[0];
    assert_eq!(
        (r.status, r.sent_at, r.period),
        (socle_store::ReminderStatus::Failed, Some(T0), T0 / DAY + 1)
    );
    assert!(r.error.is_some());
}
