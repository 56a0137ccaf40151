-- Provisioning: a paid server order becomes a service, which the `provision` job creates at an
-- upstream provider. Proxmox reserves no vmid or address for us (`/cluster/nextid` is only a
-- hint), so we hand both out from our own pools, guarded by unique constraints.

-- Which upstream serves a plan in a region, and what the server is made from there (a Proxmox
-- template `9000` or `9000@node`). No row: the service waits for staff (needs_attention).
CREATE TABLE plan_targets (
    plan_id    BIGINT NOT NULL REFERENCES plans (id),
    region_id  BIGINT NOT NULL REFERENCES regions (id),
    upstream   TEXT   NOT NULL,
    target     TEXT   NOT NULL,
    PRIMARY KEY (plan_id, region_id)
);

-- A server a customer paid for. account_id is the billing pseudonym, kept with the order after
-- an erasure (customer_id becomes NULL). state is where it is; desired is where the jobs take
-- it. checkpoint is the provider module's create checkpoint (JSON), stored before each call.
-- password_enc is the first login password, sealed (AAD services/password_enc/service:<id>).
CREATE TABLE services (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id      BIGINT NOT NULL UNIQUE REFERENCES orders (id),
    account_id    TEXT   NOT NULL REFERENCES billing_accounts (id),
    customer_id   BIGINT REFERENCES customers (id) ON DELETE SET NULL,
    plan_id       BIGINT NOT NULL REFERENCES plans (id),
    region_id     BIGINT NOT NULL REFERENCES regions (id),
    os_image      TEXT   NOT NULL,
    months        BIGINT NOT NULL CHECK (months > 0),
    upstream      TEXT,
    target        TEXT,
    state         TEXT   NOT NULL CHECK (state IN ('pending', 'provisioning', 'active', 'suspended', 'terminated', 'needs_attention')),
    desired       TEXT   NOT NULL CHECK (desired IN ('active', 'suspended', 'terminated')),
    remote_id     TEXT,
    node          TEXT,
    ip            TEXT,
    checkpoint    TEXT,
    password_enc  TEXT,
    -- For staff: an upstream's or our own text, never personal data.
    last_error    TEXT,
    created_at    BIGINT NOT NULL,
    activated_at  BIGINT,
    expires_at    BIGINT
);
CREATE INDEX services_customer ON services (customer_id, id);
CREATE INDEX services_state ON services (state, id);
CREATE INDEX services_expires ON services (expires_at);

-- Addresses to hand out, per upstream; service_id is the holder (NULL: free).
CREATE TABLE ip_pool (
    address     TEXT   PRIMARY KEY,
    upstream    TEXT   NOT NULL,
    prefix_len  BIGINT NOT NULL CHECK (prefix_len BETWEEN 1 AND 128),
    gateway     TEXT   NOT NULL,
    service_id  BIGINT UNIQUE REFERENCES services (id)
);
CREATE INDEX ip_pool_upstream ON ip_pool (upstream, service_id);

-- vmids handed out, per upstream, from its configured range. service_id NULL: a VM that is not
-- ours was found at this vmid, so it is never handed out again (staff delete the row once that
-- VM is gone).
CREATE TABLE vmid_reservations (
    upstream    TEXT   NOT NULL,
    vmid        BIGINT NOT NULL,
    service_id  BIGINT UNIQUE REFERENCES services (id),
    PRIMARY KEY (upstream, vmid)
);
