-- domwatch store schema. Timestamps are RFC 3339 UTC text, money is decimal text plus
-- an ISO currency code, structured details are JSON text: identical on SQLite and PostgreSQL.

CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,            -- running | ok | failed
    dry_run BIGINT NOT NULL,       -- 0 | 1 (portable across the Any driver)
    stats TEXT NOT NULL DEFAULT '{}', -- JSON counters
    error TEXT
);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    domain TEXT NOT NULL,             -- A-label, lower case
    billing_domain_id BIGINT,
    registrar_account TEXT,
    state TEXT NOT NULL,              -- open | resolved
    openings BIGINT NOT NULL,        -- how many times it opened (1 = first)
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    resolved_at TEXT,
    last_run_id BIGINT,
    summary TEXT NOT NULL,
    at_stake_amount TEXT,
    at_stake_currency TEXT,
    finding TEXT NOT NULL,            -- JSON of the latest core Finding
    UNIQUE (kind, domain)
);
CREATE INDEX cases_state ON cases (state, kind);

CREATE TABLE case_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    at TEXT NOT NULL,
    event TEXT NOT NULL,              -- opened | updated | resolved | reopened | notified | fixed | fix_failed
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case ON case_events (case_id, id);

-- One row per (case, opening, channel): the claim that makes notices exactly-once.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    opening BIGINT NOT NULL,
    channel TEXT NOT NULL,            -- todo | ticket | email
    marker TEXT NOT NULL,             -- text put into the notice so it can be found again
    status TEXT NOT NULL,             -- claimed | sent | failed
    external_ref TEXT,
    claimed_at TEXT NOT NULL,
    sent_at TEXT,
    error TEXT,
    UNIQUE (case_id, opening, channel)
);

-- Planned and applied fix actions, keyed so a rerun never applies one twice.
CREATE TABLE actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT REFERENCES cases (id),
    idempotency_key TEXT NOT NULL UNIQUE,
    target TEXT NOT NULL,             -- billing | registrar | manual
    action TEXT NOT NULL,             -- JSON of the core Action
    status TEXT NOT NULL,             -- planned | applied | failed
    result TEXT,
    created_at TEXT NOT NULL,
    applied_at TEXT
);

-- Every write to WHMCS or a registrar: who, when, what, result.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,              -- scheduler | cli:<user> | web:<admin>
    system TEXT NOT NULL,             -- billing | registrar:<account>
    operation TEXT NOT NULL,
    object TEXT NOT NULL,
    request TEXT NOT NULL,            -- JSON, secrets masked
    ok BIGINT NOT NULL,            -- 0 | 1
    result TEXT NOT NULL,
    case_id BIGINT,
    run_id BIGINT
);
CREATE INDEX audit_log_at ON audit_log (id);

-- Consecutive absences of billed domains at the registrar ("N strikes").
CREATE TABLE presence (
    domain TEXT PRIMARY KEY,
    missing_strikes BIGINT NOT NULL,
    last_run_id BIGINT NOT NULL
);
