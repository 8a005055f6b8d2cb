-- Guardrail exceptions and evaluation results.
CREATE TABLE waivers (
    id              TEXT PRIMARY KEY,
    rule            TEXT NOT NULL,
    entity          TEXT NOT NULL,
    environment     TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL,
    owner           TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);
CREATE INDEX waivers_entity ON waivers (entity);

CREATE TABLE policy_results (
    seq             BIGINT NOT NULL,
    entity          TEXT NOT NULL,
    environment     TEXT NOT NULL,
    evaluated_at    BIGINT NOT NULL,
    outcome         TEXT NOT NULL,
    findings        TEXT NOT NULL
);
CREATE INDEX policy_results_entity ON policy_results (entity, environment, seq);
INSERT INTO meta (key, value) VALUES ('policy_result_seq', 0);
