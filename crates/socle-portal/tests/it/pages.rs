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
    assert!(all.contains("1–9 of 9 entities"), "{all}");
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
    assert!(p.body.contains("No entity matches") || p.body.contains("of 9 entities"));
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
        // The ticket alert fires (burn rate 5 over 6h and 3d, over its factor 1) and links to
        // its generated rule; the page alert (factor 14.4) does not fire.
        let ticket = "href=\"/catalog/component/default/svc-a/slos/rules#alert-svc-a-availability-ticket\">ticket</a>";
        assert!(b.contains(ticket), "{b}");
        assert!(!b.contains("\">page</a>"), "{b}");
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
        // The entity page's tiles: one SLO, its budget spent.
        let entity = s.get("/catalog/component/default/svc-a", None).await.body;
        assert!(entity.contains("Service level objectives"), "{entity}");
        assert!(
            entity.contains("<div class=\"name\">Budget spent</div><div class=\"value\">1</div>"),
            "{entity}"
        );
        // The owning team's page shows the same budget.
        let team = s.get("/catalog/group/default/team-a", None).await.body;
        assert!(
            team.contains("Reliability: error budgets in prod"),
            "{team}"
        );
        assert!(
            team.contains("href=\"/catalog/component/default/svc-a/slos?environment=prod\""),
            "{team}"
        );
        let other = s.get("/catalog/group/default/team-b", None).await.body;
        assert!(
            !other.contains("Reliability: error budgets"),
            "not team-b's: {other}"
        );
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

/// A workload the built-in guardrails accept (probes, resources, pinned image, non-root…).
const COMPLIANT: &str = "apiVersion: score.dev/v1b1
metadata:
  name: svc-a
containers:
  web:
    image: ghcr.io/acme/svc-a:1.0.0
    resources:
      requests: {cpu: 100m, memory: 128Mi}
      limits: {cpu: 500m, memory: 256Mi}
    livenessProbe:
      httpGet: {path: /healthz, port: 8080}
    readinessProbe:
      httpGet: {path: /ready, port: 8080}
";

#[tokio::test]
async fn blocked_deploys_show_on_home_and_entity_pages_with_the_report() {
    for backend in BACKENDS {
        let Some(s) = crate::harness::start_guarded(backend).await else {
            continue;
        };
        // A workload without probes or limits is blocked in dev; nothing is deployed.
        let r = s.try_deploy("svc-a", "dev").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let (secret, _) = s.sign_in(&s.alice).await;
        let home = s.get("/", Some(&secret)).await.body;
        let failing = &home[home.find("id=\"failing\"").unwrap()..];
        let failing = &failing[..failing.find("</section>").unwrap()];
        assert!(failing.contains("svc-a</a> in dev"), "{failing}");
        let page = s
            .get("/catalog/component/default/svc-a", Some(&secret))
            .await
            .body;
        assert!(
            page.contains("dev: <span class=\"outcome-blocked\">blocked</span>"),
            "{page}"
        );
        assert!(page.contains("probe"), "the violations are listed: {page}");
        // Once a compliant workload deploys, dev is no longer failing.
        let ok = s.try_deploy_text(COMPLIANT, "dev").await;
        if ok.status != StatusCode::CREATED {
            // The built-in pack may want more (e.g. security context): the report says what.
            panic!("compliant workload refused: {}", ok.body);
        }
        let home = s.get("/", Some(&secret)).await.body;
        assert!(home.contains("Nothing blocked."), "{home}");
        // svc-b's violations waived in dev only: it deploys there, and promoting it to staging
        // from the page shows the guardrail report; nothing reaches staging.
        let r = s.try_deploy("svc-b", "dev").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let latest = s
            .state
            .store
            .policy_results("component:default/svc-b", Some("dev"), 1)
            .await
            .unwrap();
        let rules: Vec<String> = latest[0].findings["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["rule"].as_str().unwrap().to_owned())
            .collect();
        assert!(!rules.is_empty());
        for rule in &rules {
            s.state
                .store
                .create_waiver(socle_store::Waiver {
                    id: String::new(),
                    rule: rule.clone(),
                    entity: "component:default/svc-b".into(),
                    environment: "dev".into(),
                    reason: "prototype".into(),
                    owner: "group:default/team-b".into(),
                    expires_at: socle_api::now_ms() + 86_400_000,
                    created_by: "serviceaccount:admin".into(),
                    created_at: socle_api::now_ms(),
                    revoked_at: None,
                })
                .await
                .unwrap();
        }
        s.deploy("svc-b", "dev").await;
        let b = s.get("/catalog/component/default/svc-b", None).await.body;
        assert!(
            b.contains("Waivers") && b.contains("prototype") && b.contains("in force"),
            "{b}"
        );
        let (bob, _) = s.sign_in(&s.bob).await;
        let csrf = s.csrf(&bob).await;
        let r = s
            .post_form(
                "/deployments/promote",
                Some(&bob),
                &[
                    ("service", "svc-b"),
                    ("from", "dev"),
                    ("to", "staging"),
                    ("csrf", &csrf),
                ],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("Blocked by guardrails"), "{}", r.body);
        assert!(
            r.body.contains("<li class=\"outcome-blocked\">"),
            "{}",
            r.body
        );
        assert!(
            s.state
                .store
                .list_deployments(Some("svc-b"), Some("staging"), 5)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn incidents_show_on_the_service_and_dora_pages() {
    use socle_dora::{Event, Incident};
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        let now = s.state.now_ms();
        let hour = 3_600_000;
        let incident = |id: &str| Incident {
            source: "pagerduty".into(),
            id: id.into(),
            service: "svc-a".into(),
            started_at: now - 48 * hour,
            resolved_at: None,
            deployment: None,
            title: None,
            severity: None,
            url: None,
            labels: Default::default(),
        };
        let known = Incident {
            title: Some("Checkout <script>alert(1)</script> down".into()),
            severity: Some("SEV1".into()),
            url: Some("https://pd.example/incidents/PD-1?a=1&b=2".into()),
            labels: [("team".to_owned(), "a<b".to_owned())].into(),
            resolved_at: Some(now - 45 * hour),
            ..incident("PD-1")
        };
        let evil = Incident {
            title: Some("Evil link".into()),
            url: Some("javascript:alert(2)".into()),
            started_at: now - 24 * hour,
            ..incident("PD-2")
        };
        s.state
            .store
            .dora_upsert(vec![Event::Incident(known), Event::Incident(evil)])
            .await
            .unwrap();
        let link = "<a href=\"https://pd.example/incidents/PD-1?a=1&amp;b=2\" rel=\"noopener noreferrer\">Checkout &lt;script&gt;alert(1)&lt;/script&gt; down</a>";
        let page = s.get("/catalog/component/default/svc-a", None).await.body;
        assert!(
            page.contains("<caption>Incidents of svc-a (90 days)</caption>"),
            "{page}"
        );
        let dash = s.get("/dora?scope=service&name=svc-a", None).await.body;
        assert!(
            dash.contains("<caption>Incidents, service svc-a (90d)</caption>"),
            "{dash}"
        );
        for body in [&page, &dash] {
            // Title linked to the tool, escaped; severity; restored in 3 h; the label.
            assert!(body.contains(link), "{body}");
            assert!(body.contains("<td>SEV1</td>"));
            assert!(body.contains("<td>3 h</td>"), "{body}");
            assert!(body.contains("<span class=\"tag\">team=a&lt;b</span>"));
            // A link that is not http(s) is text; an open incident says so.
            assert!(body.contains("<td>Evil link <span class=\"muted\">PD-2</span></td>"));
            assert!(!body.contains("javascript:alert(2)\""));
            assert!(body.contains("<strong>open</strong>"));
            // Newest first.
            assert!(body.find("Evil link").unwrap() < body.find("SEV1").unwrap());
        }
        // The organisation's page names the service; svc-b has none.
        let org = s.get("/dora", None).await.body;
        assert!(
            org.contains("href=\"/dora?scope=service&amp;name=svc-a\">svc-a</a>"),
            "{org}"
        );
        let b = s.get("/catalog/component/default/svc-b", None).await.body;
        assert!(b.contains("No incident in this window."));
    }
}

#[tokio::test]
async fn the_slo_rules_page_anchors_every_alert_the_slo_page_links_to() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        let page = s
            .get("/catalog/component/default/svc-a/slos/rules", None)
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let b = page.body;
        for severity in ["page", "ticket"] {
            assert!(
                b.contains(&format!("<tr id=\"alert-svc-a-availability-{severity}\">")),
                "{severity}: {b}"
            );
        }
        assert!(b.contains("<strong>SvcAAvailability</strong>"), "{b}");
        assert!(b.contains("slo:sli_error:ratio_rate5m"), "{b}");
        // The YAML download is what `socle slo generate` writes: a Prometheus rule file.
        let yaml = s
            .get("/catalog/component/default/svc-a/slos/rules.yaml", None)
            .await;
        assert_eq!(yaml.status, StatusCode::OK);
        let doc: serde_json::Value =
            serde_saphyr::from_str(yaml.body.trim_start_matches("---\n")).unwrap();
        let groups = doc["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 3, "SLI recordings, metadata, alerts");
        let alerts = groups[2]["rules"].as_array().unwrap();
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0]["alert"], "SvcAAvailability");
        // An entity without SLOs has no rules page.
        let none = s
            .get("/catalog/component/default/svc-b/slos/rules", None)
            .await;
        assert_eq!(none.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_data_contract_page_shows_its_schema_with_personal_data_marked() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        let page = s.get("/catalog/datacontract/default/orders", None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let b = page.body;
        assert!(
            b.contains("<span class=\"level level-elite\">gold</span>"),
            "{b}"
        );
        assert!(
            b.contains("<span class=\"level level-low\">pii</span>"),
            "{b}"
        );
        assert!(
            b.contains("<dt>Personal or restricted columns</dt><dd><span class=\"level level-low\">1</span>"),
            "{b}"
        );
        assert!(!b.contains("<script>alert('contract')"), "escaped: {b}");
        // Its producer, as a relation both ways.
        assert!(
            b.contains("href=\"/catalog/component/default/svc-a\""),
            "{b}"
        );
        let producer = s.get("/catalog/component/default/svc-a", None).await.body;
        assert!(
            producer.contains("href=\"/catalog/datacontract/default/orders\""),
            "{producer}"
        );
    }
}

#[tokio::test]
async fn the_data_page_lists_products_and_the_processing_register() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        let page = s.get("/data", None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let b = page.body;
        assert!(b.contains("1 data products"), "{b}");
        assert!(
            b.contains("href=\"/catalog/datacontract/default/orders\">orders</a>"),
            "{b}"
        );
        // The register: orders.email (pii), owned by team-a; order_id is not listed.
        assert!(
            b.contains("<td><code>orders</code></td><td><code>email</code></td><td><span class=\"level level-low\">pii</span></td>"),
            "{b}"
        );
        assert!(!b.contains("<code>order_id</code>"), "{b}");
        // Facets: each value with its count, a link narrowing to it; a filter that keeps
        // nothing empties the list and the register.
        assert!(
            b.contains(r#"<a href="/data?domain=sales">sales (1)</a>"#),
            "{b}"
        );
        assert!(
            b.contains(r#"<a href="/data?classification=pii">pii (1)</a>"#),
            "{b}"
        );
        let narrowed = s
            .get("/data?domain=sales&classification=pii", None)
            .await
            .body;
        assert!(narrowed.contains("1 data products"), "{narrowed}");
        assert!(
            narrowed.contains(r#"aria-current="true"><strong>sales</strong> (1)</a>"#),
            "{narrowed}"
        );
        assert!(
            narrowed.contains(r#"<a href="/data">Clear the filters</a>"#),
            "{narrowed}"
        );
        let none = s.get("/data?tier=bronze", None).await.body;
        assert!(none.contains("0 data products"), "{none}");
        assert!(
            none.contains("No column is classified as personal or restricted."),
            "{none}"
        );
        // The same over the API.
        let api = s.get("/api/v1/data/products", None).await;
        assert_eq!(api.status, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
        assert_eq!(v["products"][0]["sensitiveColumns"], 1);
        assert_eq!(v["register"][0]["owner"], "group:default/team-a");
    }
}
/// A scorecard whose texts carry markup: every one of them is escaped where it lands.
const CARD: &str = r#"apiVersion: socle.dev/v1alpha1
kind: Scorecard
metadata:
  name: basics
  title: "Basics <script>alert('card')</script>"
spec:
  levels: ["<b>Low</b>", High]
  rules:
    - id: described
      level: "<b>Low</b>"
      check: {builtin: has-description}
    - id: tier
      level: High
      title: "Has a tier <img src=x onerror=alert(1)>"
      fixit: "Add socle.dev/tier <script>alert('fix')</script>"
      facts: [entity.metadata.annotations]
      check:
        rego: |
          pass if input.entity.metadata.annotations["socle.dev/tier"]
"#;

const CAMPAIGN: &str = r#"apiVersion: socle.dev/v1alpha1
kind: Campaign
metadata:
  name: describe
  title: "Describe <script>alert('c')</script>"
spec:
  filter: {kind: Component}
  start: 2020-01-01
  target: 2099-12-31
  brief: "Describe it <script>alert('brief')</script>"
  rules:
    - id: in-a-system
      check: {builtin: has-system}
"#;

#[tokio::test]
async fn scorecard_pages_show_levels_leaderboard_and_what_to_fix_escaped() {
    for backend in BACKENDS {
        let Some(s) = crate::harness::start_with(backend, |c| {
            let cards = socle_scorecard::load(CARD, "basics.yaml").unwrap();
            let campaigns = socle_scorecard::load_campaigns(CAMPAIGN, "c.yaml").unwrap();
            c.scorecards =
                socle_app::scorecards::Scorecards::with_campaigns(cards, campaigns).unwrap();
        })
        .await
        else {
            continue;
        };
        // Never scored: the page says so at once and queues the pass (the harness runs no
        // background: the drain is run here).
        let page = s.get("/scorecards/basics", None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Not scored yet"), "{}", page.body);
        assert!(s.state.full_pass_queued());
        s.state.rescore_pending().await.unwrap();
        let list = s.get("/scorecards", None).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(
            list.body.contains("href=\"/scorecards/basics\""),
            "{}",
            list.body
        );
        let page = s.get("/scorecards/basics", None).await;
        assert_eq!(page.status, StatusCode::OK);
        let b = page.body;
        assert!(
            !b.contains("<script>alert") && !b.contains("<b>Low") && !b.contains("<img src=x"),
            "{b}"
        );
        assert!(b.contains("Basics &lt;script&gt;"), "{b}");
        // The distribution chart: svc-a and svc-b (described) hold the first level; the
        // groups, users and system are not described.
        assert!(b.contains("class=\"chart bars\""), "{b}");
        assert!(b.contains("&lt;b&gt;Low&lt;/b&gt;: 2"), "{b}");
        // The leaderboard names the teams; the history has today's line.
        assert!(b.contains("href=\"/catalog/group/default/team-a\""), "{b}");
        assert!(b.contains("Entities per level and day"), "{b}");
        // An entity's page: its level, the failing rule, its fix-it text and the fact.
        let e = s.get("/catalog/component/default/svc-a", None).await.body;
        assert!(e.contains("id=\"scorecards\""), "{e}");
        assert!(e.contains("Add socle.dev/tier &lt;script&gt;"), "{e}");
        assert!(
            e.contains("<code>entity.metadata.annotations</code>"),
            "{e}"
        );
        assert!(!e.contains("<script>alert('fix')"), "{e}");
        // A team's page: its entities' levels.
        let t = s.get("/catalog/group/default/team-a", None).await.body;
        assert!(t.contains("id=\"team-scorecards\""), "{t}");
        assert!(
            t.contains("href=\"/catalog/component/default/svc-a\""),
            "{t}"
        );
        assert_eq!(
            s.get("/scorecards/nope", None).await.status,
            StatusCode::NOT_FOUND
        );
        // A campaign's page: the brief, the burn-up chart, the teams furthest behind first.
        let list = s.get("/campaigns", None).await.body;
        assert!(list.contains("href=\"/campaigns/describe\""), "{list}");
        let c = s.get("/campaigns/describe", None).await.body;
        assert!(c.contains("Describe it &lt;script&gt;"), "{c}");
        assert!(!c.contains("<script>alert"), "{c}");
        assert!(c.contains("id=\"chart-entities-passing-describe-"), "{c}");
        let b = c.find(">team-b<").unwrap();
        let a = c.find(">team-a<").unwrap();
        assert!(b < a, "team-b (0 of 1) before team-a (1 of 1): {c}");
        assert!(c.contains("<strong>behind</strong>"), "{c}");
        assert_eq!(
            s.get("/campaigns/nope", None).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

#[tokio::test]
async fn the_adoption_page_is_one_printable_page_with_team_details_for_members_only() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        // svc-a (team-a) is deployed through Socle; svc-b (team-b) is not.
        s.deploy("svc-a", "dev").await;
        let anonymous = s.get("/adoption", None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        let (alice, _) = s.sign_in(&s.alice).await;
        let page = s.get("/adoption", Some(&alice)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let b = &page.body;
        assert!(b.contains("<h1>Adoption and impact</h1>"), "{b}");
        assert!(b.contains("1 of 2 services"), "{b}");
        assert!(b.contains(r#"<div class="big">50 %</div>"#), "{b}");
        // The charts have a title and a description, their figures a table with a caption.
        assert!(
            b.contains(r#"role="img""#)
                && b.contains("<title id=\"chart-services-deployed-through-socle-title\">"),
            "{b}"
        );
        assert!(
            b.contains(r#"<table id="adoption-weekly"><caption>"#),
            "{b}"
        );
        // alice sees her team's before/after with its caveats, not team-b's.
        assert!(b.contains("<h3>group:default/team-a</h3>"), "{b}");
        assert!(b.contains("<strong>Caveat: </strong>"), "{b}");
        assert!(!b.contains("<h3>group:default/team-b</h3>"), "{b}");
        assert!(b.contains(r#"href="/adoption.json?since=90d""#), "{b}");
        // bob (team-b) sees the organisation's figures and his own team, not team-a's details.
        let (bob, _) = s.sign_in(&s.bob).await;
        let theirs = s.get("/adoption", Some(&bob)).await.body;
        assert!(theirs.contains("1 of 2 services"), "{theirs}");
        assert!(
            !theirs.contains("<h3>group:default/team-a</h3>"),
            "{theirs}"
        );
        assert!(
            theirs.contains("<h3>group:default/team-b</h3><p>Not adopted yet.</p>"),
            "{theirs}"
        );
        // The JSON export: the API's document, counts and no person.
        let json = s.get("/adoption.json", Some(&alice)).await;
        assert_eq!(json.status, StatusCode::OK);
        assert_eq!(json.headers["content-type"], "application/json");
        let v: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(v["adoption"]["now"]["deployed_through_socle"], 1);
        let portal: u64 = v["adoption"]["weekly"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["portal_users"].as_u64().unwrap())
            .sum();
        assert_eq!(
            portal, 2,
            "alice and bob signed in this week: {}",
            json.body
        );
        assert!(
            !json.body.contains("alice") && !json.body.contains("bob"),
            "{}",
            json.body
        );
        // The stylesheet prints the report without navigation and controls.
        let css = s.get("/static/socle.css", None).await.body;
        assert!(
            css.contains("details.feedback, .no-print { display:none; }"),
            "{css}"
        );
    }
}

/// The value of the first `name="id"` hidden input of a page.
fn first_form_id(page: &str) -> String {
    let i = page
        .find("name=\"id\" value=\"")
        .expect("a form with an id");
    page[i + 17..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn access_to_personal_columns_is_asked_on_the_product_page_and_approved_by_its_owners() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        const PAGE: &str = "/catalog/datacontract/default/orders";
        let anonymous = s.get(PAGE, None).await.body;
        assert!(!anonymous.contains("id=\"access\""), "{anonymous}");
        // bob (team-b) asks for team-a's personal columns.
        let (bob, _) = s.sign_in(&s.bob).await;
        let page = s.get(PAGE, Some(&bob)).await.body;
        assert!(page.contains("No access requested."), "{page}");
        assert!(
            page.contains(r#"<option value="pii">pii</option>"#),
            "{page}"
        );
        let csrf = s.csrf(&bob).await;
        let asked = s
            .post_form(
                "/data/access",
                Some(&bob),
                &[
                    ("csrf", &csrf),
                    ("product", "datacontract:default/orders"),
                    ("classification", "pii"),
                    ("purpose", "fraud model <script>alert('p')</script>"),
                    ("days", "30"),
                ],
                &[],
            )
            .await;
        assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
        assert_eq!(
            asked.headers.get("location").unwrap(),
            "/catalog/datacontract/default/orders#access"
        );
        let mine = s.get(PAGE, Some(&bob)).await.body;
        assert!(
            mine.contains(r#"<span class="level level-medium">pending</span>"#),
            "{mine}"
        );
        assert!(
            mine.contains("fraud model &lt;script&gt;"),
            "escaped: {mine}"
        );
        assert!(
            !mine.contains(">Approve<"),
            "the requester has no approve button: {mine}"
        );
        // alice (team-a, the owners) approves it from the same page.
        let (alice, _) = s.sign_in(&s.alice).await;
        let theirs = s.get(PAGE, Some(&alice)).await.body;
        assert!(theirs.contains("your team decides"), "{theirs}");
        assert!(theirs.contains(">Approve<"), "{theirs}");
        let id = first_form_id(&theirs[theirs.find("id=\"grants\"").unwrap()..]);
        let alice_csrf = s.csrf(&alice).await;
        let decided = s
            .post_form(
                "/data/access/decide",
                Some(&alice),
                &[
                    ("csrf", &alice_csrf),
                    ("id", &id),
                    ("decision", "approve"),
                    ("back", PAGE),
                ],
                &[],
            )
            .await;
        assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.body);
        let after = s.get(PAGE, Some(&bob)).await.body;
        assert!(
            after.contains(r#"<span class="level level-elite">active</span> until "#),
            "{after}"
        );
        assert!(after.contains(">Revoke<"), "{after}");
        // A form cannot send anyone elsewhere afterwards.
        let away = s
            .post_form(
                "/data/access/revoke",
                Some(&bob),
                &[
                    ("csrf", &csrf),
                    ("id", &id),
                    ("back", "https://evil.example/"),
                ],
                &[],
            )
            .await;
        assert_eq!(away.status, StatusCode::SEE_OTHER, "{}", away.body);
        assert_eq!(away.headers.get("location").unwrap(), "/data#access");
    }
}

#[tokio::test]
async fn a_products_page_charts_its_recorded_quality_and_draws_its_lineage() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        const PAGE: &str = "/catalog/datacontract/default/orders";
        let before = s.get(PAGE, None).await.body;
        assert!(before.contains("No checks recorded yet."), "{before}");
        let run = |failed: bool, age: i64| {
            serde_json::json!({"server": "production", "durationMs": 40, "checks": [
                {"name": "Row count <b>", "table": "orders", "metric": "rowCount", "result": "passed", "value": 12},
                {"name": "email not null", "table": "orders", "field": "email", "metric": "nullValues",
                 "result": if failed { "failed" } else { "passed" }, "reason": "3 nulls <script>alert(1)</script>"},
                {"name": "Freshness", "table": "orders", "metric": "freshness", "result": "passed", "age_seconds": age}
            ]})
            .to_string()
        };
        let post = |token: String, body: String| {
            let s = &s;
            async move {
                let auth = format!("Bearer {token}");
                s.request(
                    "POST",
                    "/api/v1/data/products/orders/quality",
                    &[
                        ("authorization", &auth),
                        ("content-type", "application/json"),
                    ],
                    Some(body),
                )
                .await
            }
        };
        let refused = post(s.bob.clone(), run(false, 60)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        for (failed, age) in [(false, 3600), (true, 7200)] {
            let r = post(s.alice.clone(), run(failed, age)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
        let page = s.get(PAGE, None).await.body;
        assert!(page.contains("id=\"quality\""), "{page}");
        assert!(page.contains("Checks passing"), "{page}");
        assert!(page.contains("Age of the newest data"), "{page}");
        assert!(page.contains("The last 2 runs, newest first"), "{page}");
        assert!(page.contains("1 checks did not pass"), "{page}");
        assert!(page.contains("3 nulls &lt;script&gt;"), "escaped: {page}");
        assert!(!page.contains("<script>alert(1)"), "{page}");
        // Lineage: its producer upstream, drawn and listed.
        assert!(
            page.contains("Lineage of orders: 1 upstream, 0 downstream"),
            "{page}"
        );
        assert!(
            page.contains(
                "<strong>Upstream: </strong><a href=\"/catalog/component/default/svc-a\">svc-a</a>"
            ),
            "{page}"
        );
        let api = s.get("/api/v1/data/products/orders/lineage", None).await;
        let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
        assert_eq!(v["edges"][0]["from"], "component:default/svc-a");
    }
}
