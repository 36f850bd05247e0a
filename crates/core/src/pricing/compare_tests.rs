use super::*;
use crate::money::RateTable;
use crate::pricing::list::CostBasis;
use crate::pricing::rule::Rounding;
use rust_decimal_macros::dec;

const CURRENCIES: [Currency; 3] = [Currency::EUR, Currency::USD, Currency::GBP];

fn y(n: u32) -> Years {
    Years::new(n).unwrap()
}

fn tld(s: &str) -> Tld {
    Tld::parse(s).unwrap()
}

fn rates() -> ExchangeRates {
    let mut t = RateTable::new();
    t.insert(Currency::EUR, Currency::USD, dec!(1.10));
    t.insert(Currency::EUR, Currency::GBP, dec!(0.85));
    ExchangeRates::new(t, RateTable::new())
}

fn terms_of(op: PriceOperation) -> Vec<Years> {
    match op {
        PriceOperation::Restore => vec![Years::ONE],
        _ => Years::all().collect(),
    }
}

/// A reseller whose every price follows the rule: `zones` zones at `10 + i` EUR a year.
struct World {
    zones: Vec<Tld>,
    costs: RegistrarCosts,
    sell: SellPrices,
    rule: PricingRule,
    rates: ExchangeRates,
}

impl World {
    fn new(zones: usize) -> World {
        let rule = PricingRule::default();
        let rates = rates();
        let mut w = World {
            zones: Vec::new(),
            costs: RegistrarCosts::new(),
            sell: SellPrices::new(),
            rule,
            rates,
        };
        for i in 0..zones {
            let t = if i == 0 {
                tld("com")
            } else {
                tld(&format!("z{i}"))
            };
            let per_year = Money::new(Decimal::from(10 + i % 50), Currency::EUR);
            for op in PriceOperation::ALL {
                w.costs.set_per_year(&t, op, per_year).unwrap();
            }
            w.sell.set_registrar(&t, "cnr");
            w.zones.push(t.clone());
            w.price_by_rule(&t);
        }
        w
    }

    fn price_by_rule(&mut self, t: &Tld) {
        let mut cache = self.rates.cached();
        for op in PriceOperation::ALL {
            for cur in CURRENCIES {
                for years in terms_of(op) {
                    let cost = self.costs.cost(t, op, years).unwrap();
                    let conv = cache.convert(cost, cur).unwrap().money;
                    let price = self
                        .rule
                        .proposed_price(conv, years, FixedAmounts::default());
                    self.sell.set_price(t, op, years, price);
                }
            }
        }
    }

    fn registrars(&self) -> Registrars {
        let mut r = Registrars::new();
        r.insert("cnr", self.costs.clone());
        r
    }

    fn report(&self) -> PriceReport {
        compare(&self.sell, &self.registrars(), &self.rates, &self.rule)
    }

    fn raise(&mut self, zone: usize, op: PriceOperation, percent: u32) {
        let t = self.zones[zone].clone();
        let CostBasis::PerYear(old) = self.costs.basis(&t, op).unwrap().clone() else {
            panic!("per-year basis expected")
        };
        let new = old.amount * Decimal::from(percent) / Decimal::ONE_HUNDRED;
        self.costs
            .set_per_year(&t, op, Money::new(new, old.currency))
            .unwrap();
    }
}

#[test]
fn prices_that_follow_the_rule_raise_nothing() {
    let report = World::new(5).report();
    assert_eq!(report.findings, vec![]);
    assert_eq!(report.skipped, vec![]);
}

#[test]
fn one_price_rise_yields_one_finding_per_currency() {
    let mut w = World::new(5);
    w.raise(0, PriceOperation::Renew, 150);
    let report = w.report();
    let keys: Vec<&str> = report.findings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "tld-price:com:renew:EUR",
            "tld-price:com:renew:GBP",
            "tld-price:com:renew:USD"
        ]
    );
    for f in &report.findings {
        assert_eq!(f.kind, PriceFindingKind::SoldBelowCost, "{}", f.summary);
        assert_eq!(f.rows.len(), 10);
        assert!(
            f.summary.contains(".com renew in") && f.summary.contains("`cnr`"),
            "{}",
            f.summary
        );
        let proposal = f.proposal.as_ref().unwrap();
        assert_eq!(proposal.terms.len(), 10);
        for (row, term) in f.rows.iter().zip(&proposal.terms) {
            let ProposedSell::Price { price } = term.to else {
                panic!("price expected")
            };
            assert!(price.amount >= row.cost_converted.unwrap().amount);
            assert_eq!(price.amount.fract(), dec!(0.99), "rounded to .99");
        }
        assert!(f.at_stake.unwrap().amount > Decimal::ZERO);
    }
}

#[test]
fn a_rise_on_a_1500_zone_catalogue_yields_exactly_three_findings() {
    let mut w = World::new(1500);
    assert_eq!(w.report().findings.len(), 0);
    w.raise(777, PriceOperation::Transfer, 200);
    let report = w.report();
    assert_eq!(report.findings.len(), 3);
    assert!(report
        .findings
        .iter()
        .all(|f| f.tld == w.zones[777] && f.operation == PriceOperation::Transfer));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    #[test]
    fn any_single_rise_is_one_finding_per_currency_and_operation(
        zone in 0usize..12, op in 0usize..4, percent in 150u32..400
    ) {
        let mut w = World::new(12);
        let op = PriceOperation::ALL[op];
        w.raise(zone, op, percent);
        let report = w.report();
        proptest::prop_assert_eq!(report.findings.len(), CURRENCIES.len());
        for f in &report.findings {
            proptest::prop_assert_eq!(&f.tld, &w.zones[zone]);
            proptest::prop_assert_eq!(f.operation, op);
        }
        let mut currencies: Vec<_> = report.findings.iter().map(|f| f.currency).collect();
        currencies.dedup();
        proptest::prop_assert_eq!(currencies.len(), CURRENCIES.len());
    }
}

#[test]
fn a_small_rise_is_below_the_minimum_margin_not_below_cost() {
    let mut w = World::new(1);
    w.rule.rounding = Rounding::None;
    let t = w.zones[0].clone();
    w.price_by_rule(&t);
    w.raise(0, PriceOperation::Register, 118); // 25% markup over 118% ≈ 6% margin.
    let report = w.report();
    assert_eq!(report.findings.len(), 3);
    for f in &report.findings {
        assert_eq!(f.kind, PriceFindingKind::BelowMinimumMargin);
        assert!(f
            .rows
            .iter()
            .all(|r| r.status == TermStatus::BelowMinimumMargin));
        assert_eq!(f.at_stake, None);
    }
}

fn single(sell: &str, cost: Decimal, rule: &PricingRule) -> Option<PriceFinding> {
    let de = tld("de");
    let mut list = SellPrices::new();
    list.insert_whmcs(&de, Currency::EUR, PriceOperation::Renew, Years::ONE, sell)
        .unwrap();
    list.set_registrar(&de, "cnr");
    let mut costs = RegistrarCosts::new();
    costs
        .set_per_year(&de, PriceOperation::Renew, Money::new(cost, Currency::EUR))
        .unwrap();
    let mut reg = Registrars::new();
    reg.insert("cnr", costs);
    compare(&list, &reg, &rates(), rule).findings.pop()
}

#[test]
fn margin_edges() {
    let mut rule = PricingRule::default(); // min 10%
    assert_eq!(
        single("11.00", dec!(10), &rule),
        None,
        "exactly 10% is enough"
    );
    let f = single("10.99", dec!(10), &rule).unwrap();
    assert_eq!(f.kind, PriceFindingKind::BelowMinimumMargin);
    let f = single("10.00", dec!(10), &rule).unwrap();
    assert_eq!(
        f.kind,
        PriceFindingKind::BelowMinimumMargin,
        "at cost is not below cost"
    );
    let f = single("9.99", dec!(10), &rule).unwrap();
    assert_eq!(f.kind, PriceFindingKind::SoldBelowCost);
    assert_eq!(f.at_stake, Some(Money::new(dec!(0.01), Currency::EUR)));
    assert_eq!(f.rows[0].margin_percent, Some(dec!(-0.10)));
    // 10.00 × 1.25 = 12.50 → .99
    assert_eq!(
        f.rows[0].proposed,
        Some(Money::new(dec!(12.99), Currency::EUR))
    );
    rule.min_margin_percent = Decimal::ZERO;
    assert_eq!(single("10.00", dec!(10), &rule), None);
    rule.min_margin_fixed = Some(Money::new(dec!(0.50), Currency::EUR));
    assert!(single("10.49", dec!(10), &rule).is_some());
    assert_eq!(single("10.50", dec!(10), &rule), None);
}

#[test]
fn sub_cent_prices_and_free_costs() {
    let rule = PricingRule::default();
    let f = single("0.01", dec!(0.02), &rule).unwrap();
    assert_eq!(f.kind, PriceFindingKind::SoldBelowCost);
    assert_eq!(
        f.rows[0].proposed,
        Some(Money::new(dec!(0.99), Currency::EUR))
    );
    // A free transfer (.uk) makes any price a full margin, with no percent.
    let free = single("1.00", dec!(0), &rule);
    assert_eq!(free, None);
}

#[test]
fn a_currency_without_a_rate_is_a_finding_never_a_zero_price() {
    let mut w = World::new(2);
    let jpy: Currency = "JPY".parse().unwrap();
    let t = w.zones[1].clone();
    for op in PriceOperation::ALL {
        w.sell
            .set_price(&t, op, Years::ONE, Money::new(dec!(1500), jpy));
    }
    let report = w.report();
    assert_eq!(report.findings.len(), 4, "one per operation");
    for f in &report.findings {
        assert_eq!(f.kind, PriceFindingKind::NoExchangeRate);
        assert_eq!(f.currency, jpy);
        assert_eq!(f.proposal, None);
        assert_eq!(f.rate, None);
        let row = &f.rows[0];
        assert!(row.cost.is_some());
        assert_eq!(
            (row.cost_converted, row.margin, row.proposed),
            (None, None, None)
        );
        assert!(
            f.summary.contains("no exchange rate EUR to JPY"),
            "{}",
            f.summary
        );
    }
}

#[test]
fn a_fixed_markup_without_a_rate_is_a_no_rate_finding() {
    let mut w = World::new(1);
    w.rule.min_margin_fixed = Some(Money::new(dec!(1), "CHF".parse().unwrap()));
    let report = w.report();
    assert_eq!(report.findings.len(), 12);
    assert!(report
        .findings
        .iter()
        .all(|f| f.kind == PriceFindingKind::NoExchangeRate));
}

#[test]
fn a_zone_with_no_price_is_not_offered_and_the_fix_disables_it() {
    let mut w = World::new(1);
    let uk = tld("co.uk");
    w.sell.set_registrar(&uk, "cnr");
    for cur in CURRENCIES {
        w.sell
            .insert_whmcs(&uk, cur, PriceOperation::Register, Years::ONE, "7.99")
            .unwrap();
        w.sell
            .insert_whmcs(&uk, cur, PriceOperation::Register, y(2), "-1")
            .unwrap();
    }
    let report = w.report();
    assert_eq!(report.findings.len(), 3);
    for f in &report.findings {
        assert_eq!(f.kind, PriceFindingKind::NotOfferedByRegistrar);
        assert!(f.key.starts_with("tld-price:co.uk:register:"), "{}", f.key);
        assert_eq!(f.rows.len(), 1, "the disabled 2-year term is not judged");
        let p = f.proposal.as_ref().unwrap();
        assert_eq!(p.terms[0].to, ProposedSell::Disable);
        assert!(
            p.idempotency_key().ends_with(":1=off"),
            "{}",
            p.idempotency_key()
        );
    }
}

#[test]
fn terms_beyond_the_registrars_are_not_offered() {
    let de = tld("de");
    let mut costs = RegistrarCosts::new();
    for n in 1..=5 {
        costs
            .set_term(
                &de,
                PriceOperation::Register,
                y(n),
                Money::new(Decimal::from(5 * n), Currency::EUR),
            )
            .unwrap();
    }
    let mut list = SellPrices::new();
    list.set_registrar(&de, "cnr");
    for n in 1..=10u32 {
        let price = Money::new(Decimal::from(10 * n), Currency::EUR);
        list.set_price(&de, PriceOperation::Register, y(n), price);
    }
    let mut reg = Registrars::new();
    reg.insert("cnr", costs);
    let report = compare(&list, &reg, &rates(), &PricingRule::default());
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!(f.kind, PriceFindingKind::NotOfferedByRegistrar);
    assert!(f.summary.contains("6, 7, 8, 9, 10 years"), "{}", f.summary);
    let disabled: Vec<u32> = f
        .proposal
        .as_ref()
        .unwrap()
        .terms
        .iter()
        .map(|t| t.years.get())
        .collect();
    assert_eq!(disabled, vec![6, 7, 8, 9, 10]);
}

#[test]
fn idn_tld_from_whmcs_joins_the_registrars_a_label() {
    let whmcs = Tld::from_whmcs_extension(".рф").unwrap();
    let registrar = Tld::parse("XN--P1AI").unwrap();
    let mut costs = RegistrarCosts::new();
    costs
        .set_per_year(
            &registrar,
            PriceOperation::Renew,
            Money::new(dec!(20), Currency::EUR),
        )
        .unwrap();
    let mut list = SellPrices::new();
    list.set_registrar(&whmcs, "cnr");
    list.insert_whmcs(
        &whmcs,
        Currency::EUR,
        PriceOperation::Renew,
        Years::ONE,
        "15.00",
    )
    .unwrap();
    let mut reg = Registrars::new();
    reg.insert("cnr", costs);
    let report = compare(&list, &reg, &rates(), &PricingRule::default());
    let f = &report.findings[0];
    assert_eq!(
        (f.kind, f.key.as_str()),
        (
            PriceFindingKind::SoldBelowCost,
            "tld-price:xn--p1ai:renew:EUR"
        )
    );
    assert!(f.summary.starts_with(".рф renew in EUR"), "{}", f.summary);
}

#[test]
fn tlds_whose_registrar_list_is_missing_get_no_verdict() {
    let mut w = World::new(2);
    let net = tld("net");
    w.sell
        .insert_whmcs(
            &net,
            Currency::EUR,
            PriceOperation::Renew,
            Years::ONE,
            "1.00",
        )
        .unwrap();
    let orphan = tld("org");
    w.sell
        .insert_whmcs(
            &orphan,
            Currency::EUR,
            PriceOperation::Renew,
            Years::ONE,
            "1.00",
        )
        .unwrap();
    w.sell.set_registrar(&net, "ispapi");
    let report = w.report();
    assert_eq!(report.findings, vec![]);
    let skipped: Vec<_> = report
        .skipped
        .iter()
        .map(|s| (s.tld.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(skipped.len(), 2);
    assert!(skipped[0].0 == "net" && skipped[0].1.contains("`ispapi` was not read"));
    assert!(skipped[1].0 == "org" && skipped[1].1.contains("no registrar is set"));
    // A default account covers TLDs WHMCS maps to none.
    let mut reg = w.registrars();
    reg.set_default("cnr");
    let report = compare(&w.sell, &reg, &w.rates, &w.rule);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(
        report.findings[0].kind,
        PriceFindingKind::NotOfferedByRegistrar
    );
}

#[test]
fn evidence_cells_and_proposal_text() {
    let f = single("9.99", dec!(10), &PricingRule::default()).unwrap();
    assert_eq!(
        f.rows[0].cells(),
        [
            "1".to_string(),
            "9.99 EUR".into(),
            "10.00 EUR".into(),
            "-0.01 EUR (-0.1%)".into(),
            "12.99 EUR".into(),
            "below cost".into()
        ]
    );
    let p = f.proposal.unwrap();
    assert_eq!(
        p.idempotency_key(),
        "billing:tld-price:de:renew:EUR:1=12.99"
    );
    assert_eq!(
        p.describe(),
        "Set the WHMCS renew price of .de in EUR: 1y 9.99 EUR → 12.99 EUR"
    );
}

#[test]
fn the_report_serialises_for_the_dashboard() {
    let mut w = World::new(2);
    w.raise(1, PriceOperation::Renew, 200);
    let json = serde_json::to_value(w.report()).unwrap();
    let f = &json["findings"][0];
    assert_eq!(f["key"], "tld-price:z1:renew:EUR");
    assert_eq!(f["kind"], "sold_below_cost");
    assert_eq!(f["rows"][0]["years"], 1);
    assert_eq!(f["proposal"]["terms"][0]["to"]["set"], "price");
}
