-- The catalog's change log: one row per catalog generation naming the entities it added,
-- changed or removed (`refs`, a JSON array of entity refs), so that every replica's read model
-- applies the change as a delta instead of reloading the whole catalog. `refs` is NULL when a
-- generation touched too many entities to list: readers rebuild then. A reader whose generation
-- has no row (older than the log, or written before this migration) rebuilds too. The newest
-- 200 generations are kept.
CREATE TABLE catalog_changes (
    generation      BIGINT PRIMARY KEY,
    refs            TEXT
);
