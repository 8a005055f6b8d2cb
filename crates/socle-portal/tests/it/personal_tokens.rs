//! `/tokens`: a person's own API tokens — created with at most their role, revoked only by
//! their owner (issue 17).

use hyper::StatusCode;

use crate::harness::{BACKENDS, Server, start};

async fn token_id_of(s: &Server, subject: &str) -> String {
    let all = s.state.store.list_tokens().await.unwrap();
    all.into_iter().find(|t| t.subject == subject).unwrap().id
}

#[tokio::test]
async fn a_person_creates_a_token_that_acts_as_them() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        let (cookie, _) = s.sign_in(&s.alice).await;
        let csrf = s.csrf(&cookie).await;
        let r = s
            .post_form(
                "/tokens",
                Some(&cookie),
                &[("csrf", &csrf), ("name", "laptop"), ("role", "viewer")],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let i = r.body.find("id=\"new-token\">").expect("the secret, once");
        let secret = r.body[i + 15..].split('<').next().unwrap().to_owned();
        let p = s
            .state
            .store
            .authenticate(&secret, 5)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.subject.as_str(), p.role),
            ("user:default/alice", socle_store::Role::Viewer)
        );
        let list = s.get("/tokens", Some(&cookie)).await;
        assert!(list.body.contains("laptop"), "{}", list.body);
        assert!(
            !list.body.contains(&secret),
            "the secret is shown only once"
        );
        assert!(!list.body.contains(">bob<"), "nobody else's tokens");
    }
}

#[tokio::test]
async fn a_member_cannot_create_a_token_above_their_role() {
    let Some(s) = start("sqlite", false).await else {
        return;
    };
    let (cookie, _) = s.sign_in(&s.alice).await;
    let csrf = s.csrf(&cookie).await;
    let r = s
        .post_form(
            "/tokens",
            Some(&cookie),
            &[("csrf", &csrf), ("name", "root"), ("role", "admin")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body
            .contains("cannot have the admin role: yours is member"),
        "{}",
        r.body
    );
    let alices = s
        .state
        .store
        .list_tokens_of("user:default/alice")
        .await
        .unwrap();
    assert_eq!(alices.len(), 1, "only the test's own token");
}

#[tokio::test]
async fn a_member_cannot_revoke_another_persons_token() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        let (cookie, _) = s.sign_in(&s.alice).await;
        let csrf = s.csrf(&cookie).await;
        let bobs = token_id_of(&s, "user:default/bob").await;
        let r = s
            .post_form(
                "/tokens/revoke",
                Some(&cookie),
                &[("csrf", &csrf), ("id", &bobs)],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        assert!(
            s.state
                .store
                .authenticate(&s.bob, 9)
                .await
                .unwrap()
                .is_some()
        );
        // Her own: revoked, and her session (opened with it) ends with it.
        let hers = token_id_of(&s, "user:default/alice").await;
        let r = s
            .post_form(
                "/tokens/revoke",
                Some(&cookie),
                &[("csrf", &csrf), ("id", &hers)],
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(
            s.state
                .store
                .authenticate(&s.alice, 9)
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn tokens_need_a_signed_in_person_and_the_forms_token() {
    let Some(s) = start("sqlite", false).await else {
        return;
    };
    assert_eq!(
        s.get("/tokens", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (cookie, _) = s.sign_in(&s.alice).await;
    let r = s
        .post_form(
            "/tokens",
            Some(&cookie),
            &[("name", "x"), ("role", "viewer")],
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token: {}", r.body);
    // A service account's session has no personal tokens.
    let (admin, _) = s.sign_in(&s.admin).await;
    let r = s.get("/tokens", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("personal tokens are for people"));
}
