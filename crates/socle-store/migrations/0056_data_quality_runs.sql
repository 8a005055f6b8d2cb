-- Data quality history: one row per `socle data test` run recorded for a data product (from
-- the CLI with --record, from a pipeline run, or posted to the API by CI): the product (a
-- `datacontract:` entity ref), the server tested, who recorded it and from where, when it ran
-- (milliseconds since the epoch), its verdict and counts, the freshness measured (seconds since
-- the newest value of the first freshness check, when the contract has one and it measured a
-- value) and its checks as JSON (name, type, table, field, verdict, value, threshold — never
-- failed-row samples).
CREATE TABLE data_quality_runs (
    id            TEXT PRIMARY KEY,
    product       TEXT NOT NULL,
    server        TEXT NOT NULL,
    origin        TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    ran_at        BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL,
    result        TEXT NOT NULL,
    passed        BIGINT NOT NULL,
    warning       BIGINT NOT NULL,
    failed        BIGINT NOT NULL,
    error         BIGINT NOT NULL,
    freshness_s   BIGINT,
    checks        TEXT NOT NULL
);
CREATE INDEX data_quality_runs_product ON data_quality_runs (product, ran_at);
