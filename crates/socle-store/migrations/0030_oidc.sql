-- OpenID Connect sign-in. A login in progress: the state sent to the provider (only its
-- SHA-256 stored), the hash of the browser's binding cookie, the nonce and PKCE verifier, where to
-- go afterwards. Taken (deleted) by the callback: a state is good once.
CREATE TABLE oidc_logins (
    state_hash      TEXT PRIMARY KEY,
    binding_hash    TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    verifier        TEXT NOT NULL,
    next_path       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins (expires_at);

-- Portal sessions opened through the identity provider: no API token behind them, the catalog
-- User and role the sign-in resolver gave. The cookie carries a random secret; only its SHA-256
-- is stored.
CREATE TABLE sso_sessions (
    hash            TEXT PRIMARY KEY,
    subject         TEXT NOT NULL,
    role            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX sso_sessions_subject ON sso_sessions (subject);
