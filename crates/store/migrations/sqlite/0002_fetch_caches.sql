-- What a cycle learned while fetching and need not ask again next cycle.

-- The currency of each WHMCS client (GetClientsDomains does not say which currency an
-- amount is in). `source`: invoices | client_details | database. Entries are re-checked
-- after 20 to 30 days (staggered by client id) or when an invoice disagrees.
CREATE TABLE client_currencies (
    client_id BIGINT PRIMARY KEY,
    currency TEXT NOT NULL,
    source TEXT NOT NULL,
    checked_at TEXT NOT NULL
);

-- Failed incoming transfers with the registrar's reason, so a failure the bulk transfer
-- list still shows is not looked up one domain at a time every cycle.
CREATE TABLE transfer_failures (
    account TEXT NOT NULL,
    domain TEXT NOT NULL,             -- A-label, lower case
    reason TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    PRIMARY KEY (account, domain)
);
