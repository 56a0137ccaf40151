-- no-transaction
-- A cart, and invoices of several lines: one checkout of a cart issues one invoice whose lines
-- are its orders (one server each). The invoice loses its single order_id, so SQLite rebuilds
-- the table (the documented twelve-step procedure: keys off, copy, swap, check, keys on); every
-- existing invoice becomes an invoice of one line.

PRAGMA foreign_keys = OFF;

BEGIN;

CREATE TABLE invoices_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    number          TEXT   NOT NULL UNIQUE,
    account_id      TEXT   NOT NULL REFERENCES billing_accounts (id),
    -- A balance top-up credits the balance when paid; services are the servers of its lines.
    kind            TEXT   NOT NULL CHECK (kind IN ('services', 'top_up')),
    buyer_username  TEXT   NOT NULL,
    -- A summary of the lines for lists: the only line, or the first and how many more.
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

INSERT INTO invoices_new (id, number, account_id, kind, buyer_username, item_zh, item_en, price_fen, discount_fen,
    amount_fen, state, paid_via, refunded_fen, issued_at, paid_at, cancelled_at)
SELECT i.id, i.number, i.account_id, CASE o.kind WHEN 'top_up' THEN 'top_up' ELSE 'services' END, i.buyer_username,
    i.item_zh, i.item_en, i.price_fen, i.discount_fen, i.amount_fen, i.state, i.paid_via, i.refunded_fen,
    i.issued_at, i.paid_at, i.cancelled_at
FROM invoices i JOIN orders o ON o.id = i.order_id;

-- Each order is on exactly one invoice line; the line snapshots what was bought and its price.
CREATE TABLE invoice_lines (
    order_id      BIGINT PRIMARY KEY REFERENCES orders (id),
    invoice_id    BIGINT NOT NULL REFERENCES invoices (id),
    item_zh       TEXT   NOT NULL,
    item_en       TEXT   NOT NULL,
    price_fen     BIGINT NOT NULL CHECK (price_fen >= 0),
    discount_fen  BIGINT NOT NULL CHECK (discount_fen >= 0),
    amount_fen    BIGINT NOT NULL CHECK (amount_fen >= 0)
);

INSERT INTO invoice_lines (order_id, invoice_id, item_zh, item_en, price_fen, discount_fen, amount_fen)
SELECT order_id, id, item_zh, item_en, price_fen, discount_fen, amount_fen FROM invoices;

DROP TABLE invoices;
ALTER TABLE invoices_new RENAME TO invoices;
CREATE INDEX invoices_account ON invoices (account_id, id);
CREATE INDEX invoices_state ON invoices (state, issued_at);
CREATE INDEX invoice_lines_invoice ON invoice_lines (invoice_id);

-- What a customer put in the cart, not yet bought: the price is read at checkout.
CREATE TABLE cart_items (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    plan_id      BIGINT NOT NULL REFERENCES plans (id),
    region_id    BIGINT NOT NULL REFERENCES regions (id),
    cycle        TEXT   NOT NULL CHECK (cycle IN ('monthly', 'quarterly', 'semiannual', 'annual')),
    os_image     TEXT   NOT NULL,
    added_at     BIGINT NOT NULL
);
CREATE INDEX cart_items_customer ON cart_items (customer_id, id);

COMMIT;

PRAGMA foreign_keys = ON;
