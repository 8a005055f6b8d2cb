-- Campaign reminders: the latest of each campaign and team, claimed before it is sent so that a
-- restart or another replica does not send the same period's reminder again. `period` is the
-- UTC day (days since 1970-01-01) the reminder is for; `status` is sending, sent or failed (a
-- failed one, or one left sending past its time limit, may be claimed again); `sent_at` is the
-- last delivery that succeeded, kept when a later one fails.
CREATE TABLE campaign_reminders (
    campaign   TEXT NOT NULL,
    team       TEXT NOT NULL,
    period     BIGINT NOT NULL,
    status     TEXT NOT NULL,
    claimed_at BIGINT NOT NULL,
    sent_at    BIGINT,
    error      TEXT,
    PRIMARY KEY (campaign, team)
);
