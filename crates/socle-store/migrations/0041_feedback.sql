-- Feedback from portal pages and golden-path runs: a rating and a comment about a page (and
-- the template, on golden-path pages), signed by its author unless sent anonymously (author
-- NULL), triaged by the platform team (status new, planned, done, wont_do).
CREATE TABLE feedback (
    id         TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    page       TEXT NOT NULL,
    template   TEXT,
    rating     BIGINT NOT NULL,
    comment    TEXT NOT NULL,
    author     TEXT,
    status     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX feedback_created ON feedback (created_at);
CREATE INDEX feedback_author ON feedback (author, created_at);
