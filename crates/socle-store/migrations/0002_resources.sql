-- Provisioned resources per environment: their state (generated names, credentials) and outputs
-- are kept across deploys, sealed with the store's secret key (ChaCha20-Poly1305).
CREATE TABLE resource_state (
    environment     TEXT NOT NULL,
    uid             TEXT NOT NULL,
    kind            TEXT NOT NULL,
    definition      TEXT NOT NULL,
    used_by         TEXT NOT NULL,
    state           TEXT NOT NULL,
    outputs         TEXT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (environment, uid)
);
