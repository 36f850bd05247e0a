//! TransferDomain, StatusDomainTransfer and QueryTransferList.

use super::lists::refuse_filters;
use super::prices::{push_fee, Fee};
use super::renewals::premium_accepted;
use super::*;
use crate::registrar::state::ZonePrices;

/// The attributes `TransferDomain` accepts.
const TRANSFER_ATTRIBUTES: &[&str] = &[
    "DOMAIN",
    "ACTION",
    "AUTH",
    "PERIOD",
    "OWNERCONTACT#",
    "ADMINCONTACT#",
    "TECHCONTACT#",
    "BILLINGCONTACT#",
    "NAMESERVER#",
    "TRANSFERLOCK",
    "FORCEREQUEST",
    "ACCEPT-TRADE",
    "TOKEN",
    "X-FEE-*",
    "X-ACCEPT-PREMIUMPRICE",
];

type Found = Option<(DomainKey, DomainRecord)>;

pub(super) fn transfer_domain(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(state, cmd, TRANSFER_ATTRIBUTES)?;
    let name = domain_param(cmd)?;
    let action = cmd
        .get("ACTION")
        .unwrap_or("REQUEST")
        .trim()
        .to_ascii_uppercase();
    let existing = state.find(&name);
    match action.as_str() {
        "REQUEST" | "" => {}
        "CANCEL" => return cancel_transfer(state, existing),
        _ => return Err(Reply::new(541, "Invalid attribute value; ACTION")),
    }
    refuse_second_transfer(&existing)?;
    if cmd.get("AUTH").is_none_or(|a| a.trim().is_empty()) {
        return Err(missing("AUTH"));
    }
    let zone = state.zone_prices(name.zone()).ok_or_else(|| {
        Reply::new(
            541,
            format!(
                "Invalid attribute value; zone {} is not offered",
                name.zone()
            ),
        )
    })?;
    let (premium_class, cost) = transfer_cost(state, &name, &existing, &zone);
    if let Some(class) = &premium_class {
        premium_accepted(state, cmd, class, cost)?;
    }
    if !state.charge(cost) {
        return Err(Reply::new(546, "Credit limit exceeded"));
    }
    start_transfer(state, &name, existing, zone, premium_class.as_deref(), cost);
    Ok(transfer_reply(state, &name, premium_class.is_some(), cost))
}

fn pending(rec: &DomainRecord) -> bool {
    matches!(
        rec.transfer,
        Some(TransferRecord {
            status: TransferStatus::Pending,
            ..
        })
    )
}

/// `ACTION=CANCEL`: the gaining registrar withdraws its pending transfer.
fn cancel_transfer(state: &mut State, existing: Found) -> Outcome {
    let Some((key, rec)) = existing else {
        return Err(not_found(state));
    };
    if !pending(&rec) {
        return Err(Reply::new(
            547,
            "Invalid command sequence; no pending transfer",
        ));
    }
    let today = state.today();
    state.update(&key, |r| {
        if let Some(t) = &mut r.transfer {
            t.status = TransferStatus::Failed("cancelled by the gaining registrar".into());
            t.log
                .push(format!("{today} 10:00:00 [CANCELLED] transfer cancelled"));
        }
    });
    Ok(Reply::ok())
}

/// A domain already in the account, or already on its way in, cannot be transferred.
fn refuse_second_transfer(existing: &Found) -> Result<(), Reply> {
    let Some((_, rec)) = existing else {
        return Ok(());
    };
    if rec.present {
        return Err(Reply::new(
            540,
            "Attribute value is not unique; DOMAIN is already assigned to your account",
        ));
    }
    if pending(rec) {
        return Err(Reply::new(
            553,
            "Operation not allowed. Object pending transfer",
        ));
    }
    Ok(())
}

/// The premium class (if any) and the price of transferring `name` in.
fn transfer_cost(
    state: &State,
    name: &DomainName,
    existing: &Found,
    zone: &ZonePrices,
) -> (Option<String>, Decimal) {
    match existing {
        Some((_, rec)) => (
            rec.premium.as_ref().map(|p| p.class.to_string()),
            state.transfer_price(rec),
        ),
        None => match registry_premium_price(name) {
            Some(price) => (Some(premium_class_for(state, name)), price),
            None => (None, zone.transfer),
        },
    }
}

/// Records the pending transfer, on a new record when the domain was never seen.
fn start_transfer(
    state: &mut State,
    name: &DomainName,
    existing: Found,
    zone: ZonePrices,
    premium_class: Option<&str>,
    cost: Decimal,
) {
    let today = state.today();
    let key = match existing {
        Some((key, _)) => key,
        None => {
            let mut rec = state.new_extra_record(name.clone(), zone);
            if let Some(class) = premium_class {
                rec.premium = Some(domwatch_core::model::PremiumInfo {
                    class: class.into(),
                });
                rec.renew_price = cost;
                rec.transfer_price = cost;
            }
            state.insert_extra(rec)
        }
    };
    state.update(&key, |r| {
        r.transfer = Some(TransferRecord {
            requested: today,
            status: TransferStatus::Pending,
            log: vec![format!(
                "{today} 10:00:00 [INITIATED] domain transfer initiated"
            )],
        });
    });
}

/// "Transfer initiated" in the dialect's words, with the premium fee on CNR.
fn transfer_reply(state: &State, name: &DomainName, premium: bool, cost: Decimal) -> Reply {
    let mut r = match state.dialect {
        Dialect::Cnr => {
            let mut r = Reply::ok();
            r.push("transferstatus", "pending");
            r
        }
        _ => {
            let mut r = Reply::new(
                200,
                "Command completed successfully; domain transfer initiated",
            );
            r.top("pending", 1);
            r
        }
    };
    if state.dialect == Dialect::Cnr && premium {
        let fee = Fee {
            command: "transfer".into(),
            amount: cost,
            class: "premium",
            period: 1,
        };
        push_fee(&mut r, &fee, name);
    }
    r
}

pub(super) fn status_domain_transfer(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(state, cmd, &["DOMAIN"])?;
    let name = domain_param(cmd)?;
    let Some((_, rec)) = state.find(&name) else {
        return Err(not_found(state));
    };
    let Some(transfer) = rec
        .transfer
        .as_ref()
        .filter(|t| t.status != TransferStatus::Completed)
    else {
        return Err(not_found(state));
    };
    let mut r = Reply::ok();
    let (status_cnr, status_hx) = match &transfer.status {
        TransferStatus::Pending => ("pending", "PENDING"),
        TransferStatus::Failed(_) => ("failed", "FAILED"),
        TransferStatus::Completed => unreachable!("filtered above"),
    };
    let requested = stamp(
        state,
        transfer.requested,
        NaiveTime::from_hms_opt(10, 0, 0).expect("valid"),
    );
    match state.dialect {
        Dialect::Cnr => {
            r.push("domain", name.ascii());
            r.push("transferstatus", status_cnr);
            r.push("transfertype", "INCOMING");
            r.push("created date", &requested);
        }
        _ => {
            r.push("transferstatus", status_hx);
            r.push("transfertype", "INCOMING");
            r.push("createddate", &requested);
            r.push(
                "updateddate",
                stamp(
                    state,
                    rec.updated,
                    NaiveTime::from_hms_opt(10, 5, 0).expect("valid"),
                ),
            );
        }
    }
    if let TransferStatus::Failed(reason) = &transfer.status {
        r.push("transferstatusreason", reason);
    }
    for line in &transfer.log {
        r.push("transferlog", line);
    }
    Ok(r)
}

/// Incoming transfers in bulk. CNR (`WIDE=1`) lists pending and failed transfers with
/// `domain transfer status` (the docs name the column `DOMAINTRANSFERSTATUS` and list
/// FAILED among its values; the spaced wire spelling follows CNR's other list columns and
/// is unverified). ISPAPI documents no status column, so the sandbox lists only transfers
/// still in progress there, with `CREATEDDATE`, `DOMAINUMLAUT` and `USER`.
pub(super) fn query_transfer_list(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(
        state,
        cmd,
        &[
            "DOMAIN",
            "WIDE",
            "GENERATELIST",
            "SENDLISTEMAIL",
            "FIRST",
            "LIMIT",
        ],
    )?;
    refuse_filters(
        cmd,
        &["DOMAIN", "USERDEPTH", "MINCREATEDDATE", "MAXCREATEDDATE"],
    )?;
    let (first, limit) = paging(cmd)?;
    let wide = flag(cmd, "WIDE");
    let mut all = state.open_transfers();
    if state.dialect != Dialect::Cnr {
        all.retain(|r| {
            r.transfer
                .as_ref()
                .is_some_and(|t| t.status == TransferStatus::Pending)
        });
    }
    let page: Vec<&DomainRecord> = all.iter().skip(first).take(limit).collect();
    let mut r = Reply::ok();
    match state.dialect {
        Dialect::Cnr => push_cnr_transfer_rows(state, &mut r, &page, wide),
        _ => push_ispapi_transfer_rows(state, &mut r, &page),
    }
    push_paging(&mut r, first, page.len(), limit, all.len());
    Ok(r)
}

/// CNR's transfer list: the domain, and with `WIDE=1` its transfer status.
fn push_cnr_transfer_rows(state: &State, r: &mut Reply, page: &[&DomainRecord], wide: bool) {
    let mut columns = vec!["domain"];
    if wide {
        columns.push("domain transfer status");
    }
    push_columns(state, r, &columns);
    for column in &columns {
        r.declare(column);
    }
    for rec in page {
        r.push("domain", rec.name.ascii());
        if wide {
            let status = match rec.transfer.as_ref().map(|t| &t.status) {
                Some(TransferStatus::Failed(_)) => "FAILED",
                _ => "PENDING",
            };
            r.push("domain transfer status", status);
        }
    }
}

/// ISPAPI's transfer list: the pending transfers with their request day.
fn push_ispapi_transfer_rows(state: &State, r: &mut Reply, page: &[&DomainRecord]) {
    for column in ["createddate", "domain", "domainumlaut", "user"] {
        r.declare(column);
    }
    for rec in page {
        let requested = rec
            .transfer
            .as_ref()
            .map(|t| t.requested)
            .unwrap_or(rec.created);
        r.push(
            "createddate",
            stamp(
                state,
                requested,
                NaiveTime::from_hms_opt(10, 0, 0).expect("valid"),
            ),
        );
        r.push("domain", rec.name.ascii());
        r.push("domainumlaut", rec.name.unicode());
        r.push("user", &state.account.login);
    }
}
