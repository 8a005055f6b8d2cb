-- SLIs pushed by teams without a Prometheus (`POST /api/v1/slo/events`): good and total event
-- counts per interval, per entity, SLO and environment. A re-delivered interval replaces the
-- earlier one (same start), so a pusher may retry.
CREATE TABLE slo_events (
    entity      TEXT NOT NULL,
    slo         TEXT NOT NULL,
    environment TEXT NOT NULL,
    start_ms    BIGINT NOT NULL,
    end_ms      BIGINT NOT NULL,
    good        BIGINT NOT NULL,
    total       BIGINT NOT NULL,
    PRIMARY KEY (entity, slo, environment, start_ms)
);
CREATE INDEX slo_events_end ON slo_events (entity, slo, environment, end_ms);
-- The last measured budget of every SLO per environment (the periodic budget refresh and every
-- measurement write it), for organisation-wide lists and tiles that must not query a Prometheus
-- per page. `remaining` is NULL without data.
CREATE TABLE slo_status (
    entity      TEXT NOT NULL,
    environment TEXT NOT NULL,
    slo         TEXT NOT NULL,
    measured_at BIGINT NOT NULL,
    remaining   DOUBLE PRECISION,
    budget      TEXT NOT NULL,
    PRIMARY KEY (entity, environment, slo)
);
CREATE INDEX slo_status_environment ON slo_status (environment, remaining);
