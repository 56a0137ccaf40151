-- Shared core: staff, TOTP, sessions, audit chain, policy versions, consents, disclosures,
-- in-site notices, notification preferences, rate limits, API tokens.

CREATE TABLE staff (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Lower-cased, for unique look-up without regard to case.
    username              TEXT    NOT NULL UNIQUE,
    display_name          TEXT    NOT NULL,
    email                 TEXT    NOT NULL,
    -- Optional, for SMS security alerts; sealed with the key ring (AAD staff/phone/staff:<id>).
    phone                 TEXT,
    password_hash         TEXT    NOT NULL,
    -- Set by `lantian staff create` (one-time password): the first login must replace it.
    must_change_password  BOOLEAN NOT NULL,
    active                BOOLEAN NOT NULL,
    created_at            BIGINT  NOT NULL,
    deactivated_at        BIGINT
);

CREATE TABLE staff_roles (
    staff_id  BIGINT NOT NULL REFERENCES staff (id),
    role      TEXT   NOT NULL CHECK (role IN ('owner', 'admin', 'support', 'billing', 'compliance')),
    PRIMARY KEY (staff_id, role)
);

-- One TOTP factor per subject (customer or staff); the secret is sealed with the key ring.
CREATE TABLE totp_factors (
    subject_kind  TEXT   NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    subject_id    BIGINT NOT NULL,
    secret        TEXT   NOT NULL,
    -- NULL until the first code confirms the enrolment.
    enabled_at    BIGINT,
    -- The last accepted time step: a code of this step or an earlier one is a replay.
    last_step     BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (subject_kind, subject_id)
);

CREATE TABLE recovery_codes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind  TEXT   NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    subject_id    BIGINT NOT NULL,
    code_hash     TEXT   NOT NULL UNIQUE,
    used_at       BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX recovery_codes_subject ON recovery_codes (subject_kind, subject_id);

CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash      TEXT    NOT NULL UNIQUE,
    subject_kind    TEXT    NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    subject_id      BIGINT  NOT NULL,
    -- 'password': the password was right, the second factor (or its enrolment) is pending.
    stage           TEXT    NOT NULL CHECK (stage IN ('password', 'active')),
    csrf_secret     TEXT    NOT NULL,
    flash           TEXT,
    created_at      BIGINT  NOT NULL,
    last_seen_at    BIGINT  NOT NULL,
    idle_timeout_ms BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    ip              TEXT,
    browser         TEXT,
    os              TEXT,
    revoked_at      BIGINT,
    revoked_reason  TEXT
);
CREATE INDEX sessions_subject ON sessions (subject_kind, subject_id);

-- Append-only, hash-chained. Ids and field names only, never personal values.
CREATE TABLE audit_log (
    seq          BIGINT  PRIMARY KEY,
    at           BIGINT  NOT NULL,
    actor_kind   TEXT    NOT NULL CHECK (actor_kind IN ('customer', 'staff', 'system')),
    actor_id     BIGINT,
    action       TEXT    NOT NULL,
    target_kind  TEXT,
    target_id    TEXT,
    fields       TEXT    NOT NULL,
    reason       TEXT,
    request_id   TEXT,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor_kind, actor_id);
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;

-- The single head of the chain: every append moves it, so the chain never forks.
CREATE TABLE audit_head (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    seq        BIGINT NOT NULL,
    last_hash  TEXT   NOT NULL
);
INSERT INTO audit_head (id, seq, last_hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE policy_versions (
    version       BIGINT  PRIMARY KEY,
    published_on  TEXT    NOT NULL,
    major         BOOLEAN NOT NULL,
    title_zh      TEXT    NOT NULL,
    title_en      TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);
INSERT INTO policy_versions (version, published_on, major, title_zh, title_en, created_at)
VALUES (1, '2025-07-19', TRUE, '蓝天云隐私政策', 'Lantian Cloud Privacy Policy', 1752883200000);

CREATE TABLE consents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind    TEXT    NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    subject_id      BIGINT  NOT NULL,
    purpose         TEXT    NOT NULL CHECK (purpose IN ('privacy_policy', 'hk_storage_notice', 'real_name', 'sms_notices')),
    policy_version  BIGINT  NOT NULL REFERENCES policy_versions (version),
    given           BOOLEAN NOT NULL,
    -- What exactly was agreed to, e.g. the SMS vendor named in the consent text.
    detail          TEXT    NOT NULL,
    at              BIGINT  NOT NULL,
    ip              TEXT
);
CREATE INDEX consents_subject ON consents (subject_kind, subject_id, purpose);

CREATE TABLE disclosures (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind  TEXT   NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    subject_id    BIGINT NOT NULL,
    recipient     TEXT   NOT NULL CHECK (recipient IN ('payment_gateway', 'real_name_provider', 'upstream_provider', 'sms_vendor', 'smtp_relay', 'authority')),
    recipient_name TEXT  NOT NULL,
    fields        TEXT   NOT NULL,
    purpose       TEXT   NOT NULL,
    object_kind   TEXT   NOT NULL,
    object_id     TEXT   NOT NULL,
    at            BIGINT NOT NULL,
    UNIQUE (subject_kind, subject_id, recipient, purpose, object_kind, object_id)
);

CREATE TABLE notices (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind  TEXT   NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    subject_id    BIGINT NOT NULL,
    event         TEXT   NOT NULL,
    class         TEXT   NOT NULL CHECK (class IN ('security', 'legal', 'billing', 'service', 'support', 'announcement')),
    -- The event's arguments (JSON): the notice is drawn in the reader's language when shown.
    args          TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    read_at       BIGINT
);
CREATE INDEX notices_subject ON notices (subject_kind, subject_id, read_at);

-- Channels per event class; no row means the defaults of that class.
CREATE TABLE notification_prefs (
    subject_kind  TEXT    NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    subject_id    BIGINT  NOT NULL,
    class         TEXT    NOT NULL CHECK (class IN ('security', 'legal', 'billing', 'service', 'support', 'announcement')),
    email         BOOLEAN NOT NULL,
    sms           BOOLEAN NOT NULL,
    insite        BOOLEAN NOT NULL,
    PRIMARY KEY (subject_kind, subject_id, class)
);

CREATE TABLE rate_limits (
    key           TEXT   NOT NULL,
    window_start  BIGINT NOT NULL,
    hits          BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_expiry ON rate_limits (expires_at);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind  TEXT   NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    subject_id    BIGINT NOT NULL,
    name          TEXT   NOT NULL,
    token_hash    TEXT   NOT NULL UNIQUE,
    scopes        TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX api_tokens_subject ON api_tokens (subject_kind, subject_id);
