//! Bulk Fix now against the sandbox WHMCS: 1,000 "renewal underpriced" cases, each fixed
//! by one `UpdateClientDomain` (the recurring amount). The combined plan writes nothing;
//! a run stopped by its flag and a run killed (its task aborted mid-write) are resumed,
//! and every write reaches WHMCS exactly once, with exactly one audit line.

mod support;

use chrono::{TimeZone, Utc};
use domwatch_core::detect::{CaseKind, Facts, Finding};
use domwatch_core::{Currency, Money};
use domwatch_engine::{
    BulkOptions, BulkProgress, CaseOutcome, Engine, NoProgress, PlannedWrite, WriteStatus,
};
use domwatch_sandbox::portfolio::Portfolio;
use domwatch_sandbox::whmcs::{WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_store::{ActionStatus, CaseQuery, CaseRecord};
use domwatch_whmcs::{WhmcsClient, WhmcsConfig};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use support::{fixed_clock, sqlite_store, today, SEED};

const CASES: usize = 1_000;

struct Bulk {
    engine: Engine,
    whmcs: WhmcsSandbox,
    _dir: tempfile::TempDir,
}

/// The sandbox WHMCS with enough domains, an engine on it, and one open case per billed
/// domain whose fix raises its recurring amount.
async fn bulk_world() -> Bulk {
    let portfolio_size = CASES * 2;
    let whmcs =
        domwatch_sandbox::whmcs::start(WhmcsSandboxConfig::new(SEED, portfolio_size, today()))
            .await
            .expect("sandbox WHMCS");
    let config = WhmcsConfig::new(&whmcs.base_url(), whmcs.identifier(), whmcs.secret()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine {
        store: sqlite_store(&dir.path().join("dw.db")).await,
        billing: Arc::new(WhmcsClient::new(config).unwrap()),
        whmcs_db: None,
        notifier: None,
        accounts: Vec::new(),
        clock: fixed_clock(),
        policy: Default::default(),
        fixed_rates: Vec::new(),
        concurrency: 4,
        notices: Default::default(),
    };
    let findings: Vec<Finding> = Portfolio::new(SEED, portfolio_size, today())
        .domains()
        .filter_map(|d| Some((d.name, d.billing?.domain_id)))
        .take(CASES)
        .map(|(domain, id)| underpriced(domain, id))
        .collect();
    assert_eq!(findings.len(), CASES, "the portfolio bills enough domains");
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
    let run = engine.store.begin_run(at, false).await.unwrap();
    let out = engine
        .store
        .sync_findings(run, at, &findings, &HashSet::new())
        .await
        .unwrap();
    assert_eq!(out.opened.len(), CASES);
    Bulk {
        engine,
        whmcs,
        _dir: dir,
    }
}

fn underpriced(domain: domwatch_core::DomainName, domain_id: u64) -> Finding {
    let eur = |cents: i64| Money::new(Decimal::new(cents, 2), Currency::EUR);
    Finding {
        kind: CaseKind::RenewalUnderpriced,
        domain,
        billing_domain_id: Some(domain_id),
        registrar_account: Some("cnr".into()),
        client_id: None,
        summary: "renewal billed below cost".into(),
        evidence: Vec::new(),
        at_stake: Some(eur(150)),
        facts: Facts {
            proposed_recurring_amount: Some(eur(2_000 + domain_id as i64)),
            ..Facts::default()
        },
    }
}

fn query() -> CaseQuery {
    CaseQuery {
        kinds: vec![CaseKind::RenewalUnderpriced],
        ..CaseQuery::default()
    }
}

fn unpaced() -> BulkOptions {
    BulkOptions {
        rate_per_second: None,
        ..BulkOptions::default()
    }
}

fn update_calls(whmcs: &WhmcsSandbox) -> u64 {
    whmcs
        .api_calls_by_action()
        .get("updateclientdomain")
        .copied()
        .unwrap_or(0)
}

/// Counts finished cases and raises the stop flag (or only counts) at `at`.
struct StopAt {
    done: AtomicU64,
    at: u64,
    stop: Arc<AtomicBool>,
}

impl BulkProgress for StopAt {
    fn started(&self, cases: u64) {
        assert_eq!(cases, CASES as u64);
    }
    fn case_done(&self, _: &CaseRecord, outcome: &CaseOutcome) {
        assert!(
            !matches!(outcome, CaseOutcome::Failed(_)),
            "no write fails: {outcome:?}"
        );
        if self.done.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
            self.stop.store(true, Ordering::SeqCst);
        }
    }
}

async fn plan(engine: &Engine) -> (domwatch_engine::BulkPlan, Vec<PlannedWrite>) {
    let mut writes = Vec::new();
    let plan = engine
        .bulk_plan(&query(), &unpaced(), &mut |w: &PlannedWrite| {
            writes.push(w.clone())
        })
        .await
        .unwrap();
    (plan, writes)
}

#[tokio::test]
async fn a_thousand_fixes_stopped_killed_and_resumed_write_each_action_once() {
    let b = bulk_world().await;
    let e = &b.engine;

    // The combined plan: counted, summed, every write listed, nothing written.
    let (before, writes) = plan(e).await;
    assert_eq!(before.cases, CASES as u64);
    assert_eq!(before.to_fix, CASES as u64);
    assert_eq!(
        before.writes_per_system,
        BTreeMap::from([("whmcs".into(), 1000)])
    );
    assert_eq!(before.actions["set_recurring_amount"].would_apply, 1000);
    assert_eq!(
        before.money_affected,
        BTreeMap::from([("EUR".into(), Decimal::new(150_000, 2))])
    );
    assert_eq!(writes.len(), CASES);
    let keys: HashSet<&str> = writes.iter().map(|w| w.idempotency_key.as_str()).collect();
    assert_eq!(keys.len(), CASES, "one distinct write per case");
    let mut csv = String::new();
    PlannedWrite::push_csv_header(&mut csv);
    writes.iter().for_each(|w| w.push_csv_row(&mut csv));
    assert_eq!(csv.lines().count(), CASES + 1);
    assert!(csv.starts_with("case,kind,domain,option,action,system,status"));
    assert_eq!(update_calls(&b.whmcs), 0, "planning writes nothing");

    // Stopped by its flag after 300 cases: exactly those written.
    let stop = Arc::new(AtomicBool::new(false));
    let progress = StopAt {
        done: AtomicU64::new(0),
        at: 300,
        stop: stop.clone(),
    };
    let first = e
        .bulk_fix(&query(), &unpaced(), "cli:test", &stop, &progress)
        .await
        .unwrap();
    assert!(first.stopped);
    assert_eq!((first.fixed, first.writes), (300, 300));
    assert_eq!(update_calls(&b.whmcs), 300);

    // Killed half way: the task is aborted wherever it is, also between a write and
    // its audit line.
    let engine = e.clone();
    let counted = Arc::new(StopAt {
        done: AtomicU64::new(0),
        at: u64::MAX,
        stop: Arc::new(AtomicBool::new(false)),
    });
    let seen = counted.clone();
    let task = tokio::spawn(async move {
        let never = AtomicBool::new(false);
        engine
            .bulk_fix(&query(), &unpaced(), "cli:test", &never, &*seen)
            .await
    });
    while counted.done.load(Ordering::SeqCst) < 500 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let at_kill = update_calls(&b.whmcs);
    // The first 300 cases were already fixed: at least 200 written by this run.
    assert!(
        (500..CASES as u64).contains(&at_kill),
        "killed half way: {at_kill} writes"
    );

    // Resumed: the rest is written, nothing twice.
    let resumed = e
        .bulk_fix(
            &query(),
            &unpaced(),
            "cli:test",
            &AtomicBool::new(false),
            &NoProgress,
        )
        .await
        .unwrap();
    assert!(resumed.complete(), "{resumed:?}");
    assert_eq!(resumed.cases, CASES as u64);
    assert!(resumed.already_fixed >= 500, "{resumed:?}");
    assert_eq!(update_calls(&b.whmcs), CASES as u64, "each write once");

    // One applied action and one successful audit line per key.
    let mut audited: BTreeMap<String, u32> = BTreeMap::new();
    for line in e.store.audit_log(10 * CASES as i64, None).await.unwrap() {
        assert!(line.entry.ok, "{:?}", line.entry);
        *audited.entry(line.entry.object.clone()).or_default() += 1;
    }
    assert_eq!(audited.len(), CASES);
    assert!(
        audited.values().all(|n| *n == 1),
        "one audit line per write"
    );
    for w in &writes {
        let status = e.store.action(&w.idempotency_key).await.unwrap().unwrap();
        assert_eq!(
            status.status,
            ActionStatus::Applied,
            "{}",
            w.idempotency_key
        );
    }

    // A plan now finds everything done, and a further run writes nothing.
    let (after, writes) = plan(e).await;
    assert_eq!((after.to_fix, after.already_fixed), (0, CASES as u64));
    assert!(writes
        .iter()
        .all(|w| w.status == WriteStatus::AlreadyApplied));
    let again = e
        .bulk_fix(
            &query(),
            &unpaced(),
            "cli:test",
            &AtomicBool::new(false),
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!((again.already_fixed, again.writes), (CASES as u64, 0));
    assert_eq!(update_calls(&b.whmcs), CASES as u64);
}

#[tokio::test]
async fn a_rate_limit_paces_the_writes_to_one_system() {
    let b = bulk_world().await;
    let stop = Arc::new(AtomicBool::new(false));
    let progress = StopAt {
        done: AtomicU64::new(0),
        at: 15,
        stop: stop.clone(),
    };
    let options = BulkOptions {
        rate_per_second: Some(20.0),
        ..BulkOptions::default()
    };
    let started = std::time::Instant::now();
    let report = b
        .engine
        .bulk_fix(&query(), &options, "cli:test", &stop, &progress)
        .await
        .unwrap();
    assert!(report.stopped);
    assert_eq!(report.writes, 15);
    // 15 writes to one system at 20 per second: the last one 14 × 50 ms after the first.
    let least = std::time::Duration::from_millis(700);
    assert!(started.elapsed() >= least, "{:?}", started.elapsed());
    assert_eq!(update_calls(&b.whmcs), 15);
}
