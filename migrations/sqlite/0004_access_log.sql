-- The access log (privacy policy C1.7): one row per request with the client's IP address,
-- browser and version, operating system, time and page (its query string redacted but for an
-- allow-list of harmless keys), the subject once a session was resolved, and sign-in events.
-- Kept at least six months (C5.4, `logs.retention_days`); the `accesslog.retention` task
-- deletes older rows here in small batches. Same columns as the PostgreSQL table, which is
-- partitioned by month.
CREATE TABLE access_log (
    -- AUTOINCREMENT: ids are never reused, not even after retention emptied the table, so
    -- "newest first by id" and the console's keyset paging stay true.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- When the request arrived, epoch milliseconds.
    at            BIGINT  NOT NULL,
    ip            TEXT    NOT NULL,
    -- "Chrome 120.0.0.0", "Windows 10 NT 10.0" (from the User-Agent); NULL without one.
    browser       TEXT,
    os            TEXT,
    method        TEXT    NOT NULL,
    -- Path and redacted query, at most 512 characters.
    path          TEXT    NOT NULL,
    status        BIGINT  NOT NULL,
    latency_us    BIGINT  NOT NULL,
    -- Who made the request, when it carried a session or token (or named an existing
    -- username at a failed sign-in).
    subject_kind  TEXT    CHECK (subject_kind IN ('customer', 'staff')),
    subject_id    BIGINT,
    event         TEXT    NOT NULL CHECK (event IN ('request', 'sign_in', 'sign_in_failed', 'sign_out')),
    request_id    TEXT
);
CREATE INDEX access_log_subject ON access_log (subject_kind, subject_id, at);
CREATE INDEX access_log_ip ON access_log (ip, at);
CREATE INDEX access_log_at ON access_log (at);
