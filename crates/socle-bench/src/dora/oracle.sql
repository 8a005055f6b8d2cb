-- DORA's four keys for the organisation and every team, in SQL over the JSON Lines history: an
-- implementation independent of Socle's (socle-bench dora compares the two). The rules are
-- ARCHITECTURE.md's ("Delivery metrics: the exact rules") for histories whose deployments list
-- their changes (no walk through parent links). Placeholders: {file}, {members}, {from}, {to}.
CREATE TEMP TABLE raw AS
SELECT * FROM read_ndjson('{file}', columns = {
    'type': 'VARCHAR', 'id': 'VARCHAR', 'service': 'VARCHAR', 'source': 'VARCHAR',
    'environment': 'VARCHAR', 'status': 'VARCHAR', 'finished_at': 'VARCHAR',
    'changes': 'VARCHAR[]', 'commit': 'VARCHAR', 'committed_at': 'VARCHAR', 'parent': 'VARCHAR',
    'started_at': 'VARCHAR', 'resolved_at': 'VARCHAR', 'deployment': 'VARCHAR'});
-- One version of each (source, id): the greatest, as Socle orders versions.
CREATE TEMP TABLE dep AS
SELECT coalesce(source, 'import') AS source, id, service, environment,
       coalesce(status, 'success') AS status,
       epoch_ms(finished_at::TIMESTAMPTZ) AS finished, coalesce(changes, []) AS changes, "commit"
FROM raw WHERE type = 'deployment'
QUALIFY row_number() OVER (PARTITION BY coalesce(source, 'import'), id
    ORDER BY finished DESC, status DESC, service DESC, environment DESC, changes DESC,
             "commit" DESC NULLS LAST) = 1;
-- A commit id names one commit whichever source sent it: the version that knows its parent,
-- then the earliest, then the first source by name.
CREATE TEMP TABLE chg AS
SELECT id, epoch_ms(committed_at::TIMESTAMPTZ) AS committed
FROM raw WHERE type = 'change'
QUALIFY row_number() OVER (PARTITION BY id
    ORDER BY parent IS NULL, committed, coalesce(source, 'import'), service, parent) = 1;
CREATE TEMP TABLE inc AS
SELECT coalesce(source, 'import') AS source, id, service,
       epoch_ms(started_at::TIMESTAMPTZ) AS started,
       epoch_ms(resolved_at::TIMESTAMPTZ) AS resolved, deployment
FROM raw WHERE type = 'incident'
QUALIFY row_number() OVER (PARTITION BY coalesce(source, 'import'), id
    ORDER BY resolved_at IS NOT NULL DESC, started DESC, resolved DESC NULLS LAST,
             service DESC, deployment DESC NULLS LAST) = 1;
DROP TABLE raw;
CREATE TEMP TABLE prod AS
SELECT source, id, service, finished, changes FROM dep
WHERE lower(status) = 'success' AND lower(environment) IN ('production', 'prod');
-- Lead time: each change's first successful production deployment minus its commit time.
CREATE TEMP TABLE lead AS
SELECT f.service, f.finished, (f.finished - c.committed) / 3600000.0 AS hours
FROM (SELECT * FROM (SELECT unnest(changes) AS cid, service, finished, source, id FROM prod)
      QUALIFY row_number() OVER (PARTITION BY cid ORDER BY finished, source, id) = 1) f
JOIN chg c ON c.id = f.cid
WHERE f.finished > c.committed;
-- Causes: the named deployment (its id in the incident's source, else the only one with the id,
-- else the only one of the incident's service), if a successful production one. Unnamed: the
-- service's latest successful production deployment finished before the incident started.
CREATE TEMP TABLE cause AS
SELECT DISTINCT source, id, service, finished FROM (
    SELECT n.*, count(*) OVER w AS candidates, sum(same_service::INT) OVER w AS of_service,
           bool_or(same_source) OVER w AS any_same_source
    FROM (SELECT i.source AS isource, i.id AS iid, d.source, d.id, d.service, d.finished,
                 lower(d.status) = 'success' AND lower(d.environment) IN ('production', 'prod') AS ok,
                 d.source = i.source AS same_source, d.service = i.service AS same_service
          FROM inc i JOIN dep d ON d.id = i.deployment) n
    WINDOW w AS (PARTITION BY isource, iid))
WHERE ok AND ((any_same_source AND same_source)
           OR (NOT any_same_source AND candidates = 1)
           OR (NOT any_same_source AND candidates > 1 AND of_service = 1 AND same_service))
UNION
SELECT p.source, p.id, p.service, p.finished
FROM (SELECT * FROM inc WHERE deployment IS NULL) i
ASOF JOIN prod p ON p.service = i.service AND p.finished < i.started;
CREATE TEMP TABLE members AS
SELECT * FROM read_csv('{members}', header = true, columns = {'scope': 'VARCHAR', 'service': 'VARCHAR'})
UNION ALL
SELECT DISTINCT 'organisation', service FROM (SELECT service FROM dep UNION SELECT service FROM inc);
WITH d AS (SELECT scope, count(*) AS n FROM prod JOIN members USING (service)
           WHERE finished >= {from} AND finished < {to} GROUP BY scope),
     f AS (SELECT scope, count(*) AS n FROM cause JOIN members USING (service)
           WHERE finished >= {from} AND finished < {to} GROUP BY scope),
     l AS (SELECT scope, count(*) AS n, quantile_cont(hours, 0.5) AS median,
                  quantile_cont(hours, 0.9) AS p90
           FROM lead JOIN members USING (service)
           WHERE finished >= {from} AND finished < {to} GROUP BY scope),
     r AS (SELECT scope, count(*) AS n, quantile_cont((resolved - started) / 3600000.0, 0.5) AS median
           FROM inc JOIN members USING (service)
           WHERE resolved >= {from} AND resolved < {to} GROUP BY scope)
SELECT s.scope, coalesce(d.n, 0) AS deployments,
       d.n / (({to} - {from}) / 86400000.0) AS deployment_frequency_per_day,
       coalesce(l.n, 0) AS changes, l.median AS lead_time_median_hours, l.p90 AS lead_time_p90_hours,
       coalesce(f.n, 0) AS failed_deployments,
       CASE WHEN d.n > 0 THEN coalesce(f.n, 0) / d.n END AS change_failure_rate,
       coalesce(r.n, 0) AS incidents_resolved, r.median AS recovery_time_median_hours
FROM (SELECT DISTINCT scope FROM members) s
LEFT JOIN d USING (scope) LEFT JOIN f USING (scope) LEFT JOIN l USING (scope) LEFT JOIN r USING (scope)
ORDER BY s.scope;
