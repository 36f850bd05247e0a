//! GetCurrencies and GetTLDPricing.
use crate::whmcs::call::{obj, Answer, Fail, Params};
use crate::whmcs::store::{Row, Val};
use crate::whmcs::State;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

pub(super) fn currency_json(row: &Row) -> Value {
    json!({
        "id": row.int("id"),
        "code": row.text("code"),
        "prefix": row.text("prefix"),
        "suffix": row.text("suffix"),
        "format": row.int("format"),
        "rate": format!("{:.5}", row.decimal("rate")),
    })
}

pub(super) async fn get_currencies(state: &State) -> Answer {
    let rows = state
        .store
        .query("SELECT * FROM tblcurrencies ORDER BY id", &[])
        .await?;
    let list: Vec<Value> = rows.iter().map(currency_json).collect();
    Ok(obj(json!({
        "totalresults": list.len(),
        "currencies": { "currency": list },
    })))
}

/// The `tblpricing` column of each term, 1..=10 years.
pub(super) use domwatch_core::pricing::TBLPRICING_COLUMNS as YEAR_COLUMNS;

pub(super) async fn get_tld_pricing(state: &State, p: &Params) -> Answer {
    let currency_id = if let Some(client) = p.nonempty("clientid") {
        state
            .store
            .query_one(
                "SELECT currency FROM tblclients WHERE id = ?",
                &[Val::text(client)],
            )
            .await?
            .map(|r| r.int("currency"))
            .ok_or_else(|| Fail::new("Client Not Found"))?
    } else {
        p.int("currencyid").unwrap_or(1)
    };
    let currency = state
        .store
        .query_one(
            "SELECT * FROM tblcurrencies WHERE id = ?",
            &[Val::Int(currency_id)],
        )
        .await?
        .ok_or_else(|| Fail::new("Invalid Currency ID"))?;
    let tlds = state
        .store
        .query("SELECT * FROM tbldomainpricing ORDER BY `order`, id", &[])
        .await?;
    let prices = state
        .store
        .query(
            "SELECT * FROM tblpricing WHERE currency = ? AND type IN ('domainregister','domaintransfer','domainrenew') AND tsetupfee = '0.00'",
            &[Val::Int(currency_id)],
        )
        .await?;
    let mut pricing = Map::new();
    for tld in &tlds {
        let (name, entry) = tld_entry(tld, &prices, currency.decimal("rate"));
        pricing.insert(name, entry);
    }
    Ok(obj(json!({
        "currency": currency_json(&currency),
        "pricing": pricing,
    })))
}

/// One TLD of GetTLDPricing: its prices per year for register, transfer and renew, and
/// the fixed fields WHMCS adds.
fn tld_entry(tld: &Row, prices: &[Row], rate: Decimal) -> (String, Value) {
    let mut entry = Map::new();
    for (kind, key) in [
        ("domainregister", "register"),
        ("domaintransfer", "transfer"),
        ("domainrenew", "renew"),
    ] {
        let mut by_years = Map::new();
        if let Some(row) = prices
            .iter()
            .find(|r| r.text("type") == kind && r.int("relid") == tld.int("id"))
        {
            for (i, column) in YEAR_COLUMNS.iter().enumerate() {
                let price = row.decimal(column);
                let enabled = if kind == "domainrenew" {
                    price > Decimal::ZERO
                } else {
                    price >= Decimal::ZERO
                };
                if enabled {
                    by_years.insert((i + 1).to_string(), json!(format!("{price:.2}")));
                }
            }
        }
        entry.insert(key.into(), Value::Object(by_years));
    }
    let name = tld.text("extension").trim_start_matches('.').to_string();
    entry.insert("tld".into(), json!(name));
    entry.insert("categories".into(), json!(["Other"]));
    entry.insert(
        "addons".into(),
        json!({"dns": true, "email": true, "idprotect": true}),
    );
    entry.insert("group".into(), json!(tld.text("group")));
    entry.insert("grace_period".into(), Value::Null);
    entry.insert("redemption_period".into(), redemption(tld, rate));
    (name, Value::Object(entry))
}

/// `redemption_period`: days and the restore fee in the asked currency (WHMCS keeps the fee
/// in the default currency and converts it), or null when WHMCS charges none (`-1`).
fn redemption(tld: &Row, rate: Decimal) -> Value {
    let fee = tld.decimal("redemption_grace_period_fee");
    if fee < Decimal::ZERO {
        return Value::Null;
    }
    json!({
        "days": tld.int("redemption_grace_period"),
        "price": format!("{:.2}", (fee * rate).round_dp(2)),
    })
}
