-- What incident tools send besides times and cause (PagerDuty, Opsgenie, GitLab, …): kept to be
-- shown, never used by the metrics. Labels are a JSON object of strings, '{}' for none.
ALTER TABLE dora_incidents ADD COLUMN title TEXT;
ALTER TABLE dora_incidents ADD COLUMN severity TEXT;
ALTER TABLE dora_incidents ADD COLUMN url TEXT;
ALTER TABLE dora_incidents ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
-- Incident lists: a service's, or every service's, newest first.
CREATE INDEX dora_incidents_service_started ON dora_incidents (service, started_at);
CREATE INDEX dora_incidents_started ON dora_incidents (started_at);
