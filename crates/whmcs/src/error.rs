//! Errors of the WHMCS client. Every message says what went wrong and what to do.

use domwatch_core::Untrusted;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum WhmcsError {
    /// WHMCS rejected the credentials, the access key or the caller's IP.
    #[error(
        "WHMCS rejected the API login for `{action}`: {}. Check the API identifier and \
         secret (Setup > Staff Management > Manage API Credentials), the access key, and that \
         this host's IP is in the API IP allow-list",
        Untrusted(message)
    )]
    Auth { action: String, message: String },

    /// WHMCS refused the call (HTTP 403): this host's IP is not allowed, or the
    /// credential's API role does not allow the action.
    #[error(
        "WHMCS refused `{action}`: {}. {}",
        Untrusted(message),
        permission_fix(message)
    )]
    Permission { action: String, message: String },

    /// The object (domain, invoice, ticket, to-do, client) does not exist.
    #[error(
        "WHMCS `{action}`: {}. Check the id; the object may have been deleted",
        Untrusted(message)
    )]
    NotFound { action: String, message: String },

    /// The WHMCS version does not know the action.
    #[error(
        "WHMCS does not know the action `{action}` (`{}`). This WHMCS version lacks it; \
         upgrade WHMCS or disable the feature that needs it",
        Untrusted(message)
    )]
    UnknownAction { action: String, message: String },

    /// Any other `result=error`, with the registrar's message when WHMCS passed one on.
    #[error("WHMCS `{action}` failed: {}{}", Untrusted(message), registrar_error.as_ref().map(|e| format!(" (registrar said: {})", Untrusted(e))).unwrap_or_default())]
    Api {
        action: String,
        message: String,
        registrar_error: Option<String>,
    },

    /// The answer was not the JSON WHMCS is supposed to send.
    #[error(
        "WHMCS `{action}` sent an answer domwatch cannot read ({}); it starts with {body_start:?}. \
         Check that the URL points at the WHMCS root (…/includes/api.php must exist) and that no \
         proxy or maintenance page answers instead",
        Untrusted(detail)
    )]
    Protocol {
        action: String,
        detail: String,
        body_start: String,
    },

    /// A non-success HTTP status without a WHMCS error body.
    #[error(
        "WHMCS `{action}` answered HTTP {status}; body starts with {body_start:?}. Check the URL \
         and the web server's error log"
    )]
    Http {
        action: String,
        status: u16,
        body_start: String,
    },

    #[error(
        "WHMCS `{action}` did not answer within {after:?}. Check that WHMCS is up and reachable, \
         or raise the timeout"
    )]
    Timeout { action: String, after: Duration },

    #[error(
        "cannot reach WHMCS for `{action}`: {}. Check the URL, DNS and firewall",
        Untrusted(detail)
    )]
    Transport { action: String, detail: String },

    /// The answer stopped before its JSON was complete (a dropped connection, a proxy
    /// cutting the body). Nothing in it is used; reads are retried first.
    #[error(
        "WHMCS `{action}` answer was cut off after {received_bytes} bytes (the JSON ends before it is complete; it starts with {body_start:?}): the answer was not used. A read is tried again later; a write may have been carried out, check WHMCS before sending it again"
    )]
    Truncated {
        action: String,
        received_bytes: usize,
        body_start: String,
    },

    /// A list came back with fewer entries than it declared (`numreturned` of a page,
    /// `totalresults` of the whole walk): it is never used as the whole list.
    #[error(
        "WHMCS `{action}` answered {received} of {declared} entries ({what}): the list was cut off; nothing was changed, try again later"
    )]
    Incomplete {
        action: String,
        received: u64,
        declared: u64,
        /// Which count fell short, e.g. `the page at offset 5000 declares numreturned 5000`.
        what: String,
    },

    /// The request was refused before sending because WHMCS would misread it.
    #[error("refusing to send `{action}`: {}", Untrusted(reason))]
    InvalidRequest { action: String, reason: String },

    #[error("invalid WHMCS configuration: {0}")]
    Config(String),

    /// A read from the WHMCS database (`whmcs.read_from = "database"`) failed.
    #[error(transparent)]
    Database(#[from] crate::db::DbError),
}

/// What to change in WHMCS for a refused call, by what WHMCS said.
fn permission_fix(message: &str) -> &'static str {
    if message.to_ascii_lowercase().starts_with("invalid ip") {
        "Add this host's IP under Setup > General Settings > Security > API IP Access \
         Restriction (or send the API access key, which bypasses the IP check)"
    } else if message
        .to_ascii_lowercase()
        .starts_with("invalid permissions")
    {
        "Grant the API role of these credentials the action (Setup > Staff Management > \
         Manage API Credentials > API Roles)"
    } else {
        "Add this host's IP under Setup > General Settings > Security > API IP Access \
         Restriction, or grant the API role of these credentials the action (Setup > Staff \
         Management > Manage API Credentials > API Roles)"
    }
}

impl WhmcsError {
    /// True when trying the same read again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            WhmcsError::Timeout { .. }
            | WhmcsError::Transport { .. }
            | WhmcsError::Truncated { .. }
            | WhmcsError::Incomplete { .. } => true,
            WhmcsError::Http { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// Sorts a `result=error` message into the typed variants.
    pub(crate) fn from_api_message(
        action: &str,
        message: String,
        registrar_error: Option<String>,
    ) -> Self {
        let action = action.to_string();
        let lower = message.to_ascii_lowercase();
        const AUTH_MESSAGES: &[&str] = &[
            "invalid or missing credentials",
            "authentication failed",
            "invalid administrative identifier",
            "administrator account disabled",
            "invalid password provided",
            "access denied",
            "invalid access key",
            "ip banned",
        ];
        if AUTH_MESSAGES.iter().any(|m| lower.starts_with(m)) || lower.starts_with("invalid ip") {
            WhmcsError::Auth { action, message }
        } else if lower.starts_with("invalid permissions") {
            WhmcsError::Permission { action, message }
        } else if lower == "command not found" {
            WhmcsError::UnknownAction { action, message }
        } else if lower.contains("not found") && registrar_error.is_none() {
            WhmcsError::NotFound { action, message }
        } else {
            WhmcsError::Api {
                action,
                message,
                registrar_error,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_messages_map_to_typed_errors() {
        assert!(matches!(
            WhmcsError::from_api_message("GetInvoices", "Authentication Failed".into(), None),
            WhmcsError::Auth { .. }
        ));
        assert!(matches!(
            WhmcsError::from_api_message(
                "GetInvoices",
                "Invalid Permissions: API action \"getinvoices\" is not allowed".into(),
                None
            ),
            WhmcsError::Permission { .. }
        ));
        assert!(matches!(
            WhmcsError::from_api_message("UpdateClientDomain", "Domain ID Not Found".into(), None),
            WhmcsError::NotFound { .. }
        ));
        assert!(matches!(
            WhmcsError::from_api_message("Foo", "Command Not Found".into(), None),
            WhmcsError::UnknownAction { .. }
        ));
        let registrar = WhmcsError::from_api_message(
            "DomainRenew",
            "Registrar Error Message".into(),
            Some("Object not found".into()),
        );
        assert!(registrar
            .to_string()
            .contains("registrar said: Object not found"));
    }

    #[test]
    fn remote_text_is_shown_escaped() {
        let forged = "Domain Not Renewed\r\nINFO \x1b[32mok\u{202e}";
        let api = WhmcsError::from_api_message("DomainRenew", forged.into(), Some(forged.into()));
        let auth = WhmcsError::from_api_message(
            "GetInvoices",
            format!("Authentication Failed{forged}"),
            None,
        );
        for err in [api, auth] {
            let shown = err.to_string();
            assert!(
                shown.contains("Domain Not Renewed\\r\\nINFO \\u{1b}[32mok\\u{202e}"),
                "{shown}"
            );
            assert!(!shown.contains(domwatch_core::text::is_unsafe), "{shown}");
        }
    }

    #[test]
    fn only_network_trouble_is_transient() {
        let timeout = WhmcsError::Timeout {
            action: "GetCurrencies".into(),
            after: Duration::from_secs(1),
        };
        assert!(timeout.is_transient());
        let auth = WhmcsError::Auth {
            action: "GetCurrencies".into(),
            message: "Authentication Failed".into(),
        };
        assert!(!auth.is_transient());
    }
}
