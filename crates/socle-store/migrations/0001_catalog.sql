-- Socle catalog schema. Written once for both SQLite and PostgreSQL: only portable types
-- (TEXT, BIGINT) and portable statements are used.

CREATE TABLE locations (
    key             TEXT PRIMARY KEY,
    spec            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    refreshed_at    BIGINT,
    status          TEXT NOT NULL DEFAULT 'pending',
    errors          TEXT NOT NULL DEFAULT '[]',
    entity_count    BIGINT NOT NULL DEFAULT 0,
    revision        TEXT
);

CREATE TABLE entities (
    ref             TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    namespace       TEXT NOT NULL,
    name            TEXT NOT NULL,
    location_key    TEXT NOT NULL,
    file_key        TEXT NOT NULL,
    etag            TEXT NOT NULL,
    body            TEXT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX entities_location ON entities (location_key);
CREATE INDEX entities_kind ON entities (kind, ref);

-- Relations as emitted by their source entity's own spec; inverses are derived on read.
CREATE TABLE relations (
    source_ref      TEXT NOT NULL,
    type            TEXT NOT NULL,
    target_ref      TEXT NOT NULL
);
CREATE INDEX relations_source ON relations (source_ref);
CREATE INDEX relations_target ON relations (target_ref);

-- Entities a location claims that another location already owns.
CREATE TABLE conflicts (
    ref             TEXT NOT NULL,
    owner_key       TEXT NOT NULL,
    claimant_key    TEXT NOT NULL,
    detected_at     BIGINT NOT NULL,
    PRIMARY KEY (ref, claimant_key)
);

CREATE TABLE tokens (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    role            TEXT NOT NULL,
    hash            TEXT NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT,
    revoked_at      BIGINT
);

CREATE TABLE audit_log (
    seq             BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_seq ON audit_log (seq);

CREATE TABLE meta (
    key             TEXT PRIMARY KEY,
    value           BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('catalog_generation', 0);
INSERT INTO meta (key, value) VALUES ('audit_seq', 0);

-- Leases coordinate background work between replicas sharing one database.
CREATE TABLE leases (
    name            TEXT PRIMARY KEY,
    holder          TEXT NOT NULL,
    expires_at      BIGINT NOT NULL
);
