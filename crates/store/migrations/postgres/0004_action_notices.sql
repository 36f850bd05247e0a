-- Outbox of the notices about automatic writes (auto delete: cancel, withdraw). A row is
-- written in the same transaction as the write's result, so a crash between the write
-- and its ticket cannot lose the ticket; it is sent even if the case resolves meanwhile.
CREATE TABLE action_notices (
    id BIGSERIAL PRIMARY KEY,
    action_key TEXT NOT NULL UNIQUE,  -- the action's idempotency key
    case_id BIGINT NOT NULL REFERENCES cases (id),
    opening BIGINT NOT NULL,          -- the case opening the action belongs to
    status TEXT NOT NULL,             -- pending | claimed | sent
    created_at TEXT NOT NULL,
    sent_at TEXT,
    external_ref TEXT,                -- the to-do / ticket that told the admin
    error TEXT
);
CREATE INDEX action_notices_pending ON action_notices (status);
