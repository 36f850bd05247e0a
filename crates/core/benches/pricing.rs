//! The pure pricing work at full size, without any I/O: the TLD price comparison for a
//! 1,500-zone catalogue in 3 currencies x 4 operations x 10 terms, and the renewal forecast
//! folded over 1,000,000 domains.
//!
//! `cargo bench -p domwatch-core --bench pricing` prints the minimum and median of
//! `DOMWATCH_BENCH_RUNS` runs (default 5) for each, and the peak RSS of the process.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use domwatch_core::forecast::{forecast, ForecastOptions, RenewalDue};
use domwatch_core::money::RateTable;
use domwatch_core::pricing::{
    compare, ExchangeRates, FixedAmounts, PriceOperation, PricingRule, RegistrarCosts, Registrars,
    SellPrices, Tld, Years,
};
use domwatch_core::{Currency, DomainName, FixedClock, Money};
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::Instant;

const ZONES: usize = 1_500;
const DOMAINS: usize = 1_000_000;
const CURRENCIES: [Currency; 3] = [Currency::EUR, Currency::USD, Currency::GBP];

fn rates() -> ExchangeRates {
    let mut t = RateTable::new();
    t.insert(Currency::EUR, Currency::USD, Decimal::new(110, 2));
    t.insert(Currency::EUR, Currency::GBP, Decimal::new(85, 2));
    ExchangeRates::new(t, RateTable::new())
}

/// A catalogue priced by the rule, with one zone in fifty sold below cost.
fn catalogue(rule: &PricingRule, rates: &ExchangeRates) -> (SellPrices, Registrars) {
    let mut costs = RegistrarCosts::new();
    let mut sell = SellPrices::new();
    let mut cache = rates.cached();
    for i in 0..ZONES {
        let tld = Tld::parse(&format!("zone{i}")).expect("zone name");
        let per_year = Money::new(Decimal::from(8 + i % 40), Currency::EUR);
        sell.set_registrar(&tld, "cnr");
        for op in PriceOperation::ALL {
            costs.set_per_year(&tld, op, per_year).expect("cost");
            for cur in CURRENCIES {
                for years in Years::all() {
                    let cost = costs.cost(&tld, op, years).expect("cost");
                    let converted = cache.convert(cost, cur).expect("rate").money;
                    let mut price = rule.proposed_price(converted, years, FixedAmounts::default());
                    if i % 50 == 0 {
                        price = Money::new(converted.amount / Decimal::TWO, cur);
                    }
                    sell.set_price(&tld, op, years, price);
                }
            }
        }
    }
    let mut registrars = Registrars::new();
    registrars.insert("cnr", costs);
    (sell, registrars)
}

fn renewals(today: NaiveDate) -> impl Iterator<Item = RenewalDue> {
    let accounts: [Arc<str>; 3] = ["cnr".into(), "ispapi".into(), "smartnic".into()];
    let names: Vec<DomainName> = (0..1_000)
        .map(|i| DomainName::parse(&format!("d{i}.com")).expect("name"))
        .collect();
    (0..DOMAINS).map(move |i| {
        let currency = CURRENCIES[i % 3];
        let cost = Decimal::from(8 + i % 40);
        RenewalDue {
            domain: names[i % names.len()].clone(),
            due: today + Duration::days((i % 400) as i64),
            account: accounts[i % 3].clone(),
            billed: Money::new(cost + Decimal::from(i % 7) - Decimal::TWO, currency),
            cost: (i % 997 != 0).then(|| Money::new(cost, Currency::EUR)),
        }
    })
}

fn timed<T>(runs: usize, mut work: impl FnMut() -> T) -> (f64, f64, T) {
    let mut seconds = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(work());
        seconds.push(start.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    (
        seconds[0],
        seconds[runs / 2],
        last.expect("at least one run"),
    )
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let runs: usize = std::env::var("DOMWATCH_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    let rule = PricingRule::default();
    let rates = rates();
    let (sell, registrars) = catalogue(&rule, &rates);
    let (min, median, report) = timed(runs, || compare(&sell, &registrars, &rates, &rule));
    println!(
        "tld price compare: {ZONES} zones x 3 currencies x 4 operations x 10 terms: min {min:.3} s, median {median:.3} s, {} findings",
        report.findings.len()
    );

    let clock = FixedClock::new(Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).unwrap());
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
    let (min, median, report) = timed(runs, || {
        forecast(renewals(today), &clock, &rates, ForecastOptions::default())
    });
    println!(
        "forecast: {DOMAINS} domains: min {min:.3} s, median {median:.3} s, {} weekly points, {} without a cost",
        report.weeks.len(),
        report.no_cost.count
    );
    if let Some(mib) = peak_rss_mib() {
        println!("peak RSS: {mib:.0} MiB");
    }
}
