//! `priceDomainList` of the Smart-NIC sandbox: the shared registrar price list
//! ([`crate::price_list`], 1,500+ zones) in Smart-NIC's shape, with the zone prices a
//! scripted `zone_price` event changed.
//!
//! The fees follow the client's cost model: `regSetup` and `kk_setup` are what a
//! registration or transfer costs on top of the yearly fee (`annually`), so the first year
//! costs the same as at the CNR sandbox. Every ninth generated zone has no restore at
//! Smart-NIC (`<restore xsi:nil="true"/>`): not offered, not free.

use super::soap::string;
use crate::portfolio::ZONES;
use crate::price_list::{listed_zone, price_list, ListedZone};
use crate::registrar::state::ZonePrices;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A zone's current prices: the override of a `zone_price` event, else the shared list.
pub fn current(overrides: &BTreeMap<String, ZonePrices>, zone: &ListedZone) -> ZonePrices {
    overrides.get(&zone.zone).copied().unwrap_or(ZonePrices {
        register: zone.register,
        renew: zone.renew,
        transfer: zone.transfer,
    })
}

/// The `zone_price` event: `renew` and, when given, `register` and `transfer` change.
pub fn set_zone_price(
    overrides: &mut BTreeMap<String, ZonePrices>,
    zone: &str,
    renew: Decimal,
    register: Option<Decimal>,
    transfer: Option<Decimal>,
) -> Result<String, String> {
    let zone = zone.trim().trim_start_matches('.').to_ascii_lowercase();
    let listed = listed_zone(&zone)
        .ok_or_else(|| format!("zone {zone} is not in the sandbox price list"))?;
    let now = current(overrides, listed);
    overrides.insert(
        zone.clone(),
        ZonePrices {
            register: register.unwrap_or(now.register),
            renew,
            transfer: transfer.unwrap_or(now.transfer),
        },
    );
    Ok(format!("zone {zone} renews at {renew} now"))
}

/// The `<priceDomainList>` array of the answer.
pub fn price_domain_list(overrides: &BTreeMap<String, ZonePrices>) -> String {
    let mut out = String::from("<priceDomainList xsi:type=\"ns1:ArrayOfPricedomainlist\">");
    for (index, zone) in price_list().iter().enumerate() {
        let prices = current(overrides, zone);
        let (sld, tld) = zone.zone.split_once('.').unwrap_or(("", &zone.zone));
        let float = |name: &str, value: Decimal| {
            format!(
                "<{name} xsi:type=\"xsd:float\">{}</{name}>",
                value.normalize()
            )
        };
        let restore = if index >= ZONES.len() && index % 9 == 0 {
            "<restore xsi:nil=\"true\"/><restore_currency xsi:nil=\"true\"/>".to_string()
        } else {
            float("restore", zone.restore) + &string("restore_currency", "EUR")
        };
        let _ = write!(
            out,
            "<item xsi:type=\"ns1:PriceDomainList\">{}{}<activated xsi:type=\"xsd:boolean\">true</activated>\
             <lifetime xsi:type=\"xsd:float\">1</lifetime>{}{}{}{}{}{}{}{restore}{}{}{}{}</item>",
            string("tld", tld),
            string("sld", sld),
            string("lifetime_entity", "year"),
            float("regSetup", (prices.register - prices.renew).max(Decimal::ZERO)),
            string("reg_setup_currency", "EUR"),
            float("kk_setup", (prices.transfer - prices.renew).max(Decimal::ZERO)),
            string("kk_setup_currency", "EUR"),
            float("annually", prices.renew),
            string("annually_currency", "EUR"),
            float("ownerchange", Decimal::ZERO),
            string("ownerchange_currency", "EUR"),
            float("update", Decimal::ZERO),
            string("update_currency", "EUR"),
        );
    }
    out.push_str("</priceDomainList>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn the_list_has_every_zone_and_a_price_rise_changes_one() {
        let mut overrides = BTreeMap::new();
        let xml = price_domain_list(&overrides);
        assert_eq!(xml.matches("<item ").count(), price_list().len());
        for (sld, tld) in [("", "de"), ("", "com"), ("co", "uk")] {
            assert!(
                xml.contains(&format!(
                    "<tld xsi:type=\"xsd:string\">{tld}</tld><sld xsi:type=\"xsd:string\">{sld}</sld>"
                )),
                "{sld}.{tld}"
            );
        }
        set_zone_price(&mut overrides, ".NET", dec!(20.00), None, None).unwrap();
        let risen = price_domain_list(&overrides);
        assert!(risen.contains("<annually xsi:type=\"xsd:float\">20</annually>"));
        assert!(set_zone_price(&mut overrides, "museum", dec!(1), None, None).is_err());
    }
}
