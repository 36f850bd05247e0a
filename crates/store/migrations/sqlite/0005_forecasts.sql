-- The renewal forecast of recent cycles (the dashboard and `domwatch forecast` read the
-- newest). The report is JSON of domwatch_core::forecast::ForecastReport; a partial
-- cycle's forecast says so (`complete` = 0) and names what was missing.
CREATE TABLE forecasts (
    run_id BIGINT PRIMARY KEY REFERENCES runs (id),
    computed_at TEXT NOT NULL,
    complete BIGINT NOT NULL,         -- 0 | 1 (portable across the Any driver)
    missing TEXT NOT NULL,            -- JSON array of what the cycle could not read
    report TEXT NOT NULL              -- JSON
);
