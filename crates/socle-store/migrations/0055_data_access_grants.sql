-- Data access grants: who asked to read which data product's columns of one classification,
-- for what purpose and how long; the owner team's decision; the revocation. Expiry is read
-- from `expires_at` (set on approval), not written.
CREATE TABLE data_access_grants (
    id             TEXT PRIMARY KEY,
    product        TEXT NOT NULL,
    owner          TEXT NOT NULL,
    requester      TEXT NOT NULL,
    team           TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    classification TEXT NOT NULL,
    columns        TEXT NOT NULL,
    days           BIGINT NOT NULL,
    status         TEXT NOT NULL,
    requested_at   BIGINT NOT NULL,
    decided_by     TEXT,
    decided_at     BIGINT,
    note           TEXT,
    expires_at     BIGINT,
    revoked_by     TEXT,
    revoked_at     BIGINT
);
CREATE INDEX data_access_grants_product ON data_access_grants (product, requested_at);
CREATE INDEX data_access_grants_requester ON data_access_grants (requester, status);
