//! Smart-NIC's full price list (`priceDomainList`) as registrar costs for the TLD price
//! monitor. One entry per zone (`sld` + `tld` for a second level such as `co.uk`), each
//! fee with its own currency element.
//!
//! Cost model (the setup fees are one-off fees on top of the yearly fee; `kk` is the
//! German "Konnektivitätskoordination", a transfer): registering n years costs
//! `regSetup` + n × `annually`, a transfer of n years `kk_setup` + n × `annually`,
//! renewing `annually` per year, a restore `restore`. The yearly fee covers `lifetime`
//! `lifetime_entity` (1 year as a rule; a zone billed per 2 years prices even terms only).
//!
//! What Smart-NIC does not price is not offered, never free: a fee that is absent or nil
//! leaves its operation out, a deactivated zone is left out, and a zone whose yearly fee,
//! an amount, a currency or its billing period cannot be read is named in `unreadable`.

use crate::xml::Node;
use domwatch_core::ports::RegistrarPriceList;
use domwatch_core::pricing::{PriceOperation, Tld, Years};
use domwatch_core::text::Untrusted;
use domwatch_core::{Currency, Money};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::str::FromStr;

/// Decimal places kept of an `xsd:float` (absorbs binary noise like `11.199999809265`).
const FLOAT_PLACES: u32 = 4;

/// Reads a `priceDomainList` answer's `return` element.
pub fn price_list_from(ret: &Node) -> RegistrarPriceList {
    let mut list = RegistrarPriceList::default();
    for item in ret.items("priceDomainList") {
        let activated = item.text_of("activated");
        if matches!(activated, Some("false" | "0")) {
            continue;
        }
        let Some(tld) = zone_of(item) else {
            continue;
        };
        if list.costs.basis(&tld, PriceOperation::Renew).is_some() {
            tracing::warn!(zone = %tld, "Smart-NIC lists a zone twice; the first entry counts");
            continue;
        }
        if let Err(reason) = add_zone(&mut list, &tld, item) {
            list.unreadable.insert(tld, reason);
        }
    }
    list
}

/// The zone an entry names (`tld`, or `sld.tld`); `None` (logged) for a bad name.
fn zone_of(item: &Node) -> Option<Tld> {
    let tld = item.text_of("tld")?.trim_start_matches('.');
    let name = match item.text_of("sld").map(|s| s.trim_matches('.')) {
        Some(sld) if !sld.is_empty() => format!("{sld}.{tld}"),
        _ => tld.to_string(),
    };
    match Tld::parse(&name) {
        Ok(tld) => Some(tld),
        Err(error) => {
            tracing::warn!(zone = %Untrusted(&name), %error, "skipping a zone Smart-NIC's price list names wrongly");
            None
        }
    }
}

/// One fee: `None` when absent or nil (not offered).
fn fee(item: &Node, name: &str, currency_field: &str) -> Result<Option<Money>, String> {
    let Some(raw) = item.text_of(name) else {
        return Ok(None);
    };
    let amount = Decimal::from_str(raw)
        .or_else(|_| Decimal::from_scientific(raw))
        .ok()
        .filter(|d| !d.is_sign_negative() || d.is_zero())
        .ok_or_else(|| format!("{name} `{}` is not an amount", Untrusted(raw)))?
        .round_dp(FLOAT_PLACES);
    // Smart-NIC bills in EUR; a currency it names must be one.
    let currency = match item.text_of(currency_field) {
        None => Currency::EUR,
        Some(code) => Currency::from_str(code).map_err(|_| {
            format!(
                "{currency_field} `{}` is not a currency code",
                Untrusted(code)
            )
        })?,
    };
    Ok(Some(Money::new(amount, currency)))
}

/// How many years the yearly fee covers (`lifetime` x `lifetime_entity`).
fn period_years(item: &Node) -> Result<u32, String> {
    let raw = item.text_of("lifetime").unwrap_or("1");
    let entity = item.text_of("lifetime_entity").unwrap_or("year");
    let count = Decimal::from_str(raw)
        .ok()
        .filter(|d| d.fract().is_zero() && *d > Decimal::ZERO)
        .and_then(|d| d.to_u32());
    let months = match (count, entity.to_ascii_lowercase().as_str()) {
        (Some(n), "year" | "years") => n.checked_mul(12),
        (Some(n), "month" | "months") => Some(n),
        _ => None,
    };
    months
        .filter(|m| m % 12 == 0 && (12..=120).contains(m))
        .map(|m| m / 12)
        .ok_or_else(|| {
            format!(
                "billing period `{} {}` is not a whole number of years up to 10",
                Untrusted(raw),
                Untrusted(entity)
            )
        })
}

fn add_zone(list: &mut RegistrarPriceList, tld: &Tld, item: &Node) -> Result<(), String> {
    let annual = fee(item, "annually", "annually_currency")?
        .ok_or_else(|| "the zone has no yearly fee (annually)".to_string())?;
    let period = period_years(item)?;
    let setup = fee(item, "regSetup", "reg_setup_currency")?;
    let kk = fee(item, "kk_setup", "kk_setup_currency")?;
    let restore = fee(item, "restore", "restore_currency")?;
    for (what, f) in [("regSetup", setup), ("kk_setup", kk)] {
        if f.is_some_and(|f| f.currency != annual.currency) {
            return Err(format!(
                "{what} and annually are in different currencies; the price list is inconsistent"
            ));
        }
    }
    let costs = &mut list.costs;
    let err = |e: domwatch_core::pricing::PriceError| e.to_string();
    if period == 1 {
        costs
            .set_per_year(tld, PriceOperation::Renew, annual)
            .map_err(err)?;
    }
    for years in Years::all().filter(|y| y.get() % period == 0) {
        let yearly = annual.amount * Decimal::from(years.get() / period);
        let money = |d: Decimal| Money::new(d, annual.currency);
        if period != 1 {
            costs
                .set_term(tld, PriceOperation::Renew, years, money(yearly))
                .map_err(err)?;
        }
        for (op, setup) in [
            (PriceOperation::Register, setup),
            (PriceOperation::Transfer, kk),
        ] {
            if let Some(s) = setup {
                costs
                    .set_term(tld, op, years, money(s.amount + yearly))
                    .map_err(err)?;
            }
        }
    }
    if let Some(r) = restore {
        costs
            .set_term(tld, PriceOperation::Restore, Years::ONE, r)
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn ret_of(items: &str) -> Node {
        let xml = format!(
            "<Envelope><Body><priceDomainListResponse><return><priceDomainList>{items}</priceDomainList>\
             <returnCode>1000</returnCode></return></priceDomainListResponse></Body></Envelope>"
        );
        let tree = crate::xml::parse(&xml).unwrap();
        crate::xml::body_element(&tree)
            .unwrap()
            .child("return")
            .unwrap()
            .clone()
    }

    fn item(zone: &str, sld: &str, fields: &str) -> String {
        format!("<item><tld>{zone}</tld><sld>{sld}</sld><activated>true</activated>{fields}</item>")
    }

    fn y(n: u32) -> Years {
        Years::new(n).unwrap()
    }

    const FULL: &str = "<lifetime>1</lifetime><lifetime_entity>year</lifetime_entity>\
        <regSetup>1.5</regSetup><reg_setup_currency>EUR</reg_setup_currency>\
        <kk_setup>0</kk_setup><kk_setup_currency>EUR</kk_setup_currency>\
        <annually>11.199999809265</annually><annually_currency>EUR</annually_currency>\
        <restore>60</restore><restore_currency>EUR</restore_currency>";

    #[test]
    fn fees_follow_the_cost_model() {
        let list = price_list_from(&ret_of(&item("net", "", FULL)));
        let net = Tld::parse("net").unwrap();
        let cost = |op, n| list.costs.cost(&net, op, y(n)).unwrap().amount;
        assert_eq!(cost(PriceOperation::Renew, 1), dec!(11.20));
        assert_eq!(cost(PriceOperation::Renew, 3), dec!(33.60));
        assert_eq!(cost(PriceOperation::Register, 1), dec!(12.70));
        assert_eq!(cost(PriceOperation::Register, 2), dec!(23.90));
        // A free transfer fee is a real price: the transfer costs the first year.
        assert_eq!(cost(PriceOperation::Transfer, 1), dec!(11.20));
        assert_eq!(cost(PriceOperation::Restore, 1), dec!(60));
        assert!(list
            .costs
            .cost(&net, PriceOperation::Restore, y(2))
            .is_none());
        assert!(list.unreadable.is_empty());
    }

    #[test]
    fn fees_smartnic_does_not_send_are_not_offered_never_free() {
        let fields = "<annually>4.2</annually><annually_currency>EUR</annually_currency>\
            <regSetup>0</regSetup><kk_setup xsi:nil=\"true\"/>";
        let list = price_list_from(&ret_of(&item("de", "", fields)));
        let de = Tld::parse("de").unwrap();
        assert!(list
            .costs
            .cost(&de, PriceOperation::Register, y(1))
            .is_some());
        assert_eq!(list.costs.cost(&de, PriceOperation::Transfer, y(1)), None);
        assert_eq!(list.costs.cost(&de, PriceOperation::Restore, y(1)), None);
    }

    #[test]
    fn a_zone_that_cannot_be_read_is_named_not_priced_at_zero() {
        let items = [
            item("shop", "", "<regSetup>1</regSetup>"),
            item("uk", "co", "<annually>abc</annually>"),
            item("io", "", "<annually>5</annually><annually_currency>Euro</annually_currency>"),
            item(
                "xyz",
                "",
                "<annually>5</annually><regSetup>1</regSetup><reg_setup_currency>USD</reg_setup_currency>",
            ),
            item("ai", "", "<annually>5</annually><lifetime>18</lifetime><lifetime_entity>month</lifetime_entity>"),
            "<item><tld>club</tld><activated>false</activated><annually>1</annually></item>".into(),
        ];
        let list = price_list_from(&ret_of(&items.concat()));
        let tld = |s| Tld::parse(s).unwrap();
        assert!(list.unreadable[&tld("shop")].contains("no yearly fee"));
        assert!(list.unreadable[&tld("co.uk")].contains("`abc`"));
        assert!(list.unreadable[&tld("io")].contains("`Euro`"));
        assert!(list.unreadable[&tld("xyz")].contains("different currencies"));
        assert!(list.unreadable[&tld("ai")].contains("`18 month`"));
        assert!(!list.unreadable.contains_key(&tld("club")));
        assert!(list.costs.is_empty(), "nothing priced from bad entries");
    }

    #[test]
    fn a_zone_billed_per_two_years_prices_even_terms_only() {
        let fields = "<lifetime>2</lifetime><lifetime_entity>year</lifetime_entity>\
            <annually>100</annually><regSetup>0</regSetup>";
        let list = price_list_from(&ret_of(&item("ai", "", fields)));
        let ai = Tld::parse("ai").unwrap();
        assert_eq!(list.costs.cost(&ai, PriceOperation::Renew, y(1)), None);
        assert_eq!(
            list.costs
                .cost(&ai, PriceOperation::Register, y(4))
                .unwrap()
                .amount,
            dec!(200)
        );
        assert_eq!(list.costs.cost(&ai, PriceOperation::Register, y(3)), None);
    }
}
