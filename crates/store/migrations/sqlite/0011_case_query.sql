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
CREATE INDEX cases_by_stake ON cases (state, at_stake_micros);
CREATE INDEX cases_by_opened ON cases (state, opened_at);
CREATE INDEX cases_by_domain ON cases (state, domain);
CREATE INDEX cases_by_tld ON cases (state, tld);
CREATE INDEX cases_by_client ON cases (state, client_id);
CREATE INDEX cases_by_account ON cases (state, registrar_account);
