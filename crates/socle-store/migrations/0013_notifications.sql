-- Notifications (`notification:send` in golden paths): a title, optional text and link, a
-- severity, and who receives it — everyone (broadcast) or entity refs (users and groups), kept
-- in a table of their own so a user's notifications are found by index.
CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    origin      TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT,
    link        TEXT,
    severity    TEXT NOT NULL,
    scope       TEXT,
    broadcast   BIGINT NOT NULL
);
CREATE UNIQUE INDEX notifications_seq ON notifications (seq);
CREATE INDEX notifications_broadcast ON notifications (broadcast, seq);
CREATE TABLE notification_recipients (
    notification_id TEXT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    recipient       TEXT NOT NULL,
    PRIMARY KEY (notification_id, recipient)
);
CREATE INDEX notification_recipients_recipient ON notification_recipients (recipient, seq);
INSERT INTO meta (key, value) VALUES ('notification_seq', 0);
