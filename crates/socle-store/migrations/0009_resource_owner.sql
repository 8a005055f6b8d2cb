-- Who owns a provisioned resource: the team whose workload first provisioned it (a group
-- reference; NULL: provisioned before owners were recorded, or by a deploy with no owning team),
-- and a fingerprint of the params it was provisioned with (a team granted a shared resource must
-- ask for it with the same params).
ALTER TABLE resource_state ADD COLUMN owner TEXT;
ALTER TABLE resource_state ADD COLUMN params_hash TEXT;
