-- The service lifecycle: renewals, suspension when overdue, termination after the grace
-- period, power actions, and one worker per service at a time.

-- A renewal order names the service it extends.
ALTER TABLE orders ADD COLUMN service_id BIGINT REFERENCES services (id);
CREATE INDEX orders_service ON orders (service_id) WHERE service_id IS NOT NULL;
-- One unpaid renewal per service at a time, however many callers issue one.
CREATE UNIQUE INDEX orders_pending_renewal ON orders (service_id) WHERE state = 'pending';

-- generation: bumped with every change of desired (or a power request); each change enqueues
-- one job keyed by it, so stale jobs merge instead of running out of order.
ALTER TABLE services ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
-- Held by the worker converging the service: one at a time.
ALTER TABLE services ADD COLUMN lease_until BIGINT;
-- An upstream operation in flight (JSON: the action and the upstream's reference), polled by
-- the job while it parks.
ALTER TABLE services ADD COLUMN op TEXT;
-- A power action the customer asked for, done by the job.
ALTER TABLE services ADD COLUMN power_request TEXT CHECK (power_request IN ('start', 'stop', 'reboot'));
-- Why desired is what it is: 'overdue', 'paid', 'staff', 'closure' (staff's text is in the audit).
ALTER TABLE services ADD COLUMN desired_reason TEXT;
-- The smallest reminder (days before expiry) sent for the current expiry; NULL: none yet.
ALTER TABLE services ADD COLUMN reminded_days BIGINT;
ALTER TABLE services ADD COLUMN suspended_at BIGINT;
ALTER TABLE services ADD COLUMN terminated_at BIGINT;

-- The lifecycle's scans: live services by expiry, and services not where they should be.
CREATE INDEX services_live_expiry ON services (expires_at, id) WHERE state IN ('active', 'suspended');
CREATE INDEX services_unsettled ON services (id) WHERE state <> desired OR state = 'needs_attention';
