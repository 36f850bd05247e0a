-- Outbound webhooks: an outbox. An event row is written in the same transaction as the
-- case change it tells (opened, reopened, resolved in sync_findings; a fix or automatic
-- write with its audited result), once per change (event_key is unique). The sender fans
-- each event out to the endpoints configured when it happened and claims deliveries with
-- a lease, so a crash between sending and recording sends again with the same delivery id.

-- Endpoints ever configured: key = host + '#' + a hash of the URL (the URL itself may
-- carry a token, as Slack's do, and is never stored). An endpoint gets the events after
-- since_event_id, i.e. from the moment it was first configured. Events are queued only
-- once an endpoint exists; delivered and abandoned rows are pruned after 30 days.
CREATE TABLE webhook_endpoints (
    endpoint TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    since_event_id BIGINT NOT NULL
);

CREATE TABLE webhook_events (
    id BIGSERIAL PRIMARY KEY,
    event_key TEXT NOT NULL UNIQUE,   -- e.g. case.opened:12:1, fix.applied:<action key>
    event TEXT NOT NULL,              -- case.opened | case.reopened | case.resolved | fix.applied | action.automatic
    case_id BIGINT,
    occurred_at TEXT NOT NULL,
    payload TEXT NOT NULL             -- {"case": {...}, "text": "one line"} as of the change
);

CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    event_id BIGINT NOT NULL REFERENCES webhook_events (id),
    endpoint TEXT NOT NULL,
    delivery_id TEXT NOT NULL UNIQUE, -- sent as "id": receivers de-duplicate by it
    status TEXT NOT NULL,             -- pending | delivered | failed (gave up)
    attempts BIGINT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    owner TEXT,                       -- the sender holding the claim ...
    lease_until TEXT,                 -- ... until then; past: it died, try again
    last_status BIGINT,               -- HTTP status of the last try
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    UNIQUE (event_id, endpoint)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_events_occurred ON webhook_events (occurred_at);
