//! Who may call the sandbox WHMCS: the API IP Access Restriction, the API credentials and
//! their API roles, and the access key, checked in WHMCS's order and answered with its
//! exact messages. Tests and `domwatch sandbox whmcs` change the role and the allow-list
//! while it runs through `POST /_sandbox/event`:
//!
//! ```text
//! {"event":"set_api_role","actions":["GetClientsDomains","GetCurrencies"]}   (null: every action)
//! {"event":"set_allowed_ips","ips":["203.0.113.7"]}
//! ```

use super::api::ACTIONS;
use super::call::{normalise_action, Fail, Params};
use super::SandboxCredential;
use std::net::IpAddr;

/// The access settings of one sandbox.
#[derive(Debug, Clone)]
pub(crate) struct AccessControl {
    pub(crate) credentials: Vec<SandboxCredential>,
    pub(crate) access_key: Option<String>,
    pub(crate) allowed_ips: Vec<IpAddr>,
}

impl AccessControl {
    /// API IP Access Restriction: a caller not on the list gets 403 `Invalid IP <ip>`,
    /// unless it sends the configured access key (which bypasses the IP check only).
    pub(crate) fn allow_ip(&self, params: &Params, caller: IpAddr) -> Result<(), Fail> {
        let key_ok = self
            .access_key
            .as_ref()
            .is_some_and(|key| params.get("accesskey") == Some(key.as_str()));
        if key_ok || self.allowed_ips.contains(&caller) {
            Ok(())
        } else {
            Err(Fail::forbidden(format!("Invalid IP {caller}")))
        }
    }

    /// Credentials, access key, known action, API role: the first failure answers.
    pub(crate) fn authorise(&self, params: &Params, action: &str) -> Result<(), Fail> {
        let identifier = params
            .get("identifier")
            .or_else(|| params.get("username"))
            .unwrap_or("");
        let secret = params
            .get("secret")
            .or_else(|| params.get("password"))
            .unwrap_or("");
        if identifier.is_empty() || secret.is_empty() {
            return Err(Fail::new("Invalid or missing credentials"));
        }
        let Some(credential) = self.credentials.iter().find(|c| c.identifier == identifier) else {
            return Err(Fail::new("Invalid or missing credentials"));
        };
        if credential.secret != secret {
            return Err(Fail::new("Authentication Failed"));
        }
        if let Some(expected) = &self.access_key {
            if params.get("accesskey").is_some_and(|k| k != expected) {
                return Err(Fail::new("Invalid Access Key"));
            }
        }
        if !ACTIONS.contains(&action) {
            return Err(Fail::new("Command Not Found"));
        }
        if let Some(allowed) = &credential.allowed_actions {
            if !allowed.iter().any(|a| normalise_action(a) == action) {
                return Err(Fail::forbidden(format!(
                    "Invalid Permissions: API action \"{action}\" is not allowed"
                )));
            }
        }
        Ok(())
    }

    /// Gives every credential the API role `actions` (`None`: every action). Names are
    /// checked against the actions the sandbox knows, so a typo is an error, not a role
    /// that silently refuses.
    pub(crate) fn set_role(&mut self, actions: Option<Vec<String>>) -> Result<String, String> {
        if let Some(actions) = &actions {
            check_actions(actions)?;
        }
        let said = match &actions {
            Some(list) => format!("API role set to {} action(s)", list.len()),
            None => "API role allows every action".to_string(),
        };
        for credential in &mut self.credentials {
            credential.allowed_actions = actions.clone();
        }
        Ok(said)
    }

    pub(crate) fn set_allowed_ips(&mut self, ips: Vec<IpAddr>) -> String {
        let said = format!("API IP allow-list set to {} address(es)", ips.len());
        self.allowed_ips = ips;
        said
    }
}

/// Every name must be an action the sandbox knows (any spelling).
pub(crate) fn check_actions(actions: &[String]) -> Result<(), String> {
    match actions
        .iter()
        .find(|a| !ACTIONS.contains(&normalise_action(a).as_str()))
    {
        Some(unknown) => Err(format!(
            "`{unknown}` is not an API action of the sandbox WHMCS; known: {}",
            ACTIONS.join(", ")
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control() -> AccessControl {
        AccessControl {
            credentials: vec![SandboxCredential {
                identifier: "id".into(),
                secret: "s".into(),
                allowed_actions: None,
            }],
            access_key: None,
            allowed_ips: vec!["127.0.0.1".parse().unwrap()],
        }
    }

    fn call(action: &str) -> Params {
        Params(vec![
            ("action".into(), action.into()),
            ("identifier".into(), "id".into()),
            ("secret".into(), "s".into()),
        ])
    }

    #[test]
    fn a_role_without_an_action_answers_403_naming_it() {
        let mut access = control();
        access
            .set_role(Some(vec!["GetClientsDomains".into()]))
            .unwrap();
        assert!(access
            .authorise(&call("GetClientsDomains"), "getclientsdomains")
            .is_ok());
        let refused = access
            .authorise(&call("GetInvoices"), "getinvoices")
            .unwrap_err();
        assert_eq!(refused.status, 403);
        assert_eq!(
            refused.message,
            "Invalid Permissions: API action \"getinvoices\" is not allowed"
        );
        assert!(access.set_role(Some(vec!["GetInvoicez".into()])).is_err());
        access.set_role(None).unwrap();
        assert!(access
            .authorise(&call("GetInvoices"), "getinvoices")
            .is_ok());
    }

    #[test]
    fn a_caller_off_the_allow_list_is_named_in_the_403() {
        let mut access = control();
        access.set_allowed_ips(vec!["203.0.113.7".parse().unwrap()]);
        let refused = access
            .allow_ip(&call("GetCurrencies"), "127.0.0.1".parse().unwrap())
            .unwrap_err();
        assert_eq!(
            (refused.status, refused.message.as_str()),
            (403, "Invalid IP 127.0.0.1")
        );
    }
}
