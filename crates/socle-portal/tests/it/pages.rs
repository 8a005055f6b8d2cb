//! The pages show what the platform knows.

use hyper::StatusCode;

use crate::harness::{BACKENDS, start};

#[tokio::test]
async fn catalog_searches_filters_sorts_and_pages() {
    let s = start("sqlite", false).await.unwrap();
    let r = s.get("/catalog?q=sells", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("href=\"/catalog/component/default/svc-a\""));
    assert!(r.body.contains("1–1 of 1 entities"), "{}", r.body);
    // Facets: kind counts over everything, system filter narrows.
    let all = s.get("/catalog", None).await.body;
    assert!(all.contains("1–8 of 8 entities"), "{all}");
    assert!(all.contains("value=\"component\""));
    let shop = s
        .get("/catalog?system=system:default/shop", None)
        .await
        .body;
    assert!(shop.contains("1–1 of 1 entities"), "{shop}");
    assert!(
        shop.contains("value=\"system:default/shop\" checked"),
        "{shop}"
    );
    let two = s.get("/catalog?kind=component&kind=api", None).await.body;
    assert!(two.contains("1–3 of 3 entities"), "{two}");
    // The fragment (search as you type) is the live region only, sorted by name on request.
    let frag = s
        .get("/catalog?kind=component&sort=name&fragment=1", None)
        .await
        .body;
    assert!(!frag.contains("<html"));
    let a = frag.find("svc-a").unwrap();
    let b = frag.find("svc-b").unwrap();
    assert!(a < b);
    insta::assert_snapshot!("catalog_fragment_components", frag);
    // Pages are bounded and linked.
    let p = s.get("/catalog?page=999", None).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("No entity matches") || p.body.contains("of 8 entities"));
}

#[tokio::test]
async fn entity_page_shows_about_graph_apis_deployments_and_dora() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        s.deploy("svc-a", "dev").await;
        s.deploy("svc-a", "prod").await;
        let b = s.get("/catalog/component/default/svc-a", None).await.body;
        // About.
        assert!(
            b.contains("href=\"/catalog/group/default/team-a\">team-a</a>"),
            "{b}"
        );
        assert!(b.contains("href=\"/catalog/system/default/shop\""));
        // Graph: an SVG with the related entities as links.
        assert!(b.contains("<svg"));
        for r in [
            "/catalog/component/default/svc-b",
            "/catalog/api/default/orders-api",
            "/catalog/group/default/team-a",
        ] {
            assert!(b.contains(&format!("href=\"{r}\"")), "{r}");
        }
        assert!(b.contains("dependsOn"));
        // APIs and deployments.
        assert!(b.contains("Provided APIs"));
        assert!(b.contains("ghcr.io/acme/svc-a:1.0.0"));
        // DORA: the production deploy counts.
        assert!(b.contains("1 production deploys"), "{b}");
        // The API page lists the operations.
        let api = s.get("/catalog/api/default/orders-api", None).await.body;
        assert!(api.contains("/orders"));
        assert!(api.contains("GET") && api.contains("POST"));
        // The team page: members, owned, delivery charts.
        let t = s.get("/catalog/group/default/team-a", None).await.body;
        assert!(t.contains("Members (1)"));
        assert!(t.contains("href=\"/catalog/user/default/alice\""));
        assert!(t.contains("Delivery (90 days, with sub-teams)"));
        assert!(
            t.contains("class=\"chart\"") || t.contains("class=\"chart "),
            "{t}"
        );
        // Unknown entity: 404 page.
        assert_eq!(
            s.get("/catalog/component/default/nope", None).await.status,
            StatusCode::NOT_FOUND
        );
        // Other pages render.
        for p in [
            "/",
            "/teams",
            "/deployments",
            "/dora",
            "/dora?scope=team&name=team-a",
            "/create",
            "/create/rust-axum-service",
        ] {
            let r = s.get(p, None).await;
            assert_eq!(r.status, StatusCode::OK, "{p}: {}", r.body);
            assert!(r.body.contains("<main id=\"main\""), "{p}");
        }
        let dora = s.get("/dora", None).await.body;
        assert!(dora.contains("Deployment frequency"));
        assert!(dora.contains("team-a"), "the team table lists team-a");
    }
}

#[tokio::test]
async fn golden_path_form_validates_then_creates_registers_and_deploys() {
    let s = start("sqlite", false).await.unwrap();
    let (secret, _) = s.sign_in(&s.alice).await;
    let csrf = s.csrf(&secret).await;
    let form = s.get("/create/rust-axum-service", Some(&secret)).await.body;
    assert!(form.contains("name=\"p.name\""));
    assert!(form.contains("<datalist"), "owner picker offers groups");
    assert!(form.contains("team-a"));
    // Mistakes come back with messages; nothing runs.
    let bad = s
        .post_form(
            "/create/rust-axum-service",
            Some(&secret),
            &[
                ("csrf", &csrf),
                ("p.name", "Bad Name!"),
                ("p.description", "x"),
                ("p.owner", "team-a"),
                ("p.repoUrl", "https://github.com/acme/x"),
            ],
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("aria-invalid=\"true\""), "{}", bad.body);
    assert!(
        bad.body.contains("value=\"Bad Name!\""),
        "the value is kept"
    );
    assert!(
        s.state
            .store
            .list_template_runs(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A good form runs the golden path.
    let ok = s
        .post_form(
            "/create/rust-axum-service",
            Some(&secret),
            &[
                ("csrf", &csrf),
                ("p.name", "orders-web"),
                ("p.description", "Orders on the web"),
                ("p.owner", "team-a"),
                ("p.system", "shop"),
                ("p.lifecycle", "experimental"),
                ("p.repoUrl", "https://github.com/acme/orders-web"),
                ("p.deployToDev", "true"),
            ],
            &[],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    // The run goes on in the background: its live page refreshes itself until the run is
    // recorded, then sends the browser to the record.
    let live_url = ok
        .headers
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(live_url.starts_with("/create/live/"), "{live_url}");
    let mut run_url = None;
    for _ in 0..600 {
        let r = s.get(&live_url, Some(&secret)).await;
        if r.status == StatusCode::SEE_OTHER {
            run_url = Some(
                r.headers
                    .get("location")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
            break;
        }
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("http-equiv=\"refresh\""), "{}", r.body);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let run_url = run_url.expect("the run ends");
    assert!(run_url.starts_with("/create/runs/run-"));
    assert_eq!(
        s.get("/create/live/nope", None).await.status,
        StatusCode::NOT_FOUND
    );
    let run = s.get(&run_url, Some(&secret)).await.body;
    assert!(run.contains("status-completed"), "{run}");
    assert!(
        run.contains("[publish]") && run.contains("[deploy]"),
        "the log shows the steps: {run}"
    );
    assert!(
        run.contains("href=\"/catalog/component/default/orders-web\""),
        "{run}"
    );
    // Registered and deployed to dev.
    assert!(
        s.state
            .snapshot()
            .get("component:default/orders-web")
            .is_some()
    );
    let d = s
        .state
        .store
        .list_deployments(Some("orders-web"), Some("dev"), 5)
        .await
        .unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].actor, "user:default/alice");
    // The new service's docs come from its own repository (Socle-hosted Git).
    let docs = s
        .get("/catalog/component/default/orders-web/docs", None)
        .await;
    assert_eq!(docs.status, StatusCode::OK, "{}", docs.body);
    // And its SLO, from the golden path's slo.yaml in the same repository: no data yet.
    let slos = s
        .get("/catalog/component/default/orders-web/slos", None)
        .await;
    assert_eq!(slos.status, StatusCode::OK, "{}", slos.body);
    assert!(slos.body.contains("requests-availability"), "{}", slos.body);
    assert!(slos.body.contains("no data"), "{}", slos.body);
}

/// Counts for the hour before now: `errors` of 1,000 requests failing.
fn hour_of(errors: i64) -> Vec<socle_app::slo::SloIntervalInput> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let fmt = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    vec![socle_app::slo::SloIntervalInput {
        start: fmt(now - 3600),
        end: fmt(now - 1),
        good: 1000 - errors,
        total: 1000,
    }]
}

#[tokio::test]
async fn slo_pages_show_budgets_burn_down_and_the_organisation_list() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        let admin = socle_app::Actor::Principal(socle_app::Principal {
            token_id: "t".into(),
            subject: "user:default/admin".into(),
            role: socle_store::Role::Admin,
        });
        s.state
            .push_slo_events(
                &admin,
                socle_app::slo::SloEventsInput {
                    entity: "svc-a".into(),
                    slo: "availability".into(),
                    environment: "prod".into(),
                    intervals: hour_of(50),
                },
            )
            .await
            .unwrap();
        let page = s.get("/catalog/component/default/svc-a/slos", None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let b = page.body;
        assert!(b.contains("budget spent"), "{b}");
        // 50 errors in 1,000 against a 1% budget: four budgets' worth over.
        assert!(b.contains("-400.0%"), "{b}");
        assert!(b.contains("<svg class=\"chart\""), "a burn-down chart: {b}");
        assert!(b.contains("Change failure rate"), "{b}");
        // The organisation list, from the budgets the page kept.
        let list = s.get("/slos", None).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(
            list.body
                .contains("href=\"/catalog/component/default/svc-a/slos?environment=prod\""),
            "{}",
            list.body
        );
        assert!(
            list.body.contains("1</strong> with their budget spent"),
            "{}",
            list.body
        );
        // The entity page's tile.
        let entity = s.get("/catalog/component/default/svc-a", None).await.body;
        assert!(entity.contains("Service level objectives"), "{entity}");
        // An unknown environment is the user's mistake, not a fault.
        let bad = s
            .get(
                "/catalog/component/default/svc-a/slos?environment=moon",
                None,
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    }
}
