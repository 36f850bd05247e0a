//! What `domwatch doctor` asks WHMCS, without changing anything: does the URL answer as
//! WHMCS does, are the credentials and this host's IP accepted, which version runs, and
//! may the credential's API role call every action domwatch uses.
//!
//! WHMCS checks the IP allow-list, the credentials and the API role *before* it runs an
//! action, and refuses an action outside the role with HTTP 403 `Invalid Permissions`. So
//! each action is called with arguments that make it answer on its own terms without
//! doing anything: reads fetch one row, writes name id 0, which WHMCS answers with
//! "… Not Found" (or "… is required"). Any answer other than the 403 proves the role
//! allows the action; `Command Not Found` means this WHMCS version lacks it.

use crate::api::{ActionKind, WhmcsClient};
use crate::error::WhmcsError;
use crate::json;

/// One action domwatch calls, how to call it harmlessly, and what it is needed for.
#[derive(Debug, Clone, Copy)]
pub struct ActionProbe {
    /// As WHMCS lists it under API Roles.
    pub action: &'static str,
    pub kind: ActionKind,
    /// Arguments under which the action reads one row or finds nothing to change.
    pub params: &'static [(&'static str, &'static str)],
    pub needed_for: &'static str,
}

const fn read(
    action: &'static str,
    params: &'static [(&'static str, &'static str)],
    needed_for: &'static str,
) -> ActionProbe {
    ActionProbe {
        action,
        kind: ActionKind::Read,
        params,
        needed_for,
    }
}

const fn write(
    action: &'static str,
    params: &'static [(&'static str, &'static str)],
    needed_for: &'static str,
) -> ActionProbe {
    ActionProbe {
        action,
        kind: ActionKind::Write,
        params,
        needed_for,
    }
}

const ONE_ROW: &[(&str, &str)] = &[("limitstart", "0"), ("limitnum", "1")];

/// Every action domwatch calls. The writes name id 0, which no WHMCS object has.
pub const ACTION_PROBES: &[ActionProbe] = &[
    read("GetClientsDomains", ONE_ROW, "reading the domains"),
    read(
        "GetClientsDetails",
        &[("clientid", "0")],
        "client currencies",
    ),
    read("GetCurrencies", &[], "currencies and rates"),
    read("GetTLDPricing", &[], "the TLD price monitor"),
    read("GetInvoices", ONE_ROW, "renewal invoices"),
    read("GetInvoice", &[("invoiceid", "0")], "renewal invoices"),
    read("GetTickets", ONE_ROW, "finding its own tickets"),
    read("GetToDoItems", ONE_ROW, "finding its own to-dos"),
    write(
        "UpdateClientDomain",
        &[("domainid", "0")],
        "Fix now (prices, dates, add-ons)",
    ),
    write(
        "UpdateInvoice",
        &[("invoiceid", "0")],
        "Fix now (invoice lines)",
    ),
    write("DomainRenew", &[("domainid", "0")], "Fix now (renewals)"),
    write(
        "DomainTransfer",
        &[("domainid", "0")],
        "Fix now (transfers)",
    ),
    write("OpenTicket", &[("deptid", "0")], "notice tickets"),
    write("AddTicketReply", &[("ticketid", "0")], "notice tickets"),
    write(
        "SendAdminEmail",
        &[("messagename", "domwatch doctor: no such template")],
        "admin e-mail notices",
    ),
    write("LogActivity", &[], "the activity log"),
    write(
        "UpdateToDoItem",
        &[("itemid", "0")],
        "closing its own to-dos",
    ),
];

/// What the first call (WhmcsDetails) showed about reaching WHMCS at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// WHMCS answered and accepted the credentials and this host's IP.
    Open,
    /// The URL does not answer as WHMCS does (no connection, HTML, a proxy error, …).
    NotWhmcs(String),
    /// The IP allow-list refused this host; `ip` is the address WHMCS saw.
    IpRefused { ip: Option<String>, message: String },
    /// WHMCS answered but refused the credentials (or the access key).
    LoginRefused(String),
}

/// What one action's probe showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// HTTP 403 `Invalid Permissions`: tick it in the API role.
    NotAllowed,
    /// `Command Not Found`: this WHMCS version does not have the action.
    Missing,
    /// The probe could not tell (a network error, an unexpected answer).
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionCheck {
    pub probe: ActionProbe,
    pub verdict: Verdict,
}

impl PartialEq for ActionProbe {
    fn eq(&self, other: &Self) -> bool {
        self.action == other.action
    }
}

impl Eq for ActionProbe {}

/// The WHMCS version, or why it is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    Known { version: String, via: &'static str },
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessReport {
    pub gate: Gate,
    pub version: Version,
    /// One per [`ACTION_PROBES`] entry when the gate is open; empty otherwise.
    pub actions: Vec<ActionCheck>,
}

impl AccessReport {
    /// The actions to tick in the credential's API role.
    pub fn not_allowed(&self) -> Vec<&'static str> {
        self.with(|v| *v == Verdict::NotAllowed)
    }

    /// The actions this WHMCS version does not know.
    pub fn missing(&self) -> Vec<&'static str> {
        self.with(|v| *v == Verdict::Missing)
    }

    fn with(&self, pick: impl Fn(&Verdict) -> bool) -> Vec<&'static str> {
        self.actions
            .iter()
            .filter(|c| pick(&c.verdict))
            .map(|c| c.probe.action)
            .collect()
    }
}

/// Asks WHMCS everything `doctor` reports; never changes anything there.
pub async fn probe_access(client: &WhmcsClient) -> AccessReport {
    let details = client.call("WhmcsDetails", ActionKind::Read, &[]).await;
    let (gate, version) = match details {
        Ok(answer) => (Gate::Open, details_version(&answer)),
        Err(err) => match gate_of(&err) {
            Gate::Open => (Gate::Open, config_version(client, &err).await),
            refused => {
                let why = "WHMCS refused the first call".to_string();
                return AccessReport {
                    gate: refused,
                    version: Version::Unknown(why),
                    actions: Vec::new(),
                };
            }
        },
    };
    let mut actions = Vec::with_capacity(ACTION_PROBES.len());
    for probe in ACTION_PROBES {
        actions.push(ActionCheck {
            probe: *probe,
            verdict: probe_action(client, probe).await,
        });
    }
    AccessReport {
        gate,
        version,
        actions,
    }
}

/// WhmcsDetails (8.0+): `whmcs.version`.
fn details_version(answer: &json::Object) -> Version {
    let whmcs = json::object(answer, "whmcs").unwrap_or(answer);
    match json::text(whmcs, "version").or_else(|| json::text(whmcs, "canonicalversion")) {
        Some(version) => Version::Known {
            version,
            via: "WhmcsDetails",
        },
        None => Version::Unknown("WhmcsDetails named no version".into()),
    }
}

/// Before 8.0 (no WhmcsDetails) or with WhmcsDetails outside the role: the `Version`
/// setting through GetConfigurationValue.
async fn config_version(client: &WhmcsClient, details: &WhmcsError) -> Version {
    let params = [("setting".to_string(), "Version".to_string())];
    match client
        .call("GetConfigurationValue", ActionKind::Read, &params)
        .await
    {
        Ok(answer) => match json::text(&answer, "value").filter(|v| !v.is_empty()) {
            Some(version) => Version::Known {
                version,
                via: "GetConfigurationValue",
            },
            None => Version::Unknown("GetConfigurationValue named no version".into()),
        },
        Err(WhmcsError::Permission { .. }) | Err(WhmcsError::UnknownAction { .. })
            if matches!(details, WhmcsError::Permission { .. }) =>
        {
            Version::Unknown(
                "the API role allows neither WhmcsDetails nor GetConfigurationValue; tick one \
                 of them to let doctor read the version"
                    .into(),
            )
        }
        Err(err) => Version::Unknown(err.to_string()),
    }
}

/// Sorts the first call's error: refused before the action ran, or the action's own answer.
fn gate_of(err: &WhmcsError) -> Gate {
    match err {
        WhmcsError::Permission { message, .. } | WhmcsError::Auth { message, .. }
            if is_ip_refusal(message) =>
        {
            Gate::IpRefused {
                ip: refused_ip(message),
                message: message.clone(),
            }
        }
        WhmcsError::Auth { message, .. } => Gate::LoginRefused(message.clone()),
        WhmcsError::Permission { message, .. } if !is_role_refusal(message) => {
            Gate::NotWhmcs(err.to_string())
        }
        WhmcsError::Permission { .. }
        | WhmcsError::UnknownAction { .. }
        | WhmcsError::NotFound { .. }
        | WhmcsError::Api { .. } => Gate::Open,
        other => Gate::NotWhmcs(other.to_string()),
    }
}

async fn probe_action(client: &WhmcsClient, probe: &ActionProbe) -> Verdict {
    let params: Vec<(String, String)> = probe
        .params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match client.call(probe.action, probe.kind, &params).await {
        Ok(_) => Verdict::Allowed,
        Err(WhmcsError::Permission { message, .. }) if is_role_refusal(&message) => {
            Verdict::NotAllowed
        }
        Err(WhmcsError::UnknownAction { .. }) => Verdict::Missing,
        // The action ran and judged the arguments: the role allows it.
        Err(WhmcsError::NotFound { .. }) | Err(WhmcsError::Api { .. }) => Verdict::Allowed,
        Err(err) => Verdict::Unknown(err.to_string()),
    }
}

fn is_role_refusal(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .starts_with("invalid permissions")
}

fn is_ip_refusal(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.starts_with("invalid ip") || lower.starts_with("ip banned")
}

/// `Invalid IP 203.0.113.7` → `203.0.113.7` (only when it parses as an address).
fn refused_ip(message: &str) -> Option<String> {
    let rest = message.get("invalid ip".len()..)?.trim();
    rest.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permission(message: &str) -> WhmcsError {
        WhmcsError::Permission {
            action: "WhmcsDetails".into(),
            message: message.into(),
        }
    }

    #[test]
    fn the_first_answer_decides_whether_whmcs_let_us_in() {
        assert_eq!(
            gate_of(&permission("Invalid IP 203.0.113.7")),
            Gate::IpRefused {
                ip: Some("203.0.113.7".into()),
                message: "Invalid IP 203.0.113.7".into()
            }
        );
        let forged = permission("Invalid IP \u{1b}[31mx");
        assert!(matches!(gate_of(&forged), Gate::IpRefused { ip: None, .. }));
        let login = WhmcsError::Auth {
            action: "WhmcsDetails".into(),
            message: "Authentication Failed".into(),
        };
        assert_eq!(
            gate_of(&login),
            Gate::LoginRefused("Authentication Failed".into())
        );
        let role = permission("Invalid Permissions: API action \"whmcsdetails\" is not allowed");
        assert_eq!(gate_of(&role), Gate::Open);
        let unknown = WhmcsError::UnknownAction {
            action: "WhmcsDetails".into(),
            message: "Command Not Found".into(),
        };
        assert_eq!(gate_of(&unknown), Gate::Open);
        let html = WhmcsError::Protocol {
            action: "WhmcsDetails".into(),
            detail: "HTML/XML instead of JSON".into(),
            body_start: "<html>".into(),
        };
        assert!(matches!(gate_of(&html), Gate::NotWhmcs(_)));
        assert!(matches!(
            gate_of(&permission("HTTP 403 (<html>)")),
            Gate::NotWhmcs(_)
        ));
    }

    #[test]
    fn every_write_probe_names_an_id_no_object_has_or_leaves_out_what_is_required() {
        for probe in ACTION_PROBES.iter().filter(|p| p.kind == ActionKind::Write) {
            let harmless = probe
                .params
                .iter()
                .any(|(k, v)| (k.ends_with("id") && *v == "0") || *k == "messagename")
                || probe.action == "LogActivity";
            assert!(harmless, "{} could write", probe.action);
        }
    }
}
