//! OpenID Connect logins (single use, expiring) and SSO sessions (issue 17).

use socle_store::{OidcLogin, Role, SSO_TOKEN_ID, Store};

use super::open;

fn login(expires_at: i64) -> OidcLogin {
    OidcLogin {
        binding_hash: "b".repeat(64),
        nonce: "n1".into(),
        verifier: "v1".into(),
        next_path: "/teams".into(),
        expires_at,
    }
}

async fn a_login_state_is_good_once(store: &Store) {
    store
        .begin_oidc_login("state-1", &login(1_000), 10)
        .await
        .unwrap();
    let taken = store.take_oidc_login("state-1", 20).await.unwrap();
    assert_eq!(taken, Some(login(1_000)));
    assert_eq!(store.take_oidc_login("state-1", 21).await.unwrap(), None);
}

async fn an_expired_login_state_is_refused(store: &Store) {
    store
        .begin_oidc_login("state-2", &login(100), 10)
        .await
        .unwrap();
    assert_eq!(store.take_oidc_login("state-2", 100).await.unwrap(), None);
    assert_eq!(store.take_oidc_login("unknown", 10).await.unwrap(), None);
}

async fn sso_sessions_carry_their_principal_until_closed(store: &Store) {
    let s = store
        .open_sso_session("user:default/alice", Role::Member, 10, 1_000)
        .await
        .unwrap();
    assert!(s.secret.starts_with("ssos_"));
    let p = store
        .session_principal(&s.secret, 20)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.subject.as_str(), p.role, p.token_id.as_str()),
        ("user:default/alice", Role::Member, SSO_TOKEN_ID)
    );
    assert_eq!(
        store.session_principal(&s.secret, 1_010).await.unwrap(),
        None
    );
    store.close_session(&s.secret).await.unwrap();
    assert_eq!(store.session_principal(&s.secret, 20).await.unwrap(), None);
}

async fn own_tokens_are_listed_and_revoked_only_by_their_subject(store: &Store) {
    let (a, _) = store
        .create_token("a", "user:default/alice", Role::Member, 1)
        .await
        .unwrap();
    let (b, _) = store
        .create_token("b", "user:default/bob", Role::Member, 2)
        .await
        .unwrap();
    let mine = store.list_tokens_of("user:default/alice").await.unwrap();
    assert_eq!(
        mine.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [a.id.as_str()]
    );
    assert!(
        store
            .revoke_token_of(&b.id, "user:default/alice", 3)
            .await
            .is_err()
    );
    assert_eq!(
        store.list_tokens_of("user:default/bob").await.unwrap()[0].revoked_at,
        None
    );
    store
        .revoke_token_of(&a.id, "user:default/alice", 4)
        .await
        .unwrap();
    assert_eq!(
        store.list_tokens_of("user:default/alice").await.unwrap()[0].revoked_at,
        Some(4)
    );
}

both!(a_login_state_is_good_once);
both!(an_expired_login_state_is_refused);
both!(sso_sessions_carry_their_principal_until_closed);
both!(own_tokens_are_listed_and_revoked_only_by_their_subject);
