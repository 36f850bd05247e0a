//! `/includes/api.php`: authentication, action routing and the answer formats, with
//! WHMCS's real error messages and quirks. The actions live in one file per concern; all
//! state lives in the WHMCS tables of the store.

mod admin;
mod domain_changes;
mod domains;
mod formats;
mod invoices;
mod prices;
mod tickets;

use super::call::{normalise_action, Answer, Fail, Params};
use super::State;
use serde_json::{json, Map};
use std::net::IpAddr;
use std::sync::atomic::Ordering;

/// Every action the sandbox implements, lower-case as WHMCS routes them.
pub const ACTIONS: &[&str] = &[
    "getclientsdomains",
    "getclientsdetails",
    "getcurrencies",
    "gettldpricing",
    "getinvoices",
    "getinvoice",
    "updateclientdomain",
    "updateinvoice",
    "domainrenew",
    "domaintransfer",
    "openticket",
    "gettickets",
    "addticketreply",
    "sendadminemail",
    "logactivity",
    "gettodoitems",
    "updatetodoitem",
    "getclients",
    "getpaymentmethods",
    "whmcsdetails",
    "getconfigurationvalue",
];

/// Actions whose default response type is XML (the others default to NVP).
const STRUCTURED: &[&str] = &[
    "getclientsdomains",
    "getinvoices",
    "getinvoice",
    "gettickets",
    "gettodoitems",
    "getcurrencies",
    "gettldpricing",
    "getclientsdetails",
    "getclients",
    "getpaymentmethods",
];

/// Handles one API request; returns HTTP status, content type and body.
pub async fn handle(state: &State, params: Params, caller: IpAddr) -> (u16, &'static str, String) {
    let action = normalise_action(params.get("action").unwrap_or(""));
    state.count_call(&action);
    let authorised = {
        let access = state.access.read().unwrap_or_else(|p| p.into_inner());
        access
            .allow_ip(&params, caller)
            .and_then(|()| access.authorise(&params, &action))
    };
    // The domain listing is the one answer of a million rows: on SQLite it is rendered by
    // the database in one statement (see `clients_domains_json`); errors are rendered below
    // like every other action's.
    let outcome = match authorised {
        Ok(())
            if action == "getclientsdomains"
                && state.store.dialect() == super::store::Dialect::Sqlite
                && state.database_rendered_listing.load(Ordering::Relaxed)
                && params
                    .get("responsetype")
                    .is_some_and(|t| t.eq_ignore_ascii_case("json")) =>
        {
            match domains::clients_domains_json(state, &params).await {
                Ok(body) => return (200, "application/json", body),
                Err(fail) => Err(fail),
            }
        }
        Ok(()) => dispatch(state, &action, &params).await,
        Err(fail) => Err(fail),
    };
    render(&action, &params, outcome)
}

/// The answer in the response type the call asks for (WHMCS's defaults otherwise).
fn render(action: &str, params: &Params, outcome: Answer) -> (u16, &'static str, String) {
    let (status, mut body) = match outcome {
        Ok(mut fields) => {
            let mut body = Map::new();
            body.insert("result".into(), json!("success"));
            body.append(&mut fields);
            (200, body)
        }
        Err(fail) => {
            let mut body = Map::new();
            body.insert("result".into(), json!("error"));
            body.insert("message".into(), json!(fail.message));
            if let Some(error) = fail.registrar_error {
                body.insert("error".into(), json!(error));
            }
            (fail.status, body)
        }
    };
    match params
        .get("responsetype")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => (
            status,
            "application/json",
            formats::json_in_whmcs_order(&body),
        ),
        Some("xml") => (status, "text/xml", formats::to_xml(action, &body)),
        Some("nvp") if STRUCTURED.contains(&action) => {
            body.clear();
            (
                status,
                "text/plain",
                "result=error;message=This API action only supports the XML or JSON response type formats;"
                    .into(),
            )
        }
        Some("nvp") => (status, "text/plain", formats::to_nvp(&body)),
        // Without responsetype WHMCS picks XML for structured actions and NVP otherwise.
        _ if STRUCTURED.contains(&action) => (status, "text/xml", formats::to_xml(action, &body)),
        _ => (status, "text/plain", formats::to_nvp(&body)),
    }
}

async fn dispatch(state: &State, action: &str, p: &Params) -> Answer {
    match action {
        "getclientsdomains" => domains::get_clients_domains(state, p).await,
        "getclientsdetails" => super::clients::get_clients_details(state, p).await,
        "getcurrencies" => prices::get_currencies(state).await,
        "gettldpricing" => prices::get_tld_pricing(state, p).await,
        "getinvoices" => invoices::get_invoices(state, p).await,
        "getinvoice" => invoices::get_invoice(state, p).await,
        "updateclientdomain" => domain_changes::update_client_domain(state, p).await,
        "updateinvoice" => invoices::update_invoice(state, p).await,
        "domainrenew" => domain_changes::domain_renew(state, p).await,
        "domaintransfer" => domain_changes::domain_transfer(state, p).await,
        "openticket" => tickets::open_ticket(state, p).await,
        "gettickets" => tickets::get_tickets(state, p).await,
        "addticketreply" => tickets::add_ticket_reply(state, p).await,
        "sendadminemail" => admin::send_admin_email(state, p).await,
        "logactivity" => admin::log_activity(state, p).await,
        "gettodoitems" => admin::get_todo_items(state, p).await,
        "updatetodoitem" => admin::update_todo_item(state, p).await,
        "getclients" => super::clients::get_clients(state, p).await,
        "getpaymentmethods" => super::clients::get_payment_methods(state).await,
        "whmcsdetails" => admin::whmcs_details(state),
        "getconfigurationvalue" => admin::get_configuration_value(state, p),
        _ => Err(Fail::new("Command Not Found")),
    }
}

#[cfg(test)]
mod tests {
    use super::admin::strip_html;
    use super::formats::{to_nvp, to_xml};
    use super::tickets::ticket_numbers;
    use crate::whmcs::call::obj;
    use serde_json::json;

    #[test]
    fn ticket_numbers_are_stable_and_distinct() {
        assert_eq!(ticket_numbers(1), ticket_numbers(1));
        assert_ne!(ticket_numbers(1).0, ticket_numbers(2).0);
        assert_eq!(ticket_numbers(5).0.len(), 6);
        assert_eq!(ticket_numbers(5).1.len(), 8);
    }

    #[test]
    fn xml_and_nvp_rendering() {
        let body = obj(
            json!({"result": "success", "totalresults": 1, "domains": {"domain": [{"id": 1}]}}),
        );
        let xml = to_xml("getclientsdomains", &body);
        assert!(
            xml.starts_with("<?xml") && xml.contains("<domain><id>1</id></domain>"),
            "{xml}"
        );
        assert_eq!(
            to_nvp(&obj(json!({"result": "success", "n": 2}))),
            "n=2;result=success;"
        );
        assert_eq!(strip_html("<p>Hi <b>there</b></p>"), "Hi there");
    }
}
