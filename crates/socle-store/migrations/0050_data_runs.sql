-- Data pipeline runs (`socle data run`): one row per run — the pipeline's directory as given,
-- the schema it built into, when it started and finished (milliseconds since the epoch), its
-- result (passed or failed) and counts — and one row per model it ran, in run order: its tier,
-- how it was materialised, its status (passed, warning, failed, error, skipped), how long it
-- took, its contract checks' verdict counts and why it failed or was skipped.
CREATE TABLE data_runs (
    id            TEXT PRIMARY KEY,
    pipeline      TEXT NOT NULL,
    target_schema TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    finished_at   BIGINT NOT NULL,
    result        TEXT NOT NULL,
    models        BIGINT NOT NULL,
    failed        BIGINT NOT NULL,
    skipped       BIGINT NOT NULL
);
CREATE INDEX data_runs_started ON data_runs (started_at);
CREATE TABLE data_run_models (
    run_id         TEXT NOT NULL,
    position       BIGINT NOT NULL,
    model          TEXT NOT NULL,
    tier           TEXT,
    materialized   TEXT NOT NULL,
    status         TEXT NOT NULL,
    duration_ms    BIGINT NOT NULL,
    checks_passed  BIGINT NOT NULL,
    checks_warning BIGINT NOT NULL,
    checks_failed  BIGINT NOT NULL,
    checks_error   BIGINT NOT NULL,
    reason         TEXT,
    PRIMARY KEY (run_id, position)
);
