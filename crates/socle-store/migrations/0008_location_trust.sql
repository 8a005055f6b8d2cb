-- Who may shape the organisation from a location: `organisation` (registered by an admin or by
-- the operator's CLI: may define groups, users, hierarchy and membership) or `team` (registered
-- by a member: everything else). Authorisation trusts only the organisation's locations.
ALTER TABLE locations ADD COLUMN trust TEXT NOT NULL DEFAULT 'team';
-- Existing locations: those registered by the operator's CLI or by a current admin token's
-- subject keep shaping the organisation; members' locations do not.
UPDATE locations SET trust = 'organisation'
 WHERE created_by LIKE 'cli:%'
    OR created_by IN (SELECT subject FROM tokens WHERE role = 'admin' AND revoked_at IS NULL);
