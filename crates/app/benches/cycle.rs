//! Full monitoring cycle benchmark: wall time, peak RSS and the registrar and WHMCS calls
//! one cycle makes, at several portfolio sizes.
//!
//! The sandboxes (WHMCS, CNR, ISPAPI, Smart-NIC) run as separate `domwatch sandbox …` processes, so
//! the measured process holds only what domwatch itself holds: the clients, the engine, the
//! store. Each size is measured in a fresh child process (peak RSS = its VmHWM). The child
//! runs two cycles: the first opens every case and sends every notice; the second is the
//! steady state of a monitor. Call counts and the table cover the first cycle.
//!
//! `cargo bench -p domwatch --bench cycle` (sizes: `DOMWATCH_BENCH_SIZES=10000,100000,1000000`;
//! share of drifting domains: `DOMWATCH_BENCH_DRIFT_PER_MILLE`, default 40).
//!
//! Realistic latency: `DOMWATCH_BENCH_LATENCY_MS=whmcs:50,registrar:100` delays every
//! protocol answer of the WHMCS sandbox by 50 ms and of the CNR, ISPAPI and Smart-NIC
//! sandboxes by 100 ms (each a tokio sleep per request, so requests in flight overlap; the
//! `/_sandbox/*` counters are not delayed). Either part may be left out (0 ms). Without
//! the variable the sandboxes answer at loopback speed. The per-stage seconds and the
//! per-command call counts of both cycles are printed either way.
//!
//! Database path: `DOMWATCH_BENCH_WHMCS_DB=mysql://root@127.0.0.1:3306` keeps the sandbox
//! WHMCS's tables in a throw-away MariaDB database per size (created, seeded, dropped
//! afterwards) and gives the engine that database, as `whmcs.database_url` does in
//! production; a URL naming a database (`…:3306/whmcs_bench`) uses that one and leaves it.
//! The output names the path measured (`path measured: …`). The engine's billing port is
//! built in `cycle/whmcs_db.rs` (`billing_port`).
//!
//! The runs behind the README figures (each size in its own run, output kept):
//!
//! ```sh
//! DOMWATCH_BENCH_SIZES=1000000 cargo bench -p domwatch --bench cycle
//! DOMWATCH_BENCH_LATENCY_MS=whmcs:50,registrar:100 DOMWATCH_BENCH_SIZES=100000 \
//!     cargo bench -p domwatch --bench cycle
//! DOMWATCH_BENCH_LATENCY_MS=whmcs:50,registrar:100 DOMWATCH_BENCH_SIZES=1000000 \
//!     cargo bench -p domwatch --bench cycle
//! DOMWATCH_BENCH_WHMCS_DB=mysql://root@127.0.0.1:3306 \
//!     DOMWATCH_BENCH_LATENCY_MS=whmcs:50,registrar:100 DOMWATCH_BENCH_SIZES=1000000 \
//!     cargo bench -p domwatch --bench cycle
//! ```

use chrono::NaiveDate;
use domwatch_core::detect::DetectionPolicy;
use domwatch_core::model::Dialect;
use domwatch_core::ports::RegistrarPort;
use domwatch_engine::{Account, Engine, Mode};
use domwatch_rrp::RrpClient;
use domwatch_testkit::{
    fixed_clock, rrp_config, sqlite_store, SandboxLatency, SandboxPortfolio, SandboxProcesses,
};
use domwatch_whmcs::port::TicketDestination;
use domwatch_whmcs::{ToDoNotifier, WhmcsClient, WhmcsConfig};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "cycle/whmcs_db.rs"]
mod whmcs_db;

const SEED: u64 = 1;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

/// Domains per thousand that drift (`DOMWATCH_BENCH_DRIFT_PER_MILLE`, default the
/// sandboxes' 40).
fn drift_per_mille() -> u16 {
    match std::env::var("DOMWATCH_BENCH_DRIFT_PER_MILLE") {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            panic!("DOMWATCH_BENCH_DRIFT_PER_MILLE = `{v}`: use a whole number from 0 to 1000")
        }),
        Err(_) => domwatch_sandbox::portfolio::DEFAULT_DRIFT_PER_MILLE,
    }
}

/// `DOMWATCH_BENCH_LATENCY_MS` (`whmcs:50,registrar:100`), else no added latency.
fn latency() -> SandboxLatency {
    let Ok(spec) = std::env::var("DOMWATCH_BENCH_LATENCY_MS") else {
        return SandboxLatency::default();
    };
    let mut latency = SandboxLatency::default();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || -> ! {
            panic!(
                "DOMWATCH_BENCH_LATENCY_MS = `{spec}`: `{part}` is not `whmcs:<ms>` or \
                 `registrar:<ms>`; use e.g. whmcs:50,registrar:100"
            )
        };
        let Some((side, ms)) = part.split_once(':') else {
            bad()
        };
        let Ok(ms) = ms.trim().parse::<u64>() else {
            bad()
        };
        match side.trim() {
            "whmcs" => latency.whmcs_ms = ms,
            "registrar" => latency.registrar_ms = ms,
            _ => bad(),
        }
    }
    latency
}

fn start_sandboxes(size: usize, dir: &Path, whmcs_mysql: Option<&str>) -> SandboxProcesses {
    let portfolio = SandboxPortfolio {
        domains: size,
        seed: SEED,
        today: today(),
        drift_per_mille: drift_per_mille(),
        whmcs_sqlite: dir.join("whmcs.db"),
    };
    let started = Instant::now();
    let bin = env!("CARGO_BIN_EXE_domwatch");
    // Seeding a million domains into MariaDB takes minutes on a busy machine.
    let timeout = Duration::from_secs(1800);
    let s = SandboxProcesses::start_with(bin, &portfolio, latency(), whmcs_mysql, timeout);
    eprintln!(
        "  sandboxes up after {:.1}s (seeding the WHMCS tables {} included)",
        started.elapsed().as_secs_f64(),
        if whmcs_mysql.is_some() {
            "in MariaDB"
        } else {
            "in SQLite"
        }
    );
    s
}

/// The JSON state a sandbox serves at `/_sandbox/state`.
async fn sandbox_state(url: &str) -> serde_json::Value {
    reqwest::get(format!("{url}/_sandbox/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn counter(url: &str, key: &str) -> u64 {
    sandbox_state(url).await[key].as_u64().unwrap_or(0)
}

/// Calls so far per command (registrar) or action (WHMCS), as the sandboxes count them.
async fn by_command(urls: &[&str], keys: &[&str]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for url in urls {
        let v = sandbox_state(url).await;
        let counts = keys.iter().find_map(|k| v[*k].as_object());
        for (command, n) in counts.into_iter().flatten() {
            *out.entry(command.to_ascii_uppercase()).or_default() += n.as_u64().unwrap_or(0);
        }
    }
    out
}

/// `after - before`, leaving out commands with no calls in between.
fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// Per-command counts of both sides: (registrar, WHMCS).
async fn breakdown(
    whmcs: &str,
    registrars: &[&str],
) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    (
        // CNR/ISPAPI count commands, Smart-NIC SOAP operations.
        by_command(registrars, &["api_requests_by_command", "per_operation"]).await,
        by_command(&[whmcs], &["api_calls_by_action"]).await,
    )
}

/// (registrar requests, WHMCS API calls) so far, as the sandboxes count them.
async fn calls(whmcs: &str, registrars: &[&str]) -> (u64, u64) {
    let mut registrar_calls = 0;
    for url in registrars {
        registrar_calls += counter(url, "api_requests").await;
    }
    (registrar_calls, counter(whmcs, "api_calls").await)
}

/// CPU seconds (user + system) process `pid` has used so far (`self` for this one).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the stat line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds of this process and of each sandbox (WHMCS, CNR, ISPAPI, Smart-NIC).
fn cpu_split(sandbox_pids: &[String]) -> Vec<f64> {
    std::iter::once(cpu_seconds("self"))
        .chain(sandbox_pids.iter().map(|p| cpu_seconds(p)))
        .collect()
}

/// CPU seconds used between two [`cpu_split`] readings, by process.
fn cpu_used(before: &[f64], after: &[f64]) -> serde_json::Value {
    let used = |i: usize| (after.get(i).unwrap_or(&0.0) - before.get(i).unwrap_or(&0.0)).max(0.0);
    serde_json::json!({
        "domwatch": used(0),
        "whmcs_sandbox": used(1),
        "cnr_sandbox": used(2),
        "ispapi_sandbox": used(3),
        "smartnic_sandbox": used(4),
    })
}

/// A memory figure of this process from `/proc/self/status` (`VmRSS`, `VmHWM`), MiB.
fn status_mib(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Resident set size now, MiB.
fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

/// Remembers the highest RSS seen during each stage the engine reports, sampled every
/// 20 ms by a thread, so the table can say where the peak is.
#[derive(Default)]
struct StagePeaks {
    current: std::sync::Mutex<String>,
    peaks: std::sync::Mutex<BTreeMap<String, f64>>,
}

impl StagePeaks {
    fn sample(&self) {
        let stage = self.current.lock().unwrap().clone();
        let rss = rss_mib();
        let mut peaks = self.peaks.lock().unwrap();
        let peak = peaks.entry(stage).or_default();
        *peak = peak.max(rss);
    }

    fn take(&self) -> BTreeMap<String, f64> {
        std::mem::take(&mut *self.peaks.lock().unwrap())
    }
}

impl domwatch_engine::Progress for StagePeaks {
    fn stage(&self, name: &str, _: Option<u64>) {
        self.sample();
        *self.current.lock().unwrap() = name.to_string();
    }
    fn advance(&self, _: u64) {}
}

fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// The accounts at the sandbox CNR, ISPAPI and Smart-NIC, with the sandboxes' logins.
fn accounts([cnr, ispapi, smartnic]: [&str; 3]) -> Vec<Account> {
    let mut accounts = Vec::new();
    for (name, dialect, module, url) in [
        ("cnr", Dialect::Cnr, "cnic", cnr),
        ("ispapi", Dialect::Ispapi, "ispapi", ispapi),
    ] {
        let mut cc = rrp_config(
            dialect,
            &format!("{url}/api/call.cgi"),
            domwatch_sandbox::registrar::DEFAULT_LOGIN,
            domwatch_sandbox::registrar::DEFAULT_PASSWORD,
        );
        cc.list.page_size = 10_000;
        let port: Arc<dyn RegistrarPort> = Arc::new(RrpClient::new(cc).unwrap());
        accounts.push(Account {
            name: name.into(),
            modules: vec![module.into()],
            port,
        });
    }
    let mut sc = domwatch_smartnic::SmartnicConfig::new(
        domwatch_sandbox::smartnic::DEFAULT_LOGIN,
        domwatch_sandbox::smartnic::DEFAULT_PASSWORD,
    );
    sc.endpoint = format!("{smartnic}{}", domwatch_sandbox::smartnic::SOAP_PATH);
    accounts.push(Account {
        name: "smartnic".into(),
        modules: vec!["smartnic".into()],
        port: Arc::new(domwatch_smartnic::SmartnicClient::new(sc).unwrap()),
    });
    accounts
}

/// The engine as production builds it: the sandboxes' clients, a SQLite store at
/// `store_path`, admin notices as bot tickets, or as WHMCS to-dos when the engine has the
/// WHMCS database (`whmcs_db_url`, production's first notice channel). Also the path read.
async fn engine(
    whmcs: &str,
    registrars: [&str; 3],
    store_path: &str,
    whmcs_db_url: Option<&str>,
) -> (Engine, &'static str) {
    // The WHMCS client's defaults: pages of 5000, four in flight.
    let wc = WhmcsConfig::new(
        whmcs,
        domwatch_sandbox::whmcs::DEFAULT_IDENTIFIER,
        domwatch_sandbox::whmcs::DEFAULT_SECRET,
    )
    .unwrap();
    let db = match whmcs_db_url {
        Some(url) => Some(whmcs_db::connect(url).await),
        None => None,
    };
    let (billing, path) = whmcs_db::billing_port(WhmcsClient::new(wc).unwrap(), db.as_ref());
    let store = sqlite_store(Path::new(store_path)).await;
    let engine = Engine {
        store,
        notifier: Some(ToDoNotifier::new(
            billing.clone(),
            db.clone(),
            Some(TicketDestination {
                bot_client_id: 1,
                department_id: 1,
            }),
        )),
        billing,
        whmcs_db: db,
        accounts: accounts(registrars),
        clock: fixed_clock(),
        policy: DetectionPolicy::default(),
        fixed_rates: vec![],
        concurrency: 8,
        notices: Default::default(),
    };
    (engine, path)
}

/// Marks the start and end of the steady cycle for instruction profilers (callgrind's
/// `--dump-before='cycle::cycle_boundary'` writes one profile per cycle).
#[inline(never)]
fn cycle_boundary() {
    std::hint::black_box(());
}

/// The measured part: runs in a child process.
fn one_cycle(
    whmcs: &str,
    registrars: [&str; 3],
    store_path: &str,
    sandbox_pids: &[String],
    whmcs_db_url: Option<&str>,
) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (engine, path) = engine(whmcs, registrars, store_path, whmcs_db_url).await;
        let peaks = Arc::new(StagePeaks::default());
        let sampler = {
            let peaks = peaks.clone();
            std::thread::spawn(move || loop {
                peaks.sample();
                std::thread::sleep(Duration::from_millis(20));
            })
        };
        drop(sampler);
        let calls_0 = calls(whmcs, &registrars).await;
        let by_0 = breakdown(whmcs, &registrars).await;
        let cpu_0 = cpu_split(sandbox_pids);
        let started = Instant::now();
        let report = engine.run_cycle(Mode::Apply, &*peaks).await.expect("cycle");
        let first_peaks = peaks.take();
        let wall = started.elapsed().as_secs_f64();
        let calls_1 = calls(whmcs, &registrars).await;
        let by_1 = breakdown(whmcs, &registrars).await;
        let cpu_1 = cpu_split(sandbox_pids);
        // The steady state of a monitor: nothing new to open or notify.
        eprintln!("  first cycle done in {wall:.1}s; measuring the steady cycle");
        cycle_boundary();
        let again = Instant::now();
        let steady = engine
            .run_cycle(Mode::Apply, &*peaks)
            .await
            .expect("second cycle");
        let steady_peaks = peaks.take();
        let steady_wall = again.elapsed().as_secs_f64();
        let calls_2 = calls(whmcs, &registrars).await;
        let by_2 = breakdown(whmcs, &registrars).await;
        let cpu_2 = cpu_split(sandbox_pids);
        cycle_boundary();
        let findings: usize = report.findings_by_kind.values().sum();
        println!(
            "{}",
            serde_json::json!({
                "path": path,
                "wall_s": wall,
                "peak_rss_mib": peak_rss_mib(),
                "billing_domains": report.billing_domains,
                "registrar_domains": report.registrar_domains.values().sum::<usize>(),
                "findings": findings,
                "opened": report.opened,
                "notices": report.notices_sent,
                "stages": report.stage_seconds,
                "registrar_calls": calls_1.0 - calls_0.0,
                "whmcs_calls": calls_1.1 - calls_0.1,
                "steady_registrar_calls": calls_2.0 - calls_1.0,
                "steady_whmcs_calls": calls_2.1 - calls_1.1,
                "steady_wall_s": steady_wall,
                "cpu_s": cpu_used(&cpu_0, &cpu_1),
                "rss_peak_mib_by_stage": first_peaks,
                "steady_rss_peak_mib_by_stage": steady_peaks,
                "steady_cpu_s": cpu_used(&cpu_1, &cpu_2),
                "registrar_calls_by_command": delta(&by_0.0, &by_1.0),
                "whmcs_calls_by_action": delta(&by_0.1, &by_1.1),
                "steady_registrar_calls_by_command": delta(&by_1.0, &by_2.0),
                "steady_whmcs_calls_by_action": delta(&by_1.1, &by_2.1),
                "steady_stages": steady.stage_seconds,
            })
        );
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--one-cycle") {
        let pids: Vec<String> = args
            .get(i + 6)
            .map(|p| p.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        one_cycle(
            &args[i + 1],
            [&args[i + 2], &args[i + 3], &args[i + 4]],
            &args[i + 5],
            &pids,
            args.get(i + 7).map(String::as_str),
        );
        return;
    }
    let latency = latency();
    if latency != SandboxLatency::default() {
        println!(
            "realistic latency: {} ms per WHMCS answer, {} ms per registrar answer",
            latency.whmcs_ms, latency.registrar_ms
        );
    }
    println!(
        "{:>9} {:>9} {:>11} {:>9} {:>11} {:>13} {:>13} {:>9}",
        "domains",
        "wall s",
        "peak RSS",
        "findings",
        "reg. calls",
        "reg./1000 dom",
        "WHMCS calls",
        "notices"
    );
    let db = whmcs_db::from_env();
    for size in sizes(&args) {
        eprintln!("size {size}:");
        let m = measure(size, db.as_deref());
        print_figures(size, &m);
        println!("  path measured: {}", m["path"].as_str().unwrap_or("?"));
    }
}

/// `DOMWATCH_BENCH_SIZES`, else 10,000 and 100,000 domains. `cargo bench` passes `--bench`;
/// `cargo test --benches` runs us with no such flag and must stay quick: only the smallest
/// size then.
fn sizes(args: &[String]) -> Vec<usize> {
    std::env::var("DOMWATCH_BENCH_SIZES")
        .unwrap_or_else(|_| {
            if args.iter().any(|a| a == "--bench") {
                "10000,100000".into()
            } else {
                "2000".into()
            }
        })
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// Starts the sandboxes for `size` domains (the WHMCS tables in MariaDB with `whmcs_db`, a
/// `DOMWATCH_BENCH_WHMCS_DB` value) and measures two cycles in a fresh child.
fn measure(size: usize, whmcs_db: Option<&str>) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let db = whmcs_db.map(|spec| whmcs_db::prepare(spec, size));
    let db_url = db.as_ref().map(|d| d.url.clone());
    let sb = start_sandboxes(size, dir.path(), db_url.as_deref());
    let store = dir.path().join("domwatch.db");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--one-cycle",
            &sb.whmcs,
            &sb.cnr,
            &sb.ispapi,
            &sb.smartnic,
            store.to_str().unwrap(),
            &sb.pids()
                .iter()
                .map(|pid| pid.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ])
        .args(db_url.as_deref())
        .stderr(Stdio::inherit())
        .output()
        .expect("run the measured cycle");
    drop(sb);
    if let Some(db) = db {
        db.remove();
    }
    assert!(out.status.success(), "cycle failed");
    serde_json::from_slice(out.stdout.trim_ascii()).expect("cycle output")
}

/// The table row on stdout, the breakdowns on stderr.
fn print_figures(size: usize, m: &serde_json::Value) {
    let reg_calls = m["registrar_calls"].as_u64().unwrap_or(0);
    let whmcs_calls = m["whmcs_calls"].as_u64().unwrap_or(0);
    let domains = m["registrar_domains"].as_u64().unwrap_or(0).max(1);
    println!(
        "{:>9} {:>9.2} {:>8.0} MiB {:>9} {:>11} {:>13.2} {:>13} {:>9}",
        size,
        m["wall_s"].as_f64().unwrap_or(0.0),
        m["peak_rss_mib"].as_f64().unwrap_or(0.0),
        m["findings"],
        reg_calls,
        reg_calls as f64 * 1000.0 / domains as f64,
        whmcs_calls,
        m["notices"],
    );
    eprintln!("  first cycle stage seconds: {}", m["stages"]);
    eprintln!(
        "  peak RSS MiB by stage, first cycle {}, second cycle {}",
        m["rss_peak_mib_by_stage"], m["steady_rss_peak_mib_by_stage"]
    );
    eprintln!(
        "  CPU seconds, first cycle {}, second cycle {}",
        m["cpu_s"], m["steady_cpu_s"]
    );
    eprintln!(
        "  first cycle calls: registrar {}, WHMCS {}",
        m["registrar_calls_by_command"], m["whmcs_calls_by_action"]
    );
    eprintln!(
        "  second (steady-state) cycle: {:.2}s, {} registrar calls, {} WHMCS calls, stages {}",
        m["steady_wall_s"].as_f64().unwrap_or(0.0),
        m["steady_registrar_calls"],
        m["steady_whmcs_calls"],
        m["steady_stages"]
    );
    eprintln!(
        "  second cycle calls: registrar {}, WHMCS {}",
        m["steady_registrar_calls_by_command"], m["steady_whmcs_calls_by_action"]
    );
    for (cycle, key) in [("first", "stages"), ("second", "steady_stages")] {
        if let Some((stage, seconds)) = slowest_stage(&m[key]) {
            eprintln!("  {cycle} cycle: the slowest stage is {stage} ({seconds:.2}s)");
        }
    }
}

/// The stage with the most seconds in a `stage -> seconds` object.
fn slowest_stage(stages: &serde_json::Value) -> Option<(String, f64)> {
    stages
        .as_object()?
        .iter()
        .filter_map(|(stage, s)| Some((stage.clone(), s.as_f64()?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}
