-- Inbound events (`POST /api/events`, signed by WHMCS hooks). Each accepted event is
-- stored here before the 202 answer; a worker in `domwatch serve` claims it (owner and
-- lease), runs a targeted check of its domains and marks it done. A claim whose lease ran
-- out (the worker died) is taken again. The signature is unique: a replay is refused.
CREATE TABLE inbound_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    signature TEXT NOT NULL UNIQUE,   -- lowercase hex HMAC of the request: the replay key
    event TEXT NOT NULL,              -- InvoicePaid, AfterRegistrarRenewal, …
    domains TEXT NOT NULL,            -- JSON array of domain names (may be empty)
    invoice_id BIGINT,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL,             -- queued | running | done | failed
    attempts BIGINT NOT NULL DEFAULT 0,
    owner TEXT,                       -- the worker holding a running claim
    not_before TEXT,                  -- queued: retry after; running: the lease end
    finished_at TEXT,
    result TEXT                       -- what the targeted check did, or why it failed
);
CREATE INDEX inbound_events_status ON inbound_events (status, id);
