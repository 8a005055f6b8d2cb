//! Scorecards and campaigns defined in catalog locations: an admin's location defines them and
//! a refresh reloads them; a member's location cannot define or override one, and a catalog
//! definition cannot take a built-in or platform name — each refusal at its file and line.

use std::sync::Arc;

use socle_app::scorecards::Scorecards;
use socle_app::{Actor, App, AppConfig, FixedClock};
use socle_catalog::EntityError;
use socle_store::{LocationTrust, Store};
use socle_testkit::Backend;

const T0: i64 = 1_780_000_000_000;

/// The platform directory's scorecard (`platform/scorecards/basics.yaml`).
const PLATFORM_CARD: &str = "apiVersion: socle.dev/v1alpha1
kind: Scorecard
metadata: {name: basics}
spec:
  rules:
    - id: owner
      check: {builtin: has-owner}
";

const COMPONENTS: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: shop, description: Sells.}
spec: {type: service, lifecycle: production, owner: team-a}
";

fn card(name: &str, title: &str) -> String {
    format!(
        "apiVersion: socle.dev/v1alpha1
kind: Scorecard
metadata:
  name: {name}
  title: {title}
spec:
  filter: {{kind: Component}}
  levels: [Low, High]
  rules:
    - id: described
      level: Low
      check: {{builtin: has-description}}
"
    )
}

const CAMPAIGN: &str = "apiVersion: socle.dev/v1alpha1
kind: Campaign
metadata: {name: systems-everywhere, title: A system for every service}
spec:
  filter: {kind: Component}
  start: 2026-05-01
  target: 2026-07-01
  brief: Every service belongs to a system.
  rules:
    - id: system
      check: {builtin: has-system}
";

async fn app(backend: Backend, dir: &std::path::Path) -> Option<Arc<App>> {
    let config = socle_testkit::store_config(backend, dir, "socle_app")?;
    let store = Store::open(&config).await.unwrap();
    let cards = socle_scorecard::load(PLATFORM_CARD, "scorecards/basics.yaml").unwrap();
    let settings = AppConfig {
        refresh_interval: None,
        scorecards: Scorecards::new(cards).unwrap(),
        ..Default::default()
    };
    Some(
        App::with_clock(store, settings, FixedClock::at(T0))
            .await
            .unwrap(),
    )
}

/// Writes `name` in `dir` and registers it with `trust`; returns the refresh's errors.
async fn register(
    app: &App,
    dir: &std::path::Path,
    name: &str,
    text: &str,
    trust: LocationTrust,
) -> Vec<EntityError> {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    let spec = socle_ingest::LocationSpec::file(file.to_string_lossy().into_owned());
    app.store
        .add_location(
            &spec.key(),
            &serde_json::to_value(&spec).unwrap(),
            "user:default/someone",
            trust,
            T0,
        )
        .await
        .unwrap();
    app.refresh(&spec).await.unwrap().errors
}

/// Rewrites a registered file and refreshes its location.
async fn rewrite(app: &App, dir: &std::path::Path, name: &str, text: &str) -> Vec<EntityError> {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    let spec = socle_ingest::LocationSpec::file(file.to_string_lossy().into_owned());
    app.refresh(&spec).await.unwrap().errors
}

fn scorecards(app: &App) -> Vec<(String, String)> {
    app.scorecard_list(&Actor::Anonymous)
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.title))
        .collect()
}

fn rules(errors: &[EntityError]) -> Vec<(&str, Option<u32>)> {
    errors.iter().map(|e| (e.rule.as_str(), e.line)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_location_defines_scorecards_and_campaigns_reloaded_on_refresh() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let text = format!(
            "{COMPONENTS}---\n{}---\n{CAMPAIGN}",
            card("service-basics", "Service basics")
        );
        let errors = register(
            &app,
            dir.path(),
            "org.yaml",
            &text,
            LocationTrust::Organisation,
        )
        .await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            scorecards(&app),
            [
                ("production-readiness".into(), "Production readiness".into()),
                ("basics".into(), "basics".into()),
                ("service-basics".into(), "Service basics".into()),
            ]
        );
        let campaigns: Vec<String> = app
            .campaign_list(&Actor::Anonymous)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(campaigns, ["systems-everywhere"]);
        // New definitions queue a pass; it scores the components, not the definitions.
        assert!(app.full_pass_queued());
        app.rescore_pending().await.unwrap();
        let r = app
            .scorecard_report(&Actor::Anonymous, "service-basics")
            .await
            .unwrap();
        assert_eq!(r.entities, 1);
        assert_eq!(r.distribution[2].entities, 1, "shop holds High: {r:?}");
        let c = app
            .campaign_report(&Actor::Anonymous, "systems-everywhere")
            .await
            .unwrap();
        assert_eq!((c.entities, c.passing), (1, 0));
        // A refresh that changes the file changes the scorecard; one that drops it drops it.
        let text = format!("{COMPONENTS}---\n{}", card("service-basics", "Renamed"));
        assert!(
            rewrite(&app, dir.path(), "org.yaml", &text)
                .await
                .is_empty()
        );
        assert_eq!(scorecards(&app)[2].1, "Renamed");
        assert!(app.campaign_list(&Actor::Anonymous).unwrap().is_empty());
        assert!(
            rewrite(&app, dir.path(), "org.yaml", COMPONENTS)
                .await
                .is_empty()
        );
        assert_eq!(scorecards(&app).len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_location_can_neither_define_nor_override_a_scorecard_or_campaign() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        // Lines 1, 14, 27: an override of the built-in, a new scorecard, a campaign.
        let text = format!(
            "{}---\n{}---\n{CAMPAIGN}",
            card("production-readiness", "Everyone passes"),
            card("lenient", "Lenient")
        );
        let errors = register(&app, dir.path(), "mine.yaml", &text, LocationTrust::Team).await;
        assert_eq!(
            rules(&errors),
            [
                ("scorecard.untrusted", Some(1)),
                ("scorecard.untrusted", Some(14)),
                ("scorecard.untrusted", Some(27)),
            ],
            "{errors:?}"
        );
        assert!(
            errors[0].to_string().contains("mine.yaml:1"),
            "{}",
            errors[0]
        );
        assert!(
            errors[0]
                .message
                .contains("only a location registered by an admin"),
            "{}",
            errors[0].message
        );
        assert_eq!(
            scorecards(&app),
            [
                ("production-readiness".into(), "Production readiness".into()),
                ("basics".into(), "basics".into()),
            ]
        );
        assert!(app.campaign_list(&Actor::Anonymous).unwrap().is_empty());
        assert!(app.snapshot().get("scorecard:default/lenient").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_definition_cannot_take_a_builtin_or_platform_name() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let text = format!(
            "{}---\n{}---\n{}",
            card("production-readiness", "Everyone passes"),
            card("basics", "Other basics"),
            card("extra", "Extra")
        );
        let errors = register(
            &app,
            dir.path(),
            "org.yaml",
            &text,
            LocationTrust::Organisation,
        )
        .await;
        assert_eq!(
            rules(&errors),
            [("scorecard.taken", Some(1)), ("scorecard.taken", Some(14))],
            "{errors:?}"
        );
        assert_eq!(errors[1].path, "metadata.name");
        assert!(
            errors[1].message.contains("\"basics\""),
            "{}",
            errors[1].message
        );
        let list = app.scorecard_list(&Actor::Anonymous).unwrap();
        let sources: Vec<(&str, &str)> = list
            .iter()
            .map(|c| (c.name.as_str(), c.source.as_str()))
            .collect();
        assert_eq!(
            sources[0],
            ("production-readiness", "builtin/production-readiness.yaml")
        );
        assert_eq!(sources[1], ("basics", "scorecards/basics.yaml"));
        assert_eq!(sources[2].0, "extra");
        assert!(sources[2].1.ends_with("org.yaml"), "{}", sources[2].1);
        assert_eq!(list.len(), 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_definition_is_refused_at_its_line_and_the_good_one_kept() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(Backend::Sqlite, dir.path()).await.unwrap();
    let good = card("service-basics", "Service basics");
    assert!(
        register(
            &app,
            dir.path(),
            "org.yaml",
            &good,
            LocationTrust::Organisation
        )
        .await
        .is_empty()
    );
    // Line 11: a rule at a level the scorecard does not have.
    let bad = good.replace("      level: Low\n", "      level: Platinum\n");
    let errors = rewrite(&app, dir.path(), "org.yaml", &bad).await;
    assert_eq!(
        rules(&errors),
        [("scorecard.invalid", Some(11))],
        "{errors:?}"
    );
    assert_eq!(errors[0].path, "spec.rules[0].level");
    assert_eq!(
        errors[0].entity.as_deref(),
        Some("scorecard:default/service-basics")
    );
    assert!(
        errors[0].message.contains("unknown level"),
        "{}",
        errors[0].message
    );
    // The previous good version stays active.
    assert_eq!(scorecards(&app)[2].1, "Service basics");
}

/// A full pass builds facts a chunk at a time: the chunks together are exactly the facts built
/// at once, in the same order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_built_in_chunks_equal_facts_built_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(Backend::Sqlite, dir.path()).await.unwrap();
    let mut text = COMPONENTS.to_owned();
    for i in 0..5 {
        text.push_str(&format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: svc-{i}}}\nspec: {{type: service, lifecycle: production, owner: team-a}}\n"
        ));
    }
    assert!(
        register(
            &app,
            dir.path(),
            "c.yaml",
            &text,
            LocationTrust::Organisation
        )
        .await
        .is_empty()
    );
    let at_once = app.facts_in_chunks(None, usize::MAX, |f| f).await.unwrap();
    assert_eq!(at_once.len(), 1);
    let chunks = app.facts_in_chunks(None, 2, |f| f).await.unwrap();
    assert_eq!(
        chunks.iter().map(Vec::len).collect::<Vec<_>>(),
        [2, 2, 2, 1]
    );
    assert_eq!(chunks.concat(), at_once.concat());
}
