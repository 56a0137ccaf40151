-- Customer accounts: the account, its single-use links, remember-me token families, and the
-- devices it signed in from.

CREATE TABLE customers (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    -- As the customer typed it; username_key is its lower-case form, unique.
    username           TEXT    NOT NULL,
    username_key       TEXT    NOT NULL UNIQUE,
    -- Normalised (trimmed, lower-case); unique.
    email              TEXT    NOT NULL UNIQUE,
    email_verified_at  BIGINT,
    password_hash      TEXT    NOT NULL,
    -- Declared at sign-up: 18 or over, or 16-17 (guardian consent to follow). Under 16 stores nothing.
    age_bracket        TEXT    NOT NULL CHECK (age_bracket IN ('adult', 'minor')),
    lang               TEXT    NOT NULL CHECK (lang IN ('zh-CN', 'en')),
    -- Optional contact data (C1.6). phone is sealed with the key ring.
    phone              TEXT,
    qq                 TEXT,
    country            TEXT,
    province           TEXT,
    city               TEXT,
    created_at         BIGINT  NOT NULL
);
CREATE INDEX customers_unverified ON customers (email_verified_at, created_at);

-- Single-use links (verify e-mail, reset password, change e-mail): only the hash is kept.
CREATE TABLE account_links (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    purpose      TEXT   NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    token_hash   TEXT   NOT NULL UNIQUE,
    new_email    TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
CREATE INDEX account_links_customer ON account_links (customer_id, purpose);

-- "Remember me": each use rotates the token inside its family; a rotated token presented again
-- means it was stolen, and the whole family is revoked.
CREATE TABLE remember_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    family       TEXT   NOT NULL,
    token_hash   TEXT   NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    rotated_at   BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX remember_tokens_family ON remember_tokens (family);

CREATE TABLE known_devices (
    customer_id  BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    -- A keyed hash of browser and operating system names.
    device_key   TEXT   NOT NULL,
    first_seen   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    PRIMARY KEY (customer_id, device_key)
);
