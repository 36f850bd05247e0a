//! Renewal forecast: folds a stream of due renewals into what the next 30, 60, 90 and 365
//! days will bill and cost, per client currency and per registrar account, a weekly
//! series for the chart, and the worst loss-makers. Memory does not grow with the number
//! of domains: totals are sums, loss-makers a bounded heap, unpriced names a capped list.

use crate::clock::Clock;
use crate::money::{Currency, Money};
use crate::name::DomainName;
use crate::pricing::{ExchangeRates, RateCache};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

/// The forecast windows, in days from today (today counts as day 0).
pub const WINDOWS: [i64; 4] = [30, 60, 90, 365];
/// The weekly series covers the longest window: weeks 0..=52.
pub const WEEKS: usize = 53;

/// One renewal WHMCS will invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalDue {
    pub domain: DomainName,
    /// WHMCS next due date.
    pub due: NaiveDate,
    pub account: Arc<str>,
    /// What WHMCS will invoice, in the client's currency.
    pub billed: Money,
    /// The registrar's renewal cost incl. premium, in the registrar's currency;
    /// `None` when the registrar has no price for it.
    pub cost: Option<Money>,
}

/// A renewal as the forecaster reads it, borrowed from wherever it is held: a cycle folds
/// a million observations and need not touch (or count references to) their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewal<'a> {
    pub domain: &'a DomainName,
    /// WHMCS next due date.
    pub due: NaiveDate,
    pub account: &'a str,
    /// What WHMCS will invoice, in the client's currency.
    pub billed: Money,
    /// The registrar's renewal cost incl. premium, in the registrar's currency.
    pub cost: Option<Money>,
}

impl RenewalDue {
    pub fn as_renewal(&self) -> Renewal<'_> {
        Renewal {
            domain: &self.domain,
            due: self.due,
            account: &self.account,
            billed: self.billed,
            cost: self.cost,
        }
    }
}

/// Sums in one client currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub domains: u64,
    pub billed: Decimal,
    /// Registrar cost converted into the client currency.
    pub cost: Decimal,
    pub margin: Decimal,
}

impl Totals {
    fn add(&mut self, billed: Decimal, cost: Decimal) {
        self.domains += 1;
        self.billed += billed;
        self.cost += cost;
        self.margin += billed - cost;
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowTotals {
    pub days: i64,
    pub by_currency: BTreeMap<Currency, Totals>,
    /// Per registrar account, then client currency.
    pub by_account: BTreeMap<String, BTreeMap<Currency, Totals>>,
    /// What each account will charge, in its own currency (no conversion needed, so
    /// renewals without a rate count here too): the credit to keep at the registrar.
    pub registrar_cost: BTreeMap<String, BTreeMap<Currency, Decimal>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekPoint {
    pub starts: NaiveDate,
    pub by_currency: BTreeMap<Currency, Totals>,
}

/// A renewal that costs more than it bills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossMaker {
    pub domain: DomainName,
    pub due: NaiveDate,
    pub account: String,
    pub billed: Money,
    /// Converted into the billed currency.
    pub cost: Money,
    pub loss: Money,
}

/// Renewals left out of the money totals, counted and named (the first `names` only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unpriced {
    pub count: u64,
    pub names: Vec<DomainName>,
    /// For missing rates: how many per (registrar currency, client currency).
    pub pairs: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForecastReport {
    pub today: NaiveDate,
    pub windows: Vec<WindowTotals>,
    pub weeks: Vec<WeekPoint>,
    /// Per client currency, worst loss first, at most `top_n` each (365-day horizon).
    pub loss_makers: BTreeMap<Currency, Vec<LossMaker>>,
    /// The registrar cost cannot be converted into the client currency.
    pub no_rate: Unpriced,
    /// The registrar has no renewal price for the domain.
    pub no_cost: Unpriced,
    /// Due before today: WHMCS has invoiced already; per client currency.
    pub overdue: BTreeMap<Currency, Totals>,
    /// Due more than 365 days ahead; not summed.
    pub beyond: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForecastOptions {
    pub top_n: usize,
    pub name_limit: usize,
}

impl Default for ForecastOptions {
    fn default() -> Self {
        Self {
            top_n: 20,
            name_limit: 100,
        }
    }
}

impl ForecastReport {
    /// The totals of the window of `days` (one of [`WINDOWS`]).
    pub fn window(&self, days: i64) -> Option<&WindowTotals> {
        self.windows.iter().find(|w| w.days == days)
    }

    /// The weeks that start within `days` of today (the last may reach past it).
    pub fn weeks_within(&self, days: i64) -> &[WeekPoint] {
        let n = self
            .weeks
            .iter()
            .take_while(|w| (w.starts - self.today).num_days() < days)
            .count();
        &self.weeks[..n]
    }

    /// The loss-makers due within `days`, worst first, per client currency.
    pub fn loss_makers_within(&self, days: i64) -> BTreeMap<Currency, Vec<&LossMaker>> {
        self.loss_makers
            .iter()
            .map(|(cur, list)| {
                let due: Vec<&LossMaker> = list
                    .iter()
                    .filter(|l| (l.due - self.today).num_days() < days)
                    .collect();
                (*cur, due)
            })
            .filter(|(_, list)| !list.is_empty())
            .collect()
    }
}

/// Folds renewals one at a time; see [`forecast`] for the whole stream.
pub struct Forecaster<'r> {
    today: NaiveDate,
    options: ForecastOptions,
    rates: RateCache<'r>,
    windows: Vec<WindowTotals>,
    weeks: Vec<BTreeMap<Currency, Totals>>,
    losses: BTreeMap<Currency, BinaryHeap<Reverse<Ranked>>>,
    no_rate: Unpriced,
    no_cost: Unpriced,
    overdue: BTreeMap<Currency, Totals>,
    beyond: u64,
}

impl<'r> Forecaster<'r> {
    pub fn new(clock: &dyn Clock, rates: &'r ExchangeRates, options: ForecastOptions) -> Self {
        Self {
            today: clock.today(),
            options,
            rates: rates.cached(),
            windows: WINDOWS
                .iter()
                .map(|&days| WindowTotals {
                    days,
                    ..WindowTotals::default()
                })
                .collect(),
            weeks: vec![BTreeMap::new(); WEEKS],
            losses: BTreeMap::new(),
            no_rate: Unpriced::default(),
            no_cost: Unpriced::default(),
            overdue: BTreeMap::new(),
            beyond: 0,
        }
    }

    pub fn add(&mut self, r: Renewal<'_>) {
        let offset = (r.due - self.today).num_days();
        if offset >= WINDOWS[WINDOWS.len() - 1] {
            self.beyond += 1;
            return;
        }
        let currency = r.billed.currency;
        if offset >= 0 {
            if let Some(cost) = r.cost {
                self.add_registrar_cost(r, offset, cost);
            }
        }
        let Some(cost) = r.cost else {
            self.no_cost.note(r.domain, None, self.options.name_limit);
            return;
        };
        let cost = match self.rates.convert(cost, currency) {
            Ok(c) => c.money.amount,
            Err(_) => {
                let pair = format!("{}->{}", cost.currency, currency);
                self.no_rate
                    .note(r.domain, Some(pair), self.options.name_limit);
                return;
            }
        };
        if offset < 0 {
            self.overdue
                .entry(currency)
                .or_default()
                .add(r.billed.amount, cost);
            return;
        }
        self.add_totals(r, offset, cost);
        if cost > r.billed.amount {
            self.add_loss(r, cost);
        }
    }

    fn add_totals(&mut self, r: Renewal<'_>, offset: i64, cost: Decimal) {
        let currency = r.billed.currency;
        for w in self.windows.iter_mut().filter(|w| offset < w.days) {
            w.by_currency
                .entry(currency)
                .or_default()
                .add(r.billed.amount, cost);
            account_entry(&mut w.by_account, r.account)
                .entry(currency)
                .or_default()
                .add(r.billed.amount, cost);
        }
        let week = usize::try_from(offset / 7).unwrap_or(0);
        self.weeks[week]
            .entry(currency)
            .or_default()
            .add(r.billed.amount, cost);
    }

    fn add_registrar_cost(&mut self, r: Renewal<'_>, offset: i64, cost: Money) {
        for w in self.windows.iter_mut().filter(|w| offset < w.days) {
            *account_entry(&mut w.registrar_cost, r.account)
                .entry(cost.currency)
                .or_default() += cost.amount;
        }
    }

    fn add_loss(&mut self, r: Renewal<'_>, cost: Decimal) {
        let heap = self.losses.entry(r.billed.currency).or_default();
        let loss = cost - r.billed.amount;
        let full = heap.len() >= self.options.top_n;
        // Ranked like `Ranked`'s order, without copying a name that does not get in.
        let beats_least = |least: &Ranked| {
            loss.cmp(&least.loss)
                .then_with(|| least.domain.cmp(r.domain))
                .is_gt()
        };
        if full && !heap.peek().is_some_and(|Reverse(least)| beats_least(least)) {
            return;
        }
        if full {
            heap.pop();
        }
        heap.push(Reverse(Ranked {
            loss,
            domain: r.domain.clone(),
            due: r.due,
            account: r.account.into(),
            billed: r.billed,
            cost,
        }));
    }

    pub fn finish(self) -> ForecastReport {
        let loss_makers = self
            .losses
            .into_iter()
            .map(|(cur, heap)| {
                let mut v: Vec<Ranked> = heap.into_iter().map(|Reverse(r)| r).collect();
                v.sort_by(|a, b| b.cmp(a));
                (cur, v.into_iter().map(Ranked::into_loss_maker).collect())
            })
            .collect();
        let today = self.today;
        ForecastReport {
            today,
            windows: self.windows,
            weeks: self
                .weeks
                .into_iter()
                .enumerate()
                .map(|(i, by_currency)| WeekPoint {
                    starts: today + chrono::Duration::days(7 * i as i64),
                    by_currency,
                })
                .collect(),
            loss_makers,
            no_rate: self.no_rate,
            no_cost: self.no_cost,
            overdue: self.overdue,
            beyond: self.beyond,
        }
    }
}

/// Folds a stream of renewals; nothing is collected.
pub fn forecast<I>(
    renewals: I,
    clock: &dyn Clock,
    rates: &ExchangeRates,
    options: ForecastOptions,
) -> ForecastReport
where
    I: IntoIterator<Item = RenewalDue>,
{
    let mut f = Forecaster::new(clock, rates, options);
    for r in renewals {
        f.add(r.as_renewal());
    }
    f.finish()
}

fn account_entry<'m, V: Default>(map: &'m mut BTreeMap<String, V>, account: &str) -> &'m mut V {
    if !map.contains_key(account) {
        map.insert(account.to_string(), V::default());
    }
    map.get_mut(account).expect("inserted above")
}

impl Unpriced {
    fn note(&mut self, domain: &DomainName, pair: Option<String>, limit: usize) {
        self.count += 1;
        if self.names.len() < limit {
            self.names.push(domain.clone());
        }
        if let Some(pair) = pair {
            *self.pairs.entry(pair).or_default() += 1;
        }
    }
}

/// A loss-maker ranked by loss, then by name (earlier name wins a tie), for a stable top N.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ranked {
    loss: Decimal,
    domain: DomainName,
    due: NaiveDate,
    account: Arc<str>,
    billed: Money,
    cost: Decimal,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.loss
            .cmp(&other.loss)
            .then_with(|| other.domain.cmp(&self.domain))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ranked {
    fn into_loss_maker(self) -> LossMaker {
        let cur = self.billed.currency;
        LossMaker {
            domain: self.domain,
            due: self.due,
            account: self.account.to_string(),
            billed: self.billed,
            cost: Money::new(self.cost, cur).round_cents(),
            loss: Money::new(self.loss, cur).round_cents(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::money::RateTable;
    use chrono::{Duration, TimeZone, Utc};
    use rust_decimal_macros::dec;

    fn clock() -> FixedClock {
        FixedClock::new(Utc.with_ymd_and_hms(2026, 12, 2, 6, 0, 0).unwrap())
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
    }

    fn rates() -> ExchangeRates {
        let mut t = RateTable::new();
        t.insert(Currency::EUR, Currency::USD, dec!(1.10));
        ExchangeRates::new(t, RateTable::new())
    }

    fn due(name: &str, days: i64, billed: Money, cost: Option<Money>) -> RenewalDue {
        RenewalDue {
            domain: DomainName::parse(name).unwrap(),
            due: today() + Duration::days(days),
            account: Arc::from("cnr"),
            billed,
            cost,
        }
    }

    fn eur(a: Decimal) -> Money {
        Money::new(a, Currency::EUR)
    }

    fn usd(a: Decimal) -> Money {
        Money::new(a, Currency::USD)
    }

    fn run(items: Vec<RenewalDue>) -> ForecastReport {
        forecast(items, &clock(), &rates(), ForecastOptions::default())
    }

    #[test]
    fn windows_are_cumulative_from_today() {
        let r = run(vec![
            due("a.de", 0, eur(dec!(12)), Some(eur(dec!(8)))),
            due("b.de", 29, eur(dec!(12)), Some(eur(dec!(8)))),
            due("c.de", 30, eur(dec!(12)), Some(eur(dec!(8)))),
            due("d.de", 364, eur(dec!(12)), Some(eur(dec!(8)))),
            due("e.de", 365, eur(dec!(12)), Some(eur(dec!(8)))),
            due("f.de", -1, eur(dec!(12)), Some(eur(dec!(8)))),
        ]);
        let counts: Vec<u64> = r
            .windows
            .iter()
            .map(|w| w.by_currency[&Currency::EUR].domains)
            .collect();
        assert_eq!(counts, vec![2, 3, 3, 4]);
        let year = &r.windows[3].by_currency[&Currency::EUR];
        assert_eq!(
            (year.billed, year.cost, year.margin),
            (dec!(48), dec!(32), dec!(16))
        );
        assert_eq!(r.beyond, 1);
        assert_eq!(r.overdue[&Currency::EUR].domains, 1);
        assert_eq!(r.windows[0].by_account["cnr"][&Currency::EUR].domains, 2);
        assert_eq!(r.window(90).unwrap().days, 90);
        assert!(r.window(45).is_none());
    }

    #[test]
    fn views_cut_weeks_and_loss_makers_to_a_window() {
        let r = run(vec![
            due("soon.com", 3, eur(dec!(10)), Some(eur(dec!(12)))),
            due("later.com", 40, eur(dec!(10)), Some(eur(dec!(15)))),
        ]);
        // Weeks starting on days 0, 7, 14, 21 and 28 cover a 30-day window.
        assert_eq!(r.weeks_within(30).len(), 5);
        assert_eq!(r.weeks_within(365).len(), WEEKS);
        let names = |days| -> Vec<&str> {
            r.loss_makers_within(days)
                .get(&Currency::EUR)
                .map(|l| l.iter().map(|l| l.domain.ascii()).collect())
                .unwrap_or_default()
        };
        assert_eq!(names(30), vec!["soon.com"]);
        assert_eq!(names(60), vec!["later.com", "soon.com"]);
    }

    #[test]
    fn costs_are_converted_into_the_client_currency() {
        let r = run(vec![due("a.com", 3, usd(dec!(15)), Some(eur(dec!(10))))]);
        let t = r.windows[0].by_currency[&Currency::USD];
        assert_eq!((t.cost, t.margin), (dec!(11.00), dec!(4.00)));
        // The registrar's own currency is kept for the account's credit.
        assert_eq!(r.windows[0].registrar_cost["cnr"][&Currency::EUR], dec!(10));
    }

    #[test]
    fn no_rate_is_counted_and_named_never_zero() {
        let gbp = Money::new(dec!(9), Currency::GBP);
        let r = run(vec![
            due("a.co.uk", 3, usd(dec!(15)), Some(gbp)),
            due("b.de", 3, eur(dec!(12)), Some(eur(dec!(8)))),
        ]);
        assert_eq!(r.no_rate.count, 1);
        assert_eq!(r.no_rate.names[0].ascii(), "a.co.uk");
        assert_eq!(r.no_rate.pairs["GBP->USD"], 1);
        assert!(
            !r.windows[0].by_currency.contains_key(&Currency::USD),
            "not summed as zero"
        );
        // Its registrar cost needs no rate and still counts for the account's credit.
        assert_eq!(r.windows[0].registrar_cost["cnr"][&Currency::GBP], dec!(9));
    }

    #[test]
    fn a_domain_without_a_registrar_price_is_counted_apart() {
        let r = run(vec![due("a.xyz", 3, eur(dec!(12)), None)]);
        assert_eq!(r.no_cost.count, 1);
        assert_eq!(r.no_cost.names[0].ascii(), "a.xyz");
        assert!(r.windows[0].by_currency.is_empty());
    }

    #[test]
    fn unpriced_names_are_capped_but_counted() {
        let items = (0..10).map(|i| due(&format!("n{i}.xyz"), 1, eur(dec!(1)), None));
        let opts = ForecastOptions {
            top_n: 3,
            name_limit: 4,
        };
        let r = forecast(items, &clock(), &rates(), opts);
        assert_eq!((r.no_cost.count, r.no_cost.names.len()), (10, 4));
    }

    #[test]
    fn weekly_series_buckets_by_seven_days() {
        let r = run(vec![
            due("a.de", 6, eur(dec!(1)), Some(eur(dec!(1)))),
            due("b.de", 7, eur(dec!(1)), Some(eur(dec!(1)))),
            due("c.de", 364, eur(dec!(1)), Some(eur(dec!(1)))),
        ]);
        assert_eq!(r.weeks.len(), WEEKS);
        assert_eq!(r.weeks[1].starts, today() + Duration::days(7));
        let n = |w: usize| {
            r.weeks[w]
                .by_currency
                .get(&Currency::EUR)
                .map_or(0, |t| t.domains)
        };
        assert_eq!((n(0), n(1), n(52)), (1, 1, 1));
    }

    #[test]
    fn loss_makers_are_the_top_n_by_loss() {
        let items: Vec<_> = (1..=50)
            .map(|i| {
                due(
                    &format!("d{i:02}.com"),
                    5,
                    eur(dec!(10)),
                    Some(eur(Decimal::from(10 + i))),
                )
            })
            .chain([due("tie.com", 5, eur(dec!(10)), Some(eur(dec!(60))))])
            .chain([due("fine.com", 5, eur(dec!(10)), Some(eur(dec!(5))))])
            .collect();
        let opts = ForecastOptions {
            top_n: 3,
            name_limit: 10,
        };
        let r = forecast(items, &clock(), &rates(), opts);
        let top: Vec<(&str, Decimal)> = r.loss_makers[&Currency::EUR]
            .iter()
            .map(|l| (l.domain.ascii(), l.loss.amount))
            .collect();
        assert_eq!(
            top,
            vec![
                ("d50.com", dec!(50)),
                ("tie.com", dec!(50)),
                ("d49.com", dec!(49))
            ]
        );
    }

    #[test]
    fn the_report_serialises_for_the_dashboard() {
        let r = run(vec![
            due("a.com", 3, usd(dec!(15)), Some(eur(dec!(20)))),
            due(
                "b.co.uk",
                3,
                Money::new(dec!(5), Currency::GBP),
                Some(eur(dec!(4))),
            ),
        ]);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["windows"][0]["by_currency"]["USD"]["domains"], 1);
        assert_eq!(
            json["windows"][0]["by_account"]["cnr"]["USD"]["margin"],
            "-7.00"
        );
        assert_eq!(json["loss_makers"]["USD"][0]["domain"], "a.com");
        assert_eq!(json["no_rate"]["pairs"]["EUR->GBP"], 1);
    }

    #[test]
    fn folds_a_million_renewals_from_a_stream() {
        let names: Vec<DomainName> = (0..1000)
            .map(|i| DomainName::parse(&format!("n{i}.com")).unwrap())
            .collect();
        let account: Arc<str> = Arc::from("cnr");
        let stream = (0..1_000_000u32).map(|i| RenewalDue {
            domain: names[(i % 1000) as usize].clone(),
            due: today() + Duration::days(i64::from(i % 400)),
            account: account.clone(),
            billed: eur(dec!(12)),
            cost: Some(eur(if i % 97 == 0 { dec!(13) } else { dec!(8) })),
        });
        let r = forecast(stream, &clock(), &rates(), ForecastOptions::default());
        let year = &r.windows[3].by_currency[&Currency::EUR];
        assert_eq!(year.domains + r.beyond, 1_000_000);
        assert_eq!(r.beyond, 1_000_000 / 400 * 35);
        assert_eq!(r.loss_makers[&Currency::EUR].len(), 20);
    }
}
