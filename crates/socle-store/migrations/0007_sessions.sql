-- Portal sign-in sessions. The cookie carries a random secret; only its SHA-256 is stored.
-- A session belongs to the API token it was opened with: revoking the token ends it.
CREATE TABLE sessions (
    hash            TEXT PRIMARY KEY,
    token_id        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX sessions_token ON sessions (token_id);
