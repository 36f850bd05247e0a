//! Parts every engine set-up needs, shared by the [`world`](crate::world()), tests that
//! build a smaller engine of their own and the cycle benchmark: the fixed clock, a SQLite
//! store, registrar client settings for a sandbox, and running one cycle.

use chrono::{TimeZone, Utc};
use domwatch_core::model::Dialect;
use domwatch_core::{Clock, FixedClock};
use domwatch_engine::{CycleReport, Engine, FixReport, Mode, NoProgress, StepOutcome};
use domwatch_rrp::{ClientConfig, Environment};
use domwatch_store::Store;
use std::path::Path;
use std::sync::Arc;

/// The clock of every world: 2026-11-22 03:00 UTC, the sandboxes' "today".
pub fn fixed_clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap(),
    ))
}

/// domwatch's store in the SQLite file `path` (created when missing).
pub async fn sqlite_store(path: &Path) -> Store {
    Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap()
}

/// OT&E client settings of a CNR or ISPAPI account at `endpoint` (a sandbox's
/// `/api/call.cgi`).
pub fn rrp_config(dialect: Dialect, endpoint: &str, login: &str, password: &str) -> ClientConfig {
    let mut cc = ClientConfig::new(dialect, Environment::Ote, login, password);
    cc.endpoint = Some(endpoint.parse().expect("registrar endpoint URL"));
    cc
}

/// One cycle in apply mode that must not fail as a whole.
pub async fn apply_cycle(engine: &Engine) -> CycleReport {
    engine
        .run_cycle(Mode::Apply, &NoProgress)
        .await
        .expect("cycle")
}

/// Every admin notice of the cycle went out.
pub fn assert_no_notice_errors(report: &CycleReport) {
    assert!(
        report.notice_errors.is_empty(),
        "{:?}",
        report.notice_errors
    );
}

/// Every registrar account was read completely.
pub fn assert_every_account_read(report: &CycleReport) {
    assert!(
        report.failed_accounts.is_empty(),
        "{:?}",
        report.failed_accounts
    );
}

/// Applies the recommended fix of `case_id` as actor `test`, asserts it succeeded, and
/// asserts that applying it again repeats nothing. Returns the first report.
pub async fn fix_once(engine: &Engine, case_id: i64) -> FixReport {
    let fixed = engine
        .fix(case_id, None, Mode::Apply, "test")
        .await
        .unwrap();
    assert!(fixed.succeeded(), "{fixed:?}");
    // Applying again repeats nothing.
    let again = engine
        .fix(case_id, None, Mode::Apply, "test")
        .await
        .unwrap();
    assert!(
        again
            .steps
            .iter()
            .all(|s| s.outcome == StepOutcome::AlreadyApplied),
        "{again:?}"
    );
    fixed
}
