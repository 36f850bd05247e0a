-- TLD price cases (issue #12): one per (TLD, operation, currency), keyed by
-- `tld-price:{tld}:{operation}:{currency}`. They are about a price list, not a domain,
-- so they live beside `cases` (keyed by kind and domain) with their own scope: a case
-- resolves only when its TLD's sell prices and its registrar's price list were both read
-- completely in that run.
CREATE TABLE price_cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_key TEXT NOT NULL UNIQUE,
    tld TEXT NOT NULL,
    operation TEXT NOT NULL,
    currency TEXT NOT NULL,
    kind TEXT NOT NULL,
    registrar TEXT NOT NULL,
    summary TEXT NOT NULL,
    finding TEXT NOT NULL,            -- the PriceFinding as JSON (term table, proposal)
    state TEXT NOT NULL,              -- open | resolved
    openings BIGINT NOT NULL,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    resolved_at TEXT,
    last_run BIGINT NOT NULL
);
CREATE INDEX price_cases_state ON price_cases (state, tld);
