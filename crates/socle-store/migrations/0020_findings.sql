-- Scanner findings (SARIF imports) per catalog entity. A finding is identified by its entity,
-- tool and key (a partial fingerprint, or rule + location + message); an import of a tool for
-- an entity closes that tool's open findings it does not report again.
CREATE TABLE findings (
    entity      TEXT NOT NULL,
    tool        TEXT NOT NULL,
    fkey        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    message     TEXT NOT NULL,
    location    TEXT NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    closed_at   BIGINT,
    PRIMARY KEY (entity, tool, fkey)
);
CREATE INDEX findings_open ON findings (closed_at, entity);
