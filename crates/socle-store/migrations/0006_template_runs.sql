-- Golden-path (software template) runs.
CREATE TABLE template_runs (
    id              TEXT PRIMARY KEY,
    seq             BIGINT NOT NULL,
    template        TEXT NOT NULL,
    actor           TEXT NOT NULL,
    status          TEXT NOT NULL,
    dry_run         BIGINT NOT NULL,
    parameters      TEXT NOT NULL,
    steps           TEXT NOT NULL,
    log             TEXT NOT NULL,
    output          TEXT NOT NULL,
    error           TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX template_runs_seq ON template_runs (seq);
INSERT INTO meta (key, value) VALUES ('template_run_seq', 0);
