-- TLD price cases (issue #12) are told to the admin like domain cases: every opening,
-- reopening and resolution is queued here in the same transaction as the case change, and
-- the notice stage tells each row once (in the e-mail digest, else in one WHMCS to-do per
-- cycle) and marks it sent with the notice that told it.
CREATE TABLE price_case_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES price_cases (id),
    opening BIGINT NOT NULL,          -- the case's openings when the event happened
    event TEXT NOT NULL,              -- opened | reopened | resolved
    status TEXT NOT NULL,             -- pending | claimed | sent
    created_at TEXT NOT NULL,
    claimed_by TEXT,                  -- the notice that is telling it
    claimed_at TEXT,
    sent_at TEXT,
    external_ref TEXT,                -- the digest's Message-ID or the to-do / ticket
    UNIQUE (case_id, opening, event)
);
CREATE INDEX price_case_notices_status ON price_case_notices (status);

-- One Fix now of a TLD price case at a time (the price-case twin of fix_claims).
CREATE TABLE price_fix_claims (
    case_id BIGINT PRIMARY KEY REFERENCES price_cases (id),
    owner TEXT NOT NULL,
    lease_until TEXT NOT NULL
);
