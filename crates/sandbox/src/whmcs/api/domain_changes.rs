//! UpdateClientDomain, DomainRenew and DomainTransfer.
use super::domains::{find_domain, recalculated_amount};
use crate::portfolio::add_years;
use crate::whmcs::call::valid_date;
use crate::whmcs::call::{obj, ymd, Answer, Fail, Params};
use crate::whmcs::store::Val;
use crate::whmcs::State;
use rust_decimal::Decimal;
use serde_json::{json, Map};
use std::str::FromStr;

pub(super) async fn update_client_domain(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let domain = find_domain(state, p, "Domain ID Not Found").await?;
    if let Some(method) = p.nonempty("paymentmethod") {
        crate::whmcs::clients::check_payment_method(state, method).await?;
    }
    let mut sets = domain_changes(p)?;
    // WHMCS 8: recalculation runs when the key is present at all and ignores recurringamount.
    if p.has("autorecalc") {
        if let Some(amount) = recalculated_amount(state, &domain).await? {
            sets.retain(|(column, _)| *column != "recurringamount");
            sets.push(("recurringamount", Val::text(format!("{amount:.2}"))));
        }
    }
    if !sets.is_empty() {
        let assignments: Vec<String> = sets.iter().map(|(c, _)| format!("{c} = ?")).collect();
        let mut params: Vec<Val> = sets.into_iter().map(|(_, v)| v).collect();
        params.push(Val::Int(domain.int("id")));
        state
            .store
            .execute(
                &format!(
                    "UPDATE tbldomains SET {} WHERE id = ?",
                    assignments.join(", ")
                ),
                &params,
            )
            .await?;
    }
    Ok(obj(json!({ "domainid": domain.int("id") })))
}

/// The columns the call sets, read the way WHMCS reads them: texts and numbers here,
/// the status, dates and flags in [`status_date_and_flag_changes`].
fn domain_changes(p: &Params) -> Result<Vec<(&'static str, Val)>, Fail> {
    let mut sets: Vec<(&'static str, Val)> = Vec::new();
    // Scalars are only written when non-empty in PHP's sense: "" and "0" are skipped.
    for (field, column) in [
        ("type", "type"),
        ("registrar", "registrar"),
        ("paymentmethod", "paymentmethod"),
        ("subscriptionid", "subscriptionid"),
        ("notes", "additionalnotes"),
        ("domain", "domain"),
    ] {
        if let Some(value) = p.nonempty(field) {
            if field != "domain" || p.has("domainid") {
                sets.push((column, Val::text(value)));
            }
        }
    }
    for (field, column) in [("regperiod", "registrationperiod"), ("promoid", "promoid")] {
        if let Some(value) = p.nonempty(field) {
            let n: i64 = value
                .trim()
                .parse()
                .map_err(|_| Fail::new(format!("Invalid {field}")))?;
            sets.push((column, Val::Int(n)));
        }
    }
    for (field, column) in [
        ("firstpaymentamount", "firstpaymentamount"),
        ("recurringamount", "recurringamount"),
    ] {
        if let Some(value) = p.nonempty(field) {
            let amount = Decimal::from_str(value.trim())
                .map_err(|_| Fail::new(format!("Invalid {field}")))?;
            sets.push((column, Val::text(format!("{:.2}", amount.round_dp(2)))));
        }
    }
    sets.extend(status_date_and_flag_changes(p)?);
    Ok(sets)
}

/// The status (checked like the ENUM column), the dates, and the flags.
fn status_date_and_flag_changes(p: &Params) -> Result<Vec<(&'static str, Val)>, Fail> {
    let mut sets: Vec<(&'static str, Val)> = Vec::new();
    if let Some(status) = p.nonempty("status") {
        // Not validated by WHMCS; the ENUM column decides. Mirror that for SQLite too.
        if !crate::whmcs::schema::DOMAIN_STATUSES.contains(&status) {
            return Err(Fail::new(format!("Invalid domain status: {status}")));
        }
        sets.push(("status", Val::text(status)));
    }
    for (field, column) in [
        ("regdate", "registrationdate"),
        ("expirydate", "expirydate"),
    ] {
        if let Some(value) = p.nonempty(field) {
            sets.push((column, Val::text(valid_date(value)?)));
        }
    }
    if let Some(value) = p.nonempty("nextduedate") {
        let date = valid_date(value)?;
        sets.push(("nextduedate", Val::text(date.clone())));
        sets.push(("nextinvoicedate", Val::text(date)));
    }
    // Flags are written when the key is present: PHP empty() -> 0, anything else -> 1.
    for flag in [
        "dnsmanagement",
        "emailforwarding",
        "idprotection",
        "donotrenew",
    ] {
        if p.has(flag) {
            sets.push((flag, Val::Int(i64::from(p.truthy(flag)))));
        }
    }
    Ok(sets)
}

pub(super) fn registrar_failure(state: &State, domain_id: i64) -> Option<Fail> {
    let failures = state
        .registrar_failures
        .lock()
        .expect("registrar failure map");
    failures.get(&(domain_id as u64)).map(|error| Fail {
        message: "Registrar Error Message".into(),
        registrar_error: Some(error.clone()),
        status: 200,
    })
}

pub(super) async fn domain_renew(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let domain = find_domain(state, p, "Domain Not Found").await?;
    let id = domain.int("id");
    let mut period = domain.int("registrationperiod").max(1);
    if let Some(years) = p.int("regperiod").filter(|y| *y > 0) {
        // The new period is persisted before the registrar is called.
        period = years;
        state
            .store
            .execute(
                "UPDATE tbldomains SET registrationperiod = ? WHERE id = ?",
                &[Val::Int(period), Val::Int(id)],
            )
            .await?;
    }
    if let Some(fail) = registrar_failure(state, id) {
        return Err(fail);
    }
    let base = domain.date_opt("expirydate").unwrap_or(state.today);
    let expiry = add_years(base, period as i32);
    state
        .store
        .execute(
            "UPDATE tbldomains SET expirydate = ?, status = 'Active', reminders = '' WHERE id = ?",
            &[Val::text(ymd(expiry)), Val::Int(id)],
        )
        .await?;
    Ok(Map::new())
}

pub(super) async fn domain_transfer(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let domain = find_domain(state, p, "Domain Not Found").await?;
    let id = domain.int("id");
    if let Some(fail) = registrar_failure(state, id) {
        return Err(fail);
    }
    state
        .store
        .execute(
            "UPDATE tbldomains SET status = 'Pending Transfer', type = 'Transfer' WHERE id = ?",
            &[Val::Int(id)],
        )
        .await?;
    Ok(Map::new())
}
