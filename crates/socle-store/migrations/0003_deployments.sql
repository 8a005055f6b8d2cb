-- Every deployment Socle makes (and, later, external ones): what, where, which version, which
-- GitOps commit, who, when, outcome — and the workload as deployed, for rollback and promotion.
CREATE TABLE deployments (
    id              TEXT PRIMARY KEY,
    seq             BIGINT NOT NULL,
    service         TEXT NOT NULL,
    environment     TEXT NOT NULL,
    version         TEXT NOT NULL,
    images          TEXT NOT NULL,
    gitops_commit   TEXT NOT NULL,
    source_commit   TEXT NOT NULL DEFAULT '',
    changed         BIGINT NOT NULL,
    status          TEXT NOT NULL,
    actor           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    spec            TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX deployments_service_env ON deployments (service, environment, seq);
INSERT INTO meta (key, value) VALUES ('deployment_seq', 0);
