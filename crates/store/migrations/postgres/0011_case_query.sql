-- Filtering and sorting cases in SQL for large stores (issue #14): the zone of the domain
-- (`co.uk` for `shop.co.uk`), the WHMCS client billed for it, and the money at stake as a
-- whole number of millionths of its currency (exact for every ISO currency), so the
-- dashboard sorts, filters and sums without reading the decimal text of every case.
-- Existing rows get `tld` and `at_stake_micros` from `Store::connect` right after this
-- migration; `client_id` from the next cycle (older findings did not record it).
ALTER TABLE cases ADD COLUMN tld TEXT;
ALTER TABLE cases ADD COLUMN client_id BIGINT;
ALTER TABLE cases ADD COLUMN at_stake_micros BIGINT;

-- The summary by kind (count and sum per currency) is read from this index alone.
CREATE INDEX cases_summary ON cases (state, kind, at_stake_currency, at_stake_micros);
-- One index per sort order, each carrying every filter column: a filtered, sorted page
-- walks one index in order and reads whole rows (large: the finding JSON) only for the
-- cases it shows. Measured: dedicated single-column indexes made the planner read
-- thousands of rows instead (crates/web/benches/large_store.rs).
CREATE INDEX cases_by_stake ON cases (state, at_stake_micros DESC NULLS LAST, kind, registrar_account, tld, client_id, at_stake_currency, opened_at, domain);
CREATE INDEX cases_by_opened ON cases (state, opened_at, kind, registrar_account, tld, client_id, at_stake_currency, at_stake_micros, domain);
CREATE INDEX cases_by_domain ON cases (state, domain, kind, registrar_account, tld, client_id, at_stake_currency, at_stake_micros, opened_at);
