-- The leader lease of `domwatch serve`: of several instances on one database, only the
-- holder of the unexpired lease runs the scheduled cycles and the inbound event worker.
-- Taken and renewed in one conditional statement (an upsert whose WHERE admits only the
-- holder or an expired lease), so two instances never both hold it. Times are RFC 3339
-- UTC text like everywhere else, compared as text.
CREATE TABLE leader_lease (
    name TEXT PRIMARY KEY,            -- `scheduler`
    holder TEXT NOT NULL,             -- the instance: host, process id and start time
    acquired_at TEXT NOT NULL,        -- when this holder took it (kept on renewal)
    renewed_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,         -- another instance may take it after this
    check_requested_at TEXT           -- "Check now" pressed on a follower: the leader runs one
);
