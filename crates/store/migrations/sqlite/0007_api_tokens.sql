-- API tokens (`domwatch token create`): scripts and the WHMCS addon call /api/* with
-- `Authorization: Bearer dwt_…` instead of a session and CSRF token. Only the SHA-256
-- of a token is kept; the token itself is shown once, when it is created.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,        -- the audit actor is `token:NAME`
    scope TEXT NOT NULL,              -- read | fix
    hash TEXT NOT NULL UNIQUE,        -- lowercase hex SHA-256 of the whole token
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT                   -- set: the token is refused
);
