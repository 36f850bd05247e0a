//! What can go wrong with a mail, classified by what the caller should do about it.

use std::time::Duration;

/// Why a mail was not sent. [`MailError::is_retryable`] tells whether sending the same mail
/// again later can succeed; the message says what to change otherwise. No variant holds the
/// SMTP password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// A `[notices]` setting is unusable (permanent).
    #[error("`{key}`: {problem}: {fix}")]
    Config {
        key: &'static str,
        problem: String,
        fix: &'static str,
    },
    /// An address in `notices.mail_from` / `notices.mail_to` is unusable (permanent).
    #[error("`{key}` = `{address}` is not a usable e-mail address ({problem}): {fix}")]
    BadAddress {
        key: &'static str,
        address: String,
        problem: String,
        fix: &'static str,
    },
    /// The mail itself cannot be built, e.g. a malformed Message-ID (permanent: a bug in
    /// the caller).
    #[error("cannot compose the mail: {problem}")]
    Compose { problem: String },
    /// The server could not be reached, the connection broke, or TLS failed (retryable).
    #[error(
        "cannot talk to the SMTP server {server}: {detail}; the mail can be sent again later. \
         Check that the server runs and that `notices.smtp_url` names the right host, port \
         and TLS mode"
    )]
    Connection { server: String, detail: String },
    /// The whole send took longer than the configured timeout (retryable).
    #[error(
        "the SMTP server {server} did not complete the mail within {} s; the mail can be sent \
         again later. Check that `notices.smtp_url` points at an SMTP port (25, 465, 587)",
        .after.as_secs_f32()
    )]
    Timeout { server: String, after: Duration },
    /// The server answered with an SMTP error code: 4xx is temporary (retryable), 5xx is
    /// permanent.
    #[error("the SMTP server {server} refused the mail: {code} {response}; {}", rejection_advice(*.code))]
    Rejected {
        server: String,
        code: u16,
        response: String,
    },
    /// The SMTP dialogue failed on our side, e.g. no AUTH mechanism in common, or the server
    /// answered something that is not SMTP (permanent until the setup changes).
    #[error(
        "the SMTP session with {server} failed: {detail}. Check the TLS mode (?tls=required, \
         smtps://) and the login in `notices.smtp_url`"
    )]
    Protocol { server: String, detail: String },
}

impl MailError {
    /// Whether the same mail may go through when sent again later (server down, timeout,
    /// temporary 4xx refusal); false when the configuration or the mail must change first.
    pub fn is_retryable(&self) -> bool {
        match self {
            MailError::Connection { .. } | MailError::Timeout { .. } => true,
            MailError::Rejected { code, .. } => (400..500).contains(code),
            MailError::Config { .. }
            | MailError::BadAddress { .. }
            | MailError::Compose { .. }
            | MailError::Protocol { .. } => false,
        }
    }

    /// The SMTP reply code when the server refused the mail.
    pub fn smtp_code(&self) -> Option<u16> {
        match self {
            MailError::Rejected { code, .. } => Some(*code),
            _ => None,
        }
    }
}

fn rejection_advice(code: u16) -> &'static str {
    match code {
        400..=499 => "the server refused for now; the mail can be sent again later",
        530 | 534 | 535 | 538 => {
            "the server wants a valid login: check user and password in `notices.smtp_url` \
             (percent-encoded), and use ?tls=required or smtps:// if it only accepts AUTH over TLS"
        }
        550..=553 => {
            "a recipient or the sender was refused: check `notices.mail_to` and \
             `notices.mail_from`, and that the server relays for this login"
        }
        554 => "the server refused the message as a whole (policy, spam check): ask its admin",
        _ => "this will not change by retrying: check `notices.smtp_url`, `notices.mail_from` and `notices.mail_to`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(code: u16) -> MailError {
        MailError::Rejected {
            server: "mail.example:25".into(),
            code,
            response: "nope".into(),
        }
    }

    #[test]
    fn temporary_refusals_and_outages_are_retryable_permanent_ones_not() {
        assert!(rejected(451).is_retryable());
        assert!(!rejected(550).is_retryable());
        assert_eq!(rejected(550).smtp_code(), Some(550));
        assert!(MailError::Timeout {
            server: "s".into(),
            after: Duration::from_secs(1)
        }
        .is_retryable());
        assert!(!MailError::Compose {
            problem: "x".into()
        }
        .is_retryable());
    }

    #[test]
    fn rejection_messages_say_what_to_check() {
        assert!(rejected(535).to_string().contains("user and password"));
        assert!(rejected(550).to_string().contains("`notices.mail_to`"));
        assert!(rejected(421).to_string().contains("sent again later"));
        assert!(rejected(550)
            .to_string()
            .starts_with("the SMTP server mail.example:25 refused the mail: 550 nope;"));
    }
}
