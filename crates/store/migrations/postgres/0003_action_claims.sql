-- Claims: before anything is written, a fix claims its case (one fix of a case at a time)
-- and each action (planned -> running), with its owner and a lease, in one statement.
-- A running action whose lease ran out belongs to a process that died: its write may or
-- may not have happened, so it is checked at the outside system before anything else.

ALTER TABLE actions ADD COLUMN owner TEXT;          -- who holds the running claim
ALTER TABLE actions ADD COLUMN lease_until TEXT;    -- RFC 3339 UTC; past: the owner died
ALTER TABLE actions ADD COLUMN claimed_from TEXT;   -- the status the current claim took over

-- Actions planned before claims existed were recorded right before their write: a run
-- that stopped in between left them planned. They are checked like an expired claim.
UPDATE actions
SET status = 'running', owner = 'a run before claims existed',
    lease_until = '0001-01-01T00:00:00.000000Z', claimed_from = 'planned'
WHERE status = 'planned';

-- One fix of a case at a time: the holder of a case's row may start its steps.
CREATE TABLE fix_claims (
    case_id BIGINT PRIMARY KEY REFERENCES cases (id),
    owner TEXT NOT NULL,
    lease_until TEXT NOT NULL
);
