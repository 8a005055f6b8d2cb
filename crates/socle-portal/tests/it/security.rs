//! Security: sessions, CSRF, team rights, escaping of hostile text.

use hyper::StatusCode;

use crate::harness::{BACKENDS, start};

#[tokio::test]
async fn sign_in_sets_a_safe_cookie_and_bad_tokens_are_refused() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        let (secret, set) = s.sign_in(&s.alice).await;
        assert!(set.contains("HttpOnly"), "{set}");
        assert!(set.contains("SameSite=Lax"), "{set}");
        assert!(set.contains("Path=/"), "{set}");
        assert!(!set.contains("Secure"), "plain HTTP: no Secure flag: {set}");
        assert!(!set.contains(&s.alice), "the API token is not the cookie");
        let home = s.get("/", Some(&secret)).await;
        assert!(
            home.body.contains("user:default/alice"),
            "signed in as alice"
        );
        assert!(home.body.contains("Welcome, alice"));
        // Over TLS (a proxy says so) the cookie is Secure.
        let r = s
            .post_form(
                "/signin",
                None,
                &[("token", &s.alice)],
                &[("x-forwarded-proto", "https")],
            )
            .await;
        assert!(
            r.headers
                .get("set-cookie")
                .unwrap()
                .to_str()
                .unwrap()
                .contains("; Secure")
        );
        // A wrong token: 401, no cookie.
        let r = s
            .post_form("/signin", None, &[("token", "socle_nope")], &[])
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.headers.get("set-cookie").is_none());
        assert!(r.body.contains("unknown, revoked or malformed"));
        // An open redirect is not followed.
        let r = s
            .post_form(
                "/signin",
                None,
                &[("token", &s.alice), ("next", "//evil.example/x")],
                &[],
            )
            .await;
        assert_eq!(r.headers.get("location").unwrap(), "/");
        // A forged session cookie is nobody.
        let r = s.get("/", Some("sess_0000")).await;
        assert!(!r.body.contains("Welcome"));
    }
}

#[tokio::test]
async fn sign_in_never_redirects_off_site() {
    let s = start("sqlite", false).await.unwrap();
    for next in [
        "//evil.example/x",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "/ /evil.example",
        "https://evil.example/",
        "/\u{a0}/evil.example",
    ] {
        let r = s
            .post_form("/signin", None, &[("token", &s.alice), ("next", next)], &[])
            .await;
        assert_eq!(r.headers.get("location").unwrap(), "/", "{next:?}");
    }
    let r = s
        .post_form(
            "/signin",
            None,
            &[("token", &s.alice), ("next", "/catalog?kind=component")],
            &[],
        )
        .await;
    assert_eq!(
        r.headers.get("location").unwrap(),
        "/catalog?kind=component"
    );
}

#[tokio::test]
async fn cookie_secure_marks_every_session_cookie_secure() {
    let s = crate::harness::start_with("sqlite", |c: &mut socle_api::ServerConfig| {
        c.cookie_secure = true
    })
    .await
    .unwrap();
    let (_, set) = s.sign_in(&s.alice).await;
    assert!(set.contains("; Secure"), "{set}");
}

#[tokio::test]
async fn signing_out_and_revoking_the_token_end_the_session() {
    let s = start("sqlite", false).await.unwrap();
    let (secret, _) = s.sign_in(&s.alice).await;
    let csrf = s.csrf(&secret).await;
    // Sign-out needs the CSRF token too.
    let r = s.post_form("/signout", Some(&secret), &[], &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = s
        .post_form("/signout", Some(&secret), &[("csrf", &csrf)], &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(!s.get("/", Some(&secret)).await.body.contains("Welcome"));
    // Revoking the token ends every session opened with it.
    let (secret, _) = s.sign_in(&s.bob).await;
    assert!(
        s.get("/", Some(&secret))
            .await
            .body
            .contains("Welcome, bob")
    );
    let bob = s
        .state
        .store
        .authenticate(&s.bob, 2)
        .await
        .unwrap()
        .unwrap();
    s.state.store.revoke_token(&bob.token_id, 3).await.unwrap();
    assert!(!s.get("/", Some(&secret)).await.body.contains("Welcome"));
}

#[tokio::test]
async fn signed_out_mutations_and_missing_csrf_are_refused() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        s.deploy("svc-a", "dev").await;
        let promote = [("service", "svc-a"), ("from", "dev"), ("to", "staging")];
        // Signed out.
        let r = s
            .post_form("/deployments/promote", None, &promote, &[])
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("Sign in"));
        // Signed in, but no CSRF token, a wrong one, or another site's form.
        let (secret, _) = s.sign_in(&s.alice).await;
        let csrf = s.csrf(&secret).await;
        let r = s
            .post_form("/deployments/promote", Some(&secret), &promote, &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("CSRF"));
        let mut wrong = promote.to_vec();
        wrong.push(("csrf", "0123456789abcdef0123456789abcdef"));
        let r = s
            .post_form("/deployments/promote", Some(&secret), &wrong, &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let mut right = promote.to_vec();
        right.push(("csrf", &csrf));
        let r = s
            .post_form(
                "/deployments/promote",
                Some(&secret),
                &right,
                &[("origin", "https://evil.example")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("another site"));
        // Nothing reached staging.
        let staged = s
            .state
            .store
            .list_deployments(Some("svc-a"), Some("staging"), 10)
            .await
            .unwrap();
        assert!(staged.is_empty());
        // The golden-path form refuses the same way.
        let r = s
            .post_form("/create/rust-axum-service", None, &[("p.name", "x")], &[])
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let r = s
            .post_form(
                "/create/rust-axum-service",
                Some(&secret),
                &[("p.name", "x")],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // With everything right, alice promotes her team's service.
        let r = s
            .post_form(
                "/deployments/promote",
                Some(&secret),
                &right,
                &[("origin", "http://portal.test")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let staged = s
            .state
            .store
            .list_deployments(Some("svc-a"), Some("staging"), 10)
            .await
            .unwrap();
        assert_eq!(staged.len(), 1);
        assert_eq!(staged[0].actor, "user:default/alice");
        assert_eq!(staged[0].kind, "promote");
    }
}

#[tokio::test]
async fn a_member_of_team_a_cannot_deploy_team_b_services() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        s.deploy("svc-b", "dev").await;
        s.deploy("svc-a", "dev").await;
        let (secret, _) = s.sign_in(&s.alice).await;
        let csrf = s.csrf(&secret).await;
        // No buttons on team B's service; buttons on her own.
        let b = s
            .get("/catalog/component/default/svc-b", Some(&secret))
            .await
            .body;
        assert!(
            !b.contains("/deployments/promote"),
            "no promote form for svc-b"
        );
        let a = s
            .get("/catalog/component/default/svc-a", Some(&secret))
            .await
            .body;
        assert!(a.contains("Promote to staging"));
        // The deployments board: buttons on her team's row only, through the same checks.
        let board = s.get("/deployments", Some(&secret)).await.body;
        let row = |svc: &str| {
            let i = board.find(&format!(">{svc}</a></th>")).unwrap();
            board[i..board[i..].find("</tr>").unwrap() + i].to_owned()
        };
        assert!(
            row("svc-a").contains("value=\"promote svc-a dev staging\""),
            "{board}"
        );
        assert!(!row("svc-b").contains("<button"), "{board}");
        let r = s
            .post_form(
                "/deployments/act",
                Some(&secret),
                &[("op", "promote svc-b dev staging"), ("csrf", &csrf)],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = s
            .post_form(
                "/deployments/act",
                Some(&secret),
                &[("op", "promote svc-a dev staging")],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
        let r = s
            .post_form(
                "/deployments/act",
                Some(&secret),
                &[("op", "promote svc-a dev staging"), ("csrf", &csrf)],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.headers.get("location").unwrap(), "/deployments");
        assert_eq!(
            s.state
                .store
                .list_deployments(Some("svc-a"), Some("staging"), 10)
                .await
                .unwrap()
                .len(),
            1
        );
        let r = s
            .post_form(
                "/deployments/act",
                Some(&secret),
                &[("op", "explode svc-a"), ("csrf", &csrf)],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        // A forged form is refused with the reason, audited, and changes nothing.
        let r = s
            .post_form(
                "/deployments/promote",
                Some(&secret),
                &[
                    ("service", "svc-b"),
                    ("from", "dev"),
                    ("to", "staging"),
                    ("csrf", &csrf),
                ],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(
            r.body
                .contains("user:default/alice is not a member of group:default/team-b"),
            "{}",
            r.body
        );
        let r = s
            .post_form(
                "/deployments/rollback",
                Some(&secret),
                &[
                    ("service", "svc-b"),
                    ("environment", "dev"),
                    ("csrf", &csrf),
                ],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(
            s.state
                .store
                .list_deployments(Some("svc-b"), Some("staging"), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.state
                .store
                .list_deployments(Some("svc-b"), Some("dev"), 10)
                .await
                .unwrap()
                .len(),
            1
        );
        let audit = s.state.store.audit_log(20).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "deployment.promote"
            && e.outcome == "denied"
            && e.actor == "user:default/alice"));
    }
}

#[tokio::test]
async fn script_in_entity_fields_and_markdown_is_neutralised() {
    let s = start("sqlite", false).await.unwrap();
    let page = s.get("/catalog/component/default/svc-a", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let b = &page.body;
    assert!(
        b.contains("Service A &lt;script&gt;alert('title')&lt;/script&gt;"),
        "title escaped"
    );
    assert!(
        b.contains("Sells things &lt;img src=x onerror=alert(1)&gt;"),
        "description escaped"
    );
    assert!(!b.contains("<script>alert"), "no live script");
    assert!(!b.contains("javascript:"), "javascript: links are dropped");
    assert!(b.contains("https://example.com/runbook"));
    // The API definition's text is escaped too.
    let api = s.get("/catalog/api/default/orders-api", None).await.body;
    assert!(api.contains("Create an order &lt;script&gt;x()&lt;/script&gt;"));
    assert!(!api.contains("<script>x()"));
    // Docs: Markdown rendered, raw HTML neutralised.
    let docs = s.get("/catalog/component/default/svc-a/docs", None).await;
    assert_eq!(docs.status, StatusCode::OK, "{}", docs.body);
    let d = &docs.body;
    assert!(d.contains("<strong>docs</strong>"));
    // The footer names the folder inside the location, not a path of the server.
    assert!(d.contains("From <code>docs</code>"), "{d}");
    assert!(!d.contains("/tmp/"), "{d}");
    assert!(d.contains("<table>"));
    assert!(!d.contains("<script>alert('docs')"), "{d}");
    assert!(!d.contains("onerror"), "{d}");
    assert!(!d.contains("javascript:"), "{d}");
    // Relative links stay inside the docs; one that climbs out is removed.
    assert!(
        d.contains("href=\"/catalog/component/default/svc-a/docs/guide.md#setup\""),
        "{d}"
    );
    assert!(
        d.contains("src=\"/catalog/component/default/svc-a/docs/img/d.png\""),
        "{d}"
    );
    assert!(!d.contains("etc/passwd\""), "{d}");
    // Every page carries the content security policy and refuses framing.
    assert_eq!(
        page.headers.get("content-security-policy").unwrap(),
        socle_portal::CSP
    );
    assert!(socle_portal::CSP.contains("script-src 'self'"));
    assert_eq!(page.headers.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(
        page.headers.get("x-content-type-options").unwrap(),
        "nosniff"
    );
    // Images are served with a sandboxing policy; paths cannot climb out of docs/.
    let img = s
        .get("/catalog/component/default/svc-a/docs/img/d.png", None)
        .await;
    assert_eq!(img.status, StatusCode::OK);
    assert_eq!(img.headers.get("content-type").unwrap(), "image/png");
    assert!(
        img.headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    for bad in [
        "../../secret.md",
        "..%2F..%2Fsecret.md",
        "%2e%2e/%2e%2e/secret.md",
        "/etc/passwd",
    ] {
        let r = s
            .get(
                &format!("/catalog/component/default/svc-a/docs/{bad}"),
                None,
            )
            .await;
        assert_ne!(r.status, StatusCode::OK, "{bad}");
        assert!(!r.body.contains("top secret"), "{bad}");
    }
    // Search results and the catalog escape what they show.
    let cat = s.get("/catalog?q=service", None).await.body;
    assert!(cat.contains("Service A &lt;script&gt;"), "{cat}");
    assert!(!cat.contains("<script>alert"));
}

#[tokio::test]
async fn reads_can_require_sign_in() {
    let s = start("sqlite", true).await.unwrap();
    for path in [
        "/",
        "/catalog",
        "/catalog/component/default/svc-a",
        "/dora",
        "/deployments",
        "/create",
        "/teams",
    ] {
        let r = s.get(path, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(r.body.contains("/signin"), "{path}");
    }
    // The sign-in page and the assets stay reachable.
    assert_eq!(s.get("/signin", None).await.status, StatusCode::OK);
    assert_eq!(
        s.get("/static/socle.css", None).await.status,
        StatusCode::OK
    );
    let (secret, _) = s.sign_in(&s.bob).await;
    assert_eq!(
        s.get("/catalog/component/default/svc-a", Some(&secret))
            .await
            .status,
        StatusCode::OK
    );
}
