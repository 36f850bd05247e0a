//! Full price lists: CNR `QueryZoneList` and ISPAPI `StatusUser` price-class relations
//! (`PRICE_CLASS_DOMAIN_<ZONE>_{SETUP,ANNUAL,TRANSFER,RESTORE,CURRENCY}`), both read into
//! one cost model: registering n years costs SETUP + n x ANNUAL, renewing ANNUAL per year,
//! a transfer of n years TRANSFER + (n - 1) x ANNUAL, a restore RESTORE. A zone whose
//! price cannot be read is named in `unreadable`, never priced at zero.

use domwatch_core::ports::RegistrarPriceList;
use domwatch_core::pricing::{PriceOperation, Tld, Years};
use domwatch_core::text::Untrusted;
use domwatch_core::{Currency, Money};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

/// One zone's raw price cells as the registrar sent them.
#[derive(Debug, Default, Clone)]
pub struct ZoneCells<'a> {
    pub setup: Option<&'a str>,
    pub annual: Option<&'a str>,
    pub transfer: Option<&'a str>,
    pub restore: Option<&'a str>,
    pub currency: Option<&'a str>,
}

/// Builds the price list from `(zone, cells)` rows.
pub fn price_list<'a>(
    rows: impl IntoIterator<Item = (&'a str, ZoneCells<'a>)>,
) -> RegistrarPriceList {
    let mut list = RegistrarPriceList::default();
    for (zone, cells) in rows {
        let tld = match Tld::parse(zone.trim().trim_start_matches('.')) {
            Ok(tld) => tld,
            Err(error) => {
                tracing::warn!(zone = %Untrusted(zone), %error, "skipping a zone the price list names wrongly");
                continue;
            }
        };
        if let Err(reason) = add_zone(&mut list, &tld, &cells) {
            list.unreadable.insert(tld, reason);
        }
    }
    list
}

fn add_zone(list: &mut RegistrarPriceList, tld: &Tld, c: &ZoneCells<'_>) -> Result<(), String> {
    let currency = c
        .currency
        .map(str::trim)
        .and_then(|s| Currency::from_str(s).ok())
        .ok_or_else(|| {
            format!(
                "currency `{}` is not a currency code",
                Untrusted(c.currency.unwrap_or(""))
            )
        })?;
    let amount = |what: &str, raw: Option<&str>| -> Result<Option<Decimal>, String> {
        match raw.map(str::trim).filter(|r| !r.is_empty()) {
            None => Ok(None),
            Some(r) => match Decimal::from_str(r) {
                Ok(d) if d >= Decimal::ZERO => Ok(Some(d)),
                _ => Err(format!("{what} price `{}` is not an amount", Untrusted(r))),
            },
        }
    };
    let annual =
        amount("annual", c.annual)?.ok_or_else(|| "the zone has no annual price".to_string())?;
    let setup = amount("setup", c.setup)?.unwrap_or(Decimal::ZERO);
    let transfer = amount("transfer", c.transfer)?;
    let restore = amount("restore", c.restore)?;
    let money = |d: Decimal| Money::new(d, currency);
    let costs = &mut list.costs;
    let err = |e: domwatch_core::pricing::PriceError| e.to_string();
    costs
        .set_per_year(tld, PriceOperation::Renew, money(annual))
        .map_err(err)?;
    for years in Years::all() {
        let n = Decimal::from(years.get());
        costs
            .set_term(
                tld,
                PriceOperation::Register,
                years,
                money(setup + n * annual),
            )
            .map_err(err)?;
        if let Some(t) = transfer {
            let extra = (n - Decimal::ONE) * annual;
            costs
                .set_term(tld, PriceOperation::Transfer, years, money(t + extra))
                .map_err(err)?;
        }
    }
    if let Some(r) = restore {
        costs
            .set_term(tld, PriceOperation::Restore, Years::ONE, money(r))
            .map_err(err)?;
    }
    Ok(())
}

/// ISPAPI `StatusUser` relations grouped by zone: `PRICE_CLASS_DOMAIN_COM_ANNUAL = 9.50`.
pub fn relation_cells<'a>(
    types: &[&'a str],
    values: &[&'a str],
) -> BTreeMap<String, ZoneCells<'a>> {
    let mut zones: BTreeMap<String, ZoneCells<'a>> = BTreeMap::new();
    for (t, v) in types.iter().zip(values) {
        let Some(rest) = t.trim().strip_prefix("PRICE_CLASS_DOMAIN_") else {
            continue;
        };
        let Some((zone, field)) = rest.rsplit_once('_') else {
            continue;
        };
        if zone.starts_with("PREMIUM_") {
            continue;
        }
        let cells = zones.entry(zone.to_ascii_lowercase()).or_default();
        match field {
            "SETUP" => cells.setup = Some(v),
            "ANNUAL" => cells.annual = Some(v),
            "TRANSFER" => cells.transfer = Some(v),
            "RESTORE" => cells.restore = Some(v),
            "CURRENCY" => cells.currency = Some(v),
            _ => {}
        }
    }
    zones
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn cells<'a>(annual: Option<&'a str>, currency: &'a str) -> ZoneCells<'a> {
        ZoneCells {
            setup: Some("1.00"),
            annual,
            transfer: Some("8.00"),
            restore: Some("80.00"),
            currency: Some(currency),
        }
    }

    #[test]
    fn costs_follow_the_cost_model() {
        let list = price_list([("com", cells(Some("9.50"), "EUR"))]);
        let com = Tld::parse("com").unwrap();
        let y = |n| Years::new(n).unwrap();
        let cost = |op, n| list.costs.cost(&com, op, y(n)).unwrap().amount;
        assert_eq!(cost(PriceOperation::Register, 1), dec!(10.50));
        assert_eq!(cost(PriceOperation::Register, 2), dec!(20.00));
        assert_eq!(cost(PriceOperation::Renew, 3), dec!(28.50));
        assert_eq!(cost(PriceOperation::Transfer, 2), dec!(17.50));
        assert_eq!(cost(PriceOperation::Restore, 1), dec!(80.00));
        assert!(list
            .costs
            .cost(&com, PriceOperation::Restore, y(2))
            .is_none());
    }

    #[test]
    fn a_zone_without_price_or_currency_is_unreadable_not_free() {
        let list = price_list([
            ("shop", cells(None, "EUR")),
            ("co.uk", cells(Some("abc"), "EUR")),
            ("io", cells(Some("5.00"), "")),
            (".de", cells(Some("4.20"), "EUR")),
        ]);
        let tld = |s| Tld::parse(s).unwrap();
        assert!(list.unreadable[&tld("shop")].contains("no annual price"));
        assert!(list.unreadable[&tld("co.uk")].contains("`abc`"));
        assert!(list.unreadable[&tld("io")].contains("currency"));
        assert!(list
            .costs
            .cost(&tld("shop"), PriceOperation::Renew, Years::ONE)
            .is_none());
        // A registrar's leading dot is its spelling of the zone, not a second zone.
        assert!(list
            .costs
            .cost(&tld("de"), PriceOperation::Renew, Years::ONE)
            .is_some());
    }

    #[test]
    fn relations_group_by_zone_and_skip_premium_classes() {
        let types = [
            "PRICE_CLASS_DOMAIN_CO.UK_ANNUAL",
            "PRICE_CLASS_DOMAIN_CO.UK_CURRENCY",
            "PRICE_CLASS_DOMAIN_PREMIUM_COM_TIER_A_ANNUAL",
            "SOMETHING_ELSE",
        ];
        let values = ["6.90", "EUR", "500.00", "x"];
        let zones = relation_cells(&types, &values);
        assert_eq!(zones.len(), 1);
        assert_eq!(zones["co.uk"].annual, Some("6.90"));
    }
}
