-- Adoption metrics (docs/adoption.md). A golden-path run keeps when it started (its duration
-- and a new service's time to first deploy start there) and the entity it registered in the
-- catalog (the durable "created from golden path X by run R" marker, joined with the entity's
-- `backstage.io/source-template` annotation). Runs recorded before this migration have neither.
ALTER TABLE template_runs ADD COLUMN started_at BIGINT;
ALTER TABLE template_runs ADD COLUMN entity TEXT;
CREATE INDEX template_runs_entity ON template_runs (entity);
-- Weekly counts of active people read the audit log by action and time.
CREATE INDEX audit_log_action_at ON audit_log (action, at);
