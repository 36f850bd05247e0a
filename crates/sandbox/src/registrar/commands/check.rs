//! CheckDomains: availability, with the premium and fee answers.

use super::prices::{fee_for, push_fee};
use super::*;

/// The fee columns of a CNR check with `X-FEE-COMMAND`.
const FEE_COLUMNS: [&str; 8] = [
    "x-fee-amount",
    "x-fee-application",
    "x-fee-class",
    "x-fee-command",
    "x-fee-currency",
    "x-fee-domain",
    "x-fee-period",
    "x-fee-periodtype",
];

/// One name of a check, as the sandbox sees it.
struct Candidate {
    /// Its place in the command (`DOMAIN<i>`, `X-FEE-COMMAND<i>`).
    index: usize,
    /// `None` for a name that does not parse.
    name: Option<DomainName>,
    /// The record when the name is in this account.
    ours: Option<(DomainKey, DomainRecord)>,
    registered: bool,
}

pub(super) fn check_domains(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(
        state,
        cmd,
        &["DOMAIN#", "DOMAIN", "X-FEE-*", "PREMIUMCHANNELS"],
    )?;
    let names = checked_names(state, cmd)?;
    let premium_channels = cmd.get("PREMIUMCHANNELS").is_some();
    let any_fee = cmd.params().any(|(k, _)| k.starts_with("X-FEE-COMMAND"));
    let mut r = Reply::ok();
    let mut columns = vec!["domaincheck", "domainchecktime"];
    if any_fee {
        columns.extend(FEE_COLUMNS);
    }
    push_columns(state, &mut r, &columns);
    for (index, raw) in names.iter().enumerate() {
        let name = DomainName::parse(raw).ok();
        let candidate = Candidate {
            index,
            ours: name
                .as_ref()
                .and_then(|n| state.find(n))
                .filter(|(_, rec)| rec.present),
            registered: name
                .as_ref()
                .is_some_and(|n| state.is_registered_anywhere(n)),
            name,
        };
        match state.dialect {
            Dialect::Cnr => push_cnr_check(state, cmd, &mut r, &candidate, any_fee),
            _ => push_ispapi_check(state, &mut r, &candidate, premium_channels),
        }
    }
    Ok(r)
}

/// The names to check (`DOMAIN0…`, or a single `DOMAIN`), within CNR's limits.
fn checked_names(state: &State, cmd: &Command) -> Result<Vec<String>, Reply> {
    let mut names: Vec<String> = cmd
        .get_list("DOMAIN")
        .into_iter()
        .map(String::from)
        .collect();
    if names.is_empty() {
        if let Some(single) = cmd.get("DOMAIN") {
            names.push(single.to_string());
        }
    }
    if names.is_empty() {
        return Err(missing("DOMAIN0"));
    }
    if state.dialect == Dialect::Cnr && names.len() > CNR_CHECK_LIMIT {
        return Err(Reply::syntax_error(
            503,
            format!("Invalid attribute name; DOMAIN{CNR_CHECK_LIMIT}"),
        ));
    }
    if state.dialect == Dialect::Cnr {
        // At most 30 X-FEE extensions per call (kb x-fee-parameters).
        if let Some((key, _)) = cmd.params().find(|(k, _)| {
            k.strip_prefix("X-FEE-")
                .map(|rest| rest.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '-'))
                .and_then(|digits| digits.parse::<usize>().ok())
                .is_some_and(|i| i >= CNR_FEE_LIMIT)
        }) {
            return Err(Reply::syntax_error(
                503,
                format!("Invalid attribute name; {key}"),
            ));
        }
    }
    Ok(names)
}

/// One CNR check row, with its fee when the command asks for fees.
fn push_cnr_check(state: &State, cmd: &Command, r: &mut Reply, c: &Candidate, any_fee: bool) {
    let check = match &c.name {
        None => "541 Invalid attribute value",
        Some(_) if c.registered => "211 Domain name not available",
        Some(_) => "210 Domain name available",
    };
    r.push("domaincheck", check);
    r.push("domainchecktime", 0);
    if !any_fee {
        return;
    }
    let i = c.index;
    let command = cmd
        .get(&format!("X-FEE-COMMAND{i}"))
        .or_else(|| cmd.get("X-FEE-COMMAND"));
    let period = cmd
        .get(&format!("X-FEE-PERIOD{i}"))
        .or_else(|| cmd.get("X-FEE-PERIOD"))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(1u32)
        .clamp(1, 10);
    let ours = c.ours.as_ref().map(|(_, rec)| rec);
    let fee = match (&c.name, command) {
        (Some(name), Some(command)) => fee_for(state, ours, name, command, period),
        _ => None,
    };
    match (fee, &c.name) {
        (Some(fee), Some(name)) => push_fee(r, &fee, name),
        _ => {
            for column in FEE_COLUMNS {
                r.push(column, "");
            }
        }
    }
}

/// One ISPAPI check row, with the premium columns when `PREMIUMCHANNELS` is given.
fn push_ispapi_check(state: &State, r: &mut Reply, c: &Candidate, premium_channels: bool) {
    let free_premium = c
        .name
        .as_ref()
        .filter(|_| !c.registered)
        .and_then(registry_premium_price);
    let check = match &c.name {
        None => "541 Invalid attribute value",
        Some(_) if c.registered => "211 Domain name not available",
        Some(_) if free_premium.is_some() && premium_channels => {
            "211 Premium Domain name available [PREMIUM]"
        }
        Some(_) if free_premium.is_some() => "211 Domain name not available",
        Some(_) => "210 Available",
    };
    r.push("domaincheck", check);
    r.push("domainchecktime", "0.012");
    if !premium_channels {
        return;
    }
    let held_premium = c.ours.as_ref().and_then(|(_, rec)| rec.premium.clone());
    let (class, price) = match (&held_premium, free_premium, &c.name, &c.ours) {
        (Some(p), _, _, Some((_, rec))) => {
            (p.class.to_string(), format_price(state.renew_price(rec)))
        }
        (None, Some(price), Some(name), _) => (premium_class_for(state, name), format_price(price)),
        _ => (String::new(), String::new()),
    };
    let is_premium = !class.is_empty();
    r.push("class", &class);
    r.push("currency", if is_premium { account_currency() } else { "" });
    r.push("premiumchannel", if is_premium { "SANDBOX" } else { "" });
    r.push("price", price);
    r.push(
        "reason",
        if is_premium {
            "Premium Domain Name"
        } else {
            ""
        },
    );
}
