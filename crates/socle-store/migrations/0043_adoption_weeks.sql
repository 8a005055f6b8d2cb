-- Weekly adoption snapshots (docs/adoption.md): once per ISO week (Monday 00:00 UTC, in
-- milliseconds) the counts of services — with a golden-path origin, deployed through Socle,
-- with docs, with an SLO — for the organisation and for each owning team, so that shares the
-- catalog keeps no history of can be shown week by week. Counts only: no service, no person.
-- The organisation's row is written first in the same transaction: a week already holding it
-- is not taken again (replicas, restarts).
CREATE TABLE adoption_weeks (
    week        BIGINT NOT NULL,
    scope       TEXT NOT NULL,
    taken_at    BIGINT NOT NULL,
    services    BIGINT NOT NULL,
    golden_path BIGINT NOT NULL,
    deployed    BIGINT NOT NULL,
    with_docs   BIGINT NOT NULL,
    with_slo    BIGINT NOT NULL,
    PRIMARY KEY (week, scope)
);
