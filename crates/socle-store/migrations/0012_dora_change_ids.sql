-- A commit id is global: deployments name changes by id whatever their source, and an import
-- checks which of the ids it references are known.
CREATE INDEX dora_changes_by_id ON dora_changes (id);
