-- Scorecard results (campaigns too, under `campaign:NAME`): the latest result of every
-- scorecard for every entity it selects, written by incremental re-scores (an entity whose
-- facts changed) and periodic full passes. `level_rank` is 0 below the first level, n for the
-- n-th level; `failing` is a JSON array of the failing rules' ids.
CREATE TABLE scorecard_results (
    scorecard    TEXT NOT NULL,
    entity       TEXT NOT NULL,
    owner        TEXT,
    level        TEXT,
    level_rank   BIGINT NOT NULL,
    passed       BIGINT NOT NULL,
    total        BIGINT NOT NULL,
    failing      TEXT NOT NULL,
    error        TEXT,
    evaluated_at BIGINT NOT NULL,
    PRIMARY KEY (scorecard, entity)
);
CREATE INDEX scorecard_results_entity ON scorecard_results (entity);
CREATE INDEX scorecard_results_owner ON scorecard_results (owner, scorecard);
-- The level each entity held on each day (UTC; `day` counts days since 1970-01-01): the last
-- result of that day.
CREATE TABLE scorecard_history (
    scorecard  TEXT NOT NULL,
    entity     TEXT NOT NULL,
    day        BIGINT NOT NULL,
    owner      TEXT,
    level      TEXT,
    level_rank BIGINT NOT NULL,
    PRIMARY KEY (scorecard, entity, day)
);
CREATE INDEX scorecard_history_day ON scorecard_history (scorecard, day);
-- When each scorecard was last scored over the whole catalog.
CREATE TABLE scorecard_passes (
    scorecard    TEXT PRIMARY KEY,
    evaluated_at BIGINT NOT NULL,
    entities     BIGINT NOT NULL
);
-- The days whose history holds every result: the first write of a day copies the results as
-- they stood (an entity not re-scored that day keeps its level in that day's history).
CREATE TABLE scorecard_history_days (
    day BIGINT PRIMARY KEY
);
