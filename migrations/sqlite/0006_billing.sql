-- Billing: the catalog's plans, prices and stock; pseudonymous billing accounts with their
-- balance and ledger; orders, invoices and coupons; payments through the gateway and the
-- gateway's callbacks. Financial records are never deleted.

-- Set by real-name verification; checkout in regions that require it looks at it.
ALTER TABLE customers ADD COLUMN real_name_verified_at BIGINT;

CREATE TABLE plans (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    code            TEXT    NOT NULL UNIQUE,
    name_zh         TEXT    NOT NULL,
    name_en         TEXT    NOT NULL,
    vcpu            BIGINT  NOT NULL CHECK (vcpu BETWEEN 1 AND 256),
    memory_mb       BIGINT  NOT NULL CHECK (memory_mb > 0),
    disk_gb         BIGINT  NOT NULL CHECK (disk_gb > 0),
    bandwidth_mbps  BIGINT  NOT NULL CHECK (bandwidth_mbps > 0),
    -- Monthly traffic allowance; 0 means unmetered.
    traffic_gb      BIGINT  NOT NULL CHECK (traffic_gb >= 0),
    -- The OS images offered, comma-separated codes (debian-12,ubuntu-24.04,...).
    os_images       TEXT    NOT NULL,
    sort_order      BIGINT  NOT NULL DEFAULT 0,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      BIGINT  NOT NULL
);

CREATE TABLE plan_prices (
    plan_id    BIGINT NOT NULL REFERENCES plans (id),
    cycle      TEXT   NOT NULL CHECK (cycle IN ('monthly', 'quarterly', 'semiannual', 'annual')),
    price_fen  BIGINT NOT NULL CHECK (price_fen > 0),
    PRIMARY KEY (plan_id, cycle)
);

-- How many more servers of a plan a region can take; checkout takes one, cancellation gives
-- it back.
CREATE TABLE plan_stock (
    plan_id    BIGINT NOT NULL REFERENCES plans (id),
    region_id  BIGINT NOT NULL REFERENCES regions (id),
    available  BIGINT NOT NULL CHECK (available >= 0),
    PRIMARY KEY (plan_id, region_id)
);

-- A customer's billing identity. Orders, invoices and the ledger name this pseudonym, never
-- the customer, so they can be kept after the account is erased (customer_id becomes NULL).
CREATE TABLE billing_accounts (
    id           TEXT   PRIMARY KEY,
    customer_id  BIGINT UNIQUE REFERENCES customers (id) ON DELETE SET NULL,
    balance_fen  BIGINT NOT NULL DEFAULT 0 CHECK (balance_fen >= 0),
    created_at   BIGINT NOT NULL
);

CREATE TABLE coupons (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Upper-case letters and digits.
    code         TEXT   NOT NULL UNIQUE,
    kind         TEXT   NOT NULL CHECK (kind IN ('percent', 'fixed')),
    -- Percent off (1-100), or fen off.
    value        BIGINT NOT NULL CHECK (value > 0 AND (kind = 'fixed' OR value <= 100)),
    valid_from   BIGINT NOT NULL,
    valid_until  BIGINT NOT NULL,
    -- Uses in all; NULL: unlimited.
    max_uses     BIGINT CHECK (max_uses > 0),
    per_account  BIGINT NOT NULL CHECK (per_account > 0),
    used         BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    CHECK (max_uses IS NULL OR used <= max_uses)
);

CREATE TABLE orders (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    TEXT   NOT NULL REFERENCES billing_accounts (id),
    -- What was bought (C1.4): a new server, a renewal, or balance.
    kind          TEXT   NOT NULL CHECK (kind IN ('new', 'renewal', 'top_up')),
    plan_id       BIGINT REFERENCES plans (id),
    region_id     BIGINT REFERENCES regions (id),
    os_image      TEXT,
    cycle         TEXT   CHECK (cycle IN ('monthly', 'quarterly', 'semiannual', 'annual')),
    -- The duration bought (C1.4); 0 for balance.
    months        BIGINT NOT NULL CHECK (months >= 0),
    coupon_id     BIGINT REFERENCES coupons (id),
    discount_fen  BIGINT NOT NULL CHECK (discount_fen >= 0),
    amount_fen    BIGINT NOT NULL CHECK (amount_fen >= 0),
    state         TEXT   NOT NULL CHECK (state IN ('pending', 'paid', 'cancelled')),
    created_at    BIGINT NOT NULL,
    paid_at       BIGINT,
    cancelled_at  BIGINT
);
CREATE INDEX orders_account ON orders (account_id, id);
CREATE INDEX orders_state ON orders (state, created_at);

CREATE TABLE coupon_uses (
    coupon_id   BIGINT NOT NULL REFERENCES coupons (id),
    account_id  TEXT   NOT NULL REFERENCES billing_accounts (id),
    order_id    BIGINT NOT NULL UNIQUE REFERENCES orders (id),
    used_at     BIGINT NOT NULL
);
CREATE INDEX coupon_uses_account ON coupon_uses (coupon_id, account_id);

-- Gap-free numbering: the counter moves in the same transaction as the row it numbers.
CREATE TABLE counters (
    name   TEXT   PRIMARY KEY,
    value  BIGINT NOT NULL
);

-- 账单 (never 发票). The buyer and the item are snapshots: later changes to the account or the
-- catalog do not rewrite an issued invoice.
CREATE TABLE invoices (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    number          TEXT   NOT NULL UNIQUE,
    order_id        BIGINT NOT NULL UNIQUE REFERENCES orders (id),
    account_id      TEXT   NOT NULL REFERENCES billing_accounts (id),
    buyer_username  TEXT   NOT NULL,
    item_zh         TEXT   NOT NULL,
    item_en         TEXT   NOT NULL,
    price_fen       BIGINT NOT NULL CHECK (price_fen >= 0),
    discount_fen    BIGINT NOT NULL CHECK (discount_fen >= 0),
    amount_fen      BIGINT NOT NULL CHECK (amount_fen >= 0),
    state           TEXT   NOT NULL CHECK (state IN ('unpaid', 'paid', 'cancelled')),
    paid_via        TEXT   CHECK (paid_via IN ('balance', 'gateway')),
    refunded_fen    BIGINT NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0 AND refunded_fen <= amount_fen),
    issued_at       BIGINT NOT NULL,
    paid_at         BIGINT,
    cancelled_at    BIGINT
);
CREATE INDEX invoices_account ON invoices (account_id, id);
CREATE INDEX invoices_state ON invoices (state, issued_at);

-- Every movement of a balance. amount_fen is signed; balance_after is the balance once applied.
CREATE TABLE ledger (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     TEXT   NOT NULL REFERENCES billing_accounts (id),
    kind           TEXT   NOT NULL CHECK (kind IN ('top_up', 'payment', 'refund', 'adjustment')),
    amount_fen     BIGINT NOT NULL CHECK (amount_fen <> 0),
    balance_after  BIGINT NOT NULL CHECK (balance_after >= 0),
    invoice_id     BIGINT REFERENCES invoices (id),
    -- Staff adjustments: who and why.
    staff_id       BIGINT REFERENCES staff (id),
    reason         TEXT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX ledger_account ON ledger (account_id, id);

-- One attempt to pay an invoice through the gateway. out_trade_no is what the gateway knows.
CREATE TABLE payments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    out_trade_no  TEXT   NOT NULL UNIQUE,
    invoice_id    BIGINT NOT NULL REFERENCES invoices (id),
    channel       TEXT   NOT NULL CHECK (channel IN ('alipay', 'wxpay')),
    amount_fen    BIGINT NOT NULL CHECK (amount_fen > 0),
    state         TEXT   NOT NULL CHECK (state IN ('started', 'paid', 'refunded')),
    -- The gateway's trade number, once paid: a trade credits at most once.
    trade_no      TEXT   UNIQUE,
    refunded_fen  BIGINT NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0 AND refunded_fen <= amount_fen),
    -- What the QR code shows (a payment address), for the page that waits for the payment.
    qr_content    TEXT,
    created_at    BIGINT NOT NULL,
    paid_at       BIGINT
);
CREATE INDEX payments_invoice ON payments (invoice_id);
CREATE INDEX payments_state ON payments (state, created_at);

-- What the gateway told us, redacted to the result fields (C1.5). payload_hash (SHA-256 of the
-- canonical parameters) absorbs repeats; the state machine lets exactly one worker apply it.
CREATE TABLE payment_callbacks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    payload_hash  TEXT   NOT NULL UNIQUE,
    source        TEXT   NOT NULL CHECK (source IN ('notify', 'query')),
    trade_no      TEXT,
    out_trade_no  TEXT,
    -- JSON of the kept fields only.
    fields        TEXT   NOT NULL,
    state         TEXT   NOT NULL CHECK (state IN ('received', 'processing', 'applied', 'ignored', 'refused')),
    -- Why it was ignored or refused (a code, not free text).
    outcome       TEXT,
    attempts      BIGINT NOT NULL DEFAULT 0,
    claimed_at    BIGINT,
    received_at   BIGINT NOT NULL,
    processed_at  BIGINT
);
CREATE INDEX payment_callbacks_state ON payment_callbacks (state, received_at);
