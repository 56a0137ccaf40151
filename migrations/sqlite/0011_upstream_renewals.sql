-- Months a customer paid for that an upstream which bills (a reseller) has not been paid for
-- yet: the service's job renews the server there, then takes them off.
ALTER TABLE services ADD COLUMN upstream_renew_months BIGINT NOT NULL DEFAULT 0 CHECK (upstream_renew_months >= 0);
