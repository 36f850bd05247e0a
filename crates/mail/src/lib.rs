//! domwatch's own e-mails — the digest of new cases, notes on lifecycle actions — sent over
//! SMTP.
//!
//! - [`MailConfig::from_settings`] checks the `[notices]` keys `smtp_url`, `mail_from` and
//!   `mail_to`; [`SmtpUrl`] lists the URL forms (plain, STARTTLS, SMTPS, with or without a
//!   login) and keeps the password out of `Debug`, errors and logs.
//! - [`SmtpMailer`] sends a [`Mail`] through lettre (tokio, rustls; no OpenSSL) over a
//!   pooled connection, bounded by [`MailConfig::timeout`].
//! - [`MailError`] says whether a failed mail can simply be sent again later
//!   ([`MailError::is_retryable`]) and what to fix otherwise.
//! - [`RecordingMailer`] keeps mails in memory, for tests of code that sends mail.
//! - With the `test-support` feature, `test_support::TestSmtpServer` runs a real SMTP
//!   server (Python aiosmtpd) on 127.0.0.1 and reads back what it received.

mod config;
mod error;
mod message;
mod recording;
mod smtp;
#[cfg(feature = "test-support")]
pub mod test_support;

use async_trait::async_trait;

pub use config::{MailConfig, SmtpSecurity, SmtpUrl};
pub use error::MailError;
pub use lettre::message::Mailbox;
pub use message::Mail;
pub use recording::RecordingMailer;
pub use smtp::SmtpMailer;

/// Sends domwatch's mails to the configured recipients.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<MailReceipt, MailError>;

    /// Where mail goes, for logs: server, sender, recipients; never a password.
    fn describe(&self) -> String;
}

/// What the server said when it took a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailReceipt {
    pub message_id: String,
    /// Envelope recipients the server accepted: all configured ones, since a single refusal
    /// fails the whole send. Empty for [`RecordingMailer`].
    pub accepted_recipients: Vec<String>,
    /// The final reply to the message data, e.g. `250 OK queued as 1234`.
    pub server_response: String,
}
