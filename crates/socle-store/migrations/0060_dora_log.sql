-- The delivery events' change log: every row carries the number of the transaction that last
-- inserted or changed it (SQLite: `meta.dora_seq`, taken under the write lock, so numbers follow
-- commit order; PostgreSQL: the transaction id, whose order is NOT commit order — a reader
-- re-reads from the oldest transaction still running when it last read, see `dora_log_since`).
-- Rows written before this migration carry 0: a reader's first, full load takes them.
ALTER TABLE dora_deployments ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dora_changes ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dora_incidents ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX dora_deployments_seq ON dora_deployments (seq);
CREATE INDEX dora_changes_seq ON dora_changes (seq);
CREATE INDEX dora_incidents_seq ON dora_incidents (seq);
INSERT INTO meta (key, value) VALUES ('dora_seq', 0);
