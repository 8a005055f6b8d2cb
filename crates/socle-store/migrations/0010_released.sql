-- Entities a location stopped providing, and which location that was. While that location is
-- registered, a member's location may not take such an entity over (a service's identity, its
-- deploy rights and resources would follow): only the same location or an admin's may provide
-- it again. Unregistering the location frees its entities.
CREATE TABLE released (
    ref             TEXT PRIMARY KEY,
    location_key    TEXT NOT NULL,
    released_at     BIGINT NOT NULL
);
CREATE INDEX released_location ON released (location_key);
