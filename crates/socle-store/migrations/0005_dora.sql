-- Delivery events for DORA's four keys, idempotent by (source, id).
CREATE TABLE dora_deployments (
    source          TEXT NOT NULL,
    id              TEXT NOT NULL,
    service         TEXT NOT NULL,
    environment     TEXT NOT NULL,
    status          TEXT NOT NULL,
    finished_at     BIGINT NOT NULL,
    changes         TEXT NOT NULL,
    commit_sha      TEXT,
    PRIMARY KEY (source, id)
);
CREATE TABLE dora_changes (
    source          TEXT NOT NULL,
    id              TEXT NOT NULL,
    service         TEXT NOT NULL,
    committed_at    BIGINT NOT NULL,
    parent          TEXT,
    PRIMARY KEY (source, id)
);
CREATE TABLE dora_incidents (
    source          TEXT NOT NULL,
    id              TEXT NOT NULL,
    service         TEXT NOT NULL,
    started_at      BIGINT NOT NULL,
    resolved_at     BIGINT,
    deployment      TEXT,
    PRIMARY KEY (source, id)
);
INSERT INTO meta (key, value) VALUES ('dora_generation', 0);
