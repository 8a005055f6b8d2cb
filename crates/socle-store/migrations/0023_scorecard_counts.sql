-- Aggregates of the scorecard results, kept by every write of results in the same transaction
-- so that a report reads a few hundred rows instead of every result. `owner` is '' for results
-- without an owner (a key column cannot be NULL on PostgreSQL).
--
-- How many results of one scorecard have one owner and level, split by whether their checks
-- could be evaluated (`errored` 1: they could not).
CREATE TABLE scorecard_counts (
    scorecard  TEXT NOT NULL,
    owner      TEXT NOT NULL,
    level_rank BIGINT NOT NULL,
    errored    BIGINT NOT NULL,
    entities   BIGINT NOT NULL,
    PRIMARY KEY (scorecard, owner, level_rank, errored)
);
INSERT INTO scorecard_counts (scorecard, owner, level_rank, errored, entities)
SELECT scorecard, COALESCE(owner, ''), level_rank, CASE WHEN error IS NULL THEN 0 ELSE 1 END, COUNT(*)
FROM scorecard_results
GROUP BY scorecard, COALESCE(owner, ''), level_rank, CASE WHEN error IS NULL THEN 0 ELSE 1 END;
-- How many evaluated results of one scorecard fail one rule (`failing` of scorecard_results
-- counted per rule id).
CREATE TABLE scorecard_rule_counts (
    scorecard TEXT NOT NULL,
    rule      TEXT NOT NULL,
    failing   BIGINT NOT NULL,
    PRIMARY KEY (scorecard, rule)
);
-- The history per day counted: how many entities of one owner held one level on one day.
CREATE TABLE scorecard_day_counts (
    scorecard  TEXT NOT NULL,
    day        BIGINT NOT NULL,
    owner      TEXT NOT NULL,
    level_rank BIGINT NOT NULL,
    entities   BIGINT NOT NULL,
    PRIMARY KEY (scorecard, day, owner, level_rank)
);
INSERT INTO scorecard_day_counts (scorecard, day, owner, level_rank, entities)
SELECT scorecard, day, COALESCE(owner, ''), level_rank, COUNT(*)
FROM scorecard_history
GROUP BY scorecard, day, COALESCE(owner, ''), level_rank;
-- The per-rule counts cannot be derived here with one SQL text on both databases (`failing` is
-- JSON): scorecards scored before this migration read as never scored, so the next report
-- queues a full pass, which writes every count afresh.
DELETE FROM scorecard_passes;
-- Moves with every write of results: what a cached report was computed from.
INSERT INTO meta (key, value) VALUES ('scorecard_generation', 0);
-- The latest result of a scorecard without a scan of its results.
CREATE INDEX scorecard_results_at ON scorecard_results (scorecard, evaluated_at);
