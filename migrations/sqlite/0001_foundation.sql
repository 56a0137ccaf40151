-- Foundation: the jobs outbox, periodic-task runs, and the catalog's regions.
-- Times are epoch milliseconds (BIGINT); enums are TEXT with CHECK.

CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    -- Enqueueing the same dedupe key twice yields one job.
    dedupe_key    TEXT    UNIQUE,
    -- When a queued job may run; for a running job, when its claim lapses.
    run_at        BIGINT  NOT NULL,
    attempts      BIGINT  NOT NULL DEFAULT 0,
    max_attempts  BIGINT  NOT NULL,
    locked_by     TEXT,
    last_error    TEXT,
    finished_by   TEXT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_at);

-- One row per periodic task and period: the primary key makes each period run once,
-- whatever the number of instances.
CREATE TABLE periodic_runs (
    task         TEXT   NOT NULL,
    period       BIGINT NOT NULL,
    holder       TEXT   NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    error        TEXT,
    PRIMARY KEY (task, period)
);

CREATE TABLE regions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    code                TEXT    NOT NULL UNIQUE,
    name_zh             TEXT    NOT NULL,
    name_en             TEXT    NOT NULL,
    -- Mainland regions require real-name verification before purchase.
    real_name_required  BOOLEAN NOT NULL,
    sort_order          BIGINT  NOT NULL DEFAULT 0,
    active              BOOLEAN NOT NULL DEFAULT TRUE,
    created_at          BIGINT  NOT NULL
);
