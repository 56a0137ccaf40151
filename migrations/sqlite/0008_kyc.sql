-- Real-name verification (实名认证) and guardians' consents for customers of 16 and 17.

-- A customer of 16 or 17 may buy once staff approved a guardian's written consent (C7.1).
ALTER TABLE customers ADD COLUMN guardian_approved_at BIGINT;

-- One record per customer: the latest verification and its state. The name and the number are
-- sealed with the key ring (AAD row `customer:<id>`) and cleared once nothing needs them
-- (rejected, revoked); the masked forms are what pages show.
CREATE TABLE real_name_records (
    customer_id          BIGINT PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    state                TEXT   NOT NULL CHECK (state IN ('pending', 'verified', 'rejected', 'revoked')),
    document_kind        TEXT   NOT NULL CHECK (document_kind IN ('mainland_id', 'hk_permit', 'mo_permit', 'tw_permit')),
    name_enc             TEXT,
    number_enc           TEXT,
    name_masked          TEXT   NOT NULL,
    number_masked        TEXT   NOT NULL,
    -- The number's HMAC blind index and which of the `kyc.max_accounts_per_id` places it takes:
    -- the unique pair lets no more accounts than that hold one number, even when they race.
    -- Both NULL when the record holds no place (rejected, revoked).
    number_index         TEXT,
    number_slot          BIGINT,
    -- Set for a customer of 16 or 17: the start of their 18th birthday (Asia/Shanghai).
    adult_at             BIGINT,
    provider             TEXT,
    provider_request_id  TEXT,
    -- match, mismatch, not_found, or the provider's error code while pending.
    outcome              TEXT,
    tries                BIGINT NOT NULL DEFAULT 0,
    next_try_at          BIGINT,
    submitted_at         BIGINT NOT NULL,
    verified_at          BIGINT,
    revoked_at           BIGINT,
    UNIQUE (number_index, number_slot)
);
CREATE INDEX real_name_records_retry ON real_name_records (state, next_try_at);

-- A guardian's signed consent for a customer of 16 or 17: the document sealed with the key ring
-- (AAD row `customer:<id>`), kept until the customer turns 18 or the account closes.
CREATE TABLE guardian_consents (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id        BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    guardian_name_enc  TEXT   NOT NULL,
    relationship       TEXT   NOT NULL CHECK (relationship IN ('father', 'mother', 'guardian')),
    document_enc       TEXT   NOT NULL,
    content_type       TEXT   NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size_bytes         BIGINT NOT NULL CHECK (size_bytes > 0),
    state              TEXT   NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    -- Staff's reason for a rejection, shown to the customer.
    review_reason      TEXT,
    reviewed_by        BIGINT REFERENCES staff (id),
    submitted_at       BIGINT NOT NULL,
    reviewed_at        BIGINT,
    delete_at          BIGINT NOT NULL
);
CREATE INDEX guardian_consents_customer ON guardian_consents (customer_id, id);
CREATE INDEX guardian_consents_state ON guardian_consents (state, submitted_at);
CREATE INDEX guardian_consents_delete ON guardian_consents (delete_at);
