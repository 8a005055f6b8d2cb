-- Golden-path runs in progress, so that any replica shows a run's log as it grows (the run
-- itself goes on in the replica that started it). `log` is the JSON array of lines so far;
-- `done` is set once, with the recorded run's id or why there is none. `updated_at` is the
-- running replica's heartbeat: a run whose replica died stops being updated.
CREATE TABLE live_runs (
    key             TEXT PRIMARY KEY,
    actor           TEXT NOT NULL,
    template        TEXT NOT NULL,
    log             TEXT NOT NULL,
    done            BIGINT NOT NULL,
    run_id          TEXT,
    error           TEXT,
    started_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX live_runs_started ON live_runs (started_at);
