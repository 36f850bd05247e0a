//! TLD price monitor benchmark (issue #12): WHMCS's GetTLDPricing for a catalogue of the
//! whole registrar price list (1,510 TLDs x 3 currencies x 4 operations) against the CNR
//! (`QueryZoneList`) and ISPAPI (`StatusUser` price classes) price lists of 1,510 zones,
//! over HTTP against in-process sandboxes. Prints the stage's wall time (a first and a
//! second, steady-state run) and the calls per command.
//!
//! `cargo bench -p domwatch --bench tld_prices`

use chrono::NaiveDate;
use domwatch_core::detect::DetectionPolicy;
use domwatch_core::model::Dialect;
use domwatch_core::ports::RegistrarPort;
use domwatch_engine::{Account, CycleReport, Engine};
use domwatch_rrp::RrpClient;
use domwatch_sandbox::price_list::full_catalogue;
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use domwatch_sandbox::whmcs::{schema::replace_catalogue, WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_testkit::{fixed_clock, rrp_config, sqlite_store};
use domwatch_whmcs::{BillingPort, WhmcsClient, WhmcsConfig};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

const SEED: u64 = 1;
const DOMAINS: usize = 100;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

async fn engine(
    whmcs: &WhmcsSandbox,
    registrars: &[RegistrarSandbox],
    dir: &std::path::Path,
) -> Engine {
    let wc = WhmcsConfig::new(&whmcs.base_url(), whmcs.identifier(), whmcs.secret()).unwrap();
    let billing: Arc<dyn BillingPort> = Arc::new(WhmcsClient::new(wc).unwrap());
    let accounts = registrars
        .iter()
        .zip([("cnr", Dialect::Cnr), ("ispapi", Dialect::Ispapi)])
        .map(|(sb, (name, dialect))| {
            let cc = rrp_config(dialect, &sb.endpoint(), sb.login(), sb.password());
            let port: Arc<dyn RegistrarPort> = Arc::new(RrpClient::new(cc).unwrap());
            Account {
                name: name.into(),
                modules: vec![],
                port,
            }
        })
        .collect();
    let mut policy = DetectionPolicy::default();
    policy.tld_prices.enabled = true;
    Engine {
        store: sqlite_store(&dir.join("store.db")).await,
        notifier: None,
        billing,
        whmcs_db: None,
        accounts,
        clock: fixed_clock(),
        policy,
        fixed_rates: vec![],
        concurrency: 8,
        notices: Default::default(),
    }
}

fn calls(whmcs: &WhmcsSandbox, registrars: &[RegistrarSandbox]) -> BTreeMap<String, u64> {
    let mut all: BTreeMap<String, u64> = whmcs
        .api_calls_by_action()
        .into_iter()
        .map(|(k, v)| (format!("WHMCS {k}"), v))
        .collect();
    for (sb, name) in registrars.iter().zip(["CNR", "ISPAPI"]) {
        for (k, v) in sb.requests_by_command() {
            all.insert(format!("{name} {k}"), v);
        }
    }
    all
}

fn diff(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let whmcs = domwatch_sandbox::whmcs::start(WhmcsSandboxConfig::new(SEED, DOMAINS, today()))
        .await
        .unwrap();
    let catalogue = full_catalogue();
    replace_catalogue(whmcs.store(), &catalogue).await.unwrap();
    let mut registrars = Vec::new();
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let config = RegistrarSandboxConfig::new(dialect, SEED, DOMAINS, today());
        registrars.push(RegistrarSandbox::start(config).await.unwrap());
    }
    let engine = engine(&whmcs, &registrars, dir.path()).await;
    let rates = engine.accounts[0].port.exchange_rates().await.unwrap();
    let run = engine
        .store
        .begin_run(engine.clock.now(), false)
        .await
        .unwrap();
    println!(
        "TLD price monitor: {} TLDs sold in WHMCS, 3 currencies, 4 operations",
        catalogue.len()
    );
    for label in ["first run", "second run (steady state)"] {
        let before = calls(&whmcs, &registrars);
        let mut report = CycleReport::default();
        let started = Instant::now();
        engine
            .tld_prices(Some(run), &rates, &mut report)
            .await
            .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let stats = report.tld_prices.unwrap();
        assert!(
            report.incomplete_inputs.is_empty(),
            "{:?}",
            report.incomplete_inputs
        );
        println!(
            "\n{label}: {seconds:.2} s; {} groups compared, zones read {:?}, findings {:?}, opened {}",
            stats.groups, stats.zones_read, stats.findings_by_kind, stats.opened
        );
        for (command, n) in diff(&calls(&whmcs, &registrars), &before) {
            println!("  {n:>4}  {command}");
        }
    }
}
