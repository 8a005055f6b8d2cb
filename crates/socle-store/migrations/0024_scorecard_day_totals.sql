-- The history per day counted for every owner together: what a scorecard's history chart reads
-- (a few rows per day instead of one per owner and level). Kept beside scorecard_day_counts by
-- the same writes.
CREATE TABLE scorecard_day_totals (
    scorecard  TEXT NOT NULL,
    day        BIGINT NOT NULL,
    level_rank BIGINT NOT NULL,
    entities   BIGINT NOT NULL,
    PRIMARY KEY (scorecard, day, level_rank)
);
INSERT INTO scorecard_day_totals (scorecard, day, level_rank, entities)
SELECT scorecard, day, level_rank, CAST(SUM(entities) AS BIGINT)
FROM scorecard_day_counts
GROUP BY scorecard, day, level_rank;
