//! Sending over SMTP with lettre's pooled async transport.

use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use lettre::transport::smtp::{self, AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{MailConfig, SmtpSecurity};
use crate::message::compose;
use crate::{Mail, MailError, MailReceipt, Mailer};

type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// Sends mail to the server of [`MailConfig::smtp_url`]. Connections are pooled: mails in a
/// row reuse one connection (checked with NOOP first), idle ones close after a minute.
///
/// Use it inside a tokio runtime and drop it there: lettre's pool runs tokio tasks.
pub struct SmtpMailer {
    config: MailConfig,
    builder: AsyncSmtpTransportBuilder,
    /// Built on the first send, so `new` works outside a runtime; replaced after a timeout,
    /// because a connection abandoned mid-dialogue must not be reused.
    transport: Mutex<Option<Transport>>,
    /// The password as it may appear in a server's reply, to scrub from errors.
    secrets: Vec<String>,
}

impl SmtpMailer {
    pub fn new(config: MailConfig) -> Result<Self, MailError> {
        let builder = Transport::from_url(config.smtp_url.expose())
            .map_err(|e| MailError::Config {
                key: crate::config::KEY_SMTP_URL,
                problem: format!("{} is not usable ({e})", config.smtp_url.redacted()),
                fix: "write it as smtp://host:25, smtp://user:password@host:587?tls=required \
                      or smtps://user:password@host:465",
            })?
            // lettre bounds only the connect with this; `send` bounds the whole mail.
            .timeout(Some(config.timeout))
            .pool_config(PoolConfig::new().max_size(2));
        if config.smtp_url.has_credentials() && config.smtp_url.security() == SmtpSecurity::Plain {
            tracing::warn!(
                smtp_url = %config.smtp_url,
                "the SMTP password travels unencrypted; use ?tls=required or smtps:// unless \
                 the server is on this machine"
            );
        }
        let secrets = config.smtp_url.password_forms();
        Ok(SmtpMailer {
            config,
            builder,
            transport: Mutex::new(None),
            secrets,
        })
    }

    pub fn config(&self) -> &MailConfig {
        &self.config
    }

    /// Connects, says EHLO, starts TLS and logs in as `notices.smtp_url` says, then NOOP;
    /// sends no mail (`domwatch doctor`).
    pub async fn check_login(&self) -> Result<(), MailError> {
        let transport: Transport = self.builder.clone().build();
        let server = self.config.smtp_url.server();
        match tokio::time::timeout(self.config.timeout, transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(MailError::Protocol {
                server,
                detail: "the server did not answer NOOP".into(),
            }),
            Ok(Err(error)) => Err(self.classify(error)),
            Err(_) => Err(MailError::Timeout {
                server,
                after: self.config.timeout,
            }),
        }
    }

    fn transport(&self) -> Transport {
        let mut slot = self.transport.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert_with(|| self.builder.clone().build())
            .clone()
    }

    fn discard_transport(&self) {
        self.transport
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    fn scrub(&self, text: String) -> String {
        self.secrets
            .iter()
            .filter(|secret| !secret.is_empty())
            .fold(text, |text, secret| text.replace(secret.as_str(), "***"))
    }

    fn classify(&self, error: smtp::Error) -> MailError {
        let server = self.config.smtp_url.server();
        if let Some(code) = error.status() {
            // The source is the server's reply text, without the code.
            let response = std::error::Error::source(&error)
                .map(ToString::to_string)
                .unwrap_or_default();
            return MailError::Rejected {
                server,
                code: code.into(),
                response: self.scrub(response),
            };
        }
        if error.is_timeout() {
            return MailError::Timeout {
                server,
                after: self.config.timeout,
            };
        }
        let detail = self.scrub(error.to_string());
        if error.is_client() || error.is_response() {
            MailError::Protocol { server, detail }
        } else {
            MailError::Connection { server, detail }
        }
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<MailReceipt, MailError> {
        let message = compose(mail, &self.config.from, &self.config.to)?;
        let transport = self.transport();
        let outcome = tokio::time::timeout(self.config.timeout, transport.send(message)).await;
        // lettre hands the connection back to its pool in a spawned task; letting it run now
        // means the next mail in a row reuses that connection instead of opening another.
        tokio::task::yield_now().await;
        let response = match outcome {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                let error = self.classify(error);
                tracing::debug!(message_id = %mail.message_id, %error, "mail not sent");
                return Err(error);
            }
            Err(_elapsed) => {
                self.discard_transport();
                let error = MailError::Timeout {
                    server: self.config.smtp_url.server(),
                    after: self.config.timeout,
                };
                tracing::debug!(message_id = %mail.message_id, %error, "mail not sent");
                return Err(error);
            }
        };
        let server_response = std::iter::once(response.code().to_string())
            .chain(response.message().map(str::to_owned))
            .collect::<Vec<_>>()
            .join(" ");
        tracing::debug!(
            message_id = %mail.message_id,
            server = %self.config.smtp_url.server(),
            response = %server_response,
            "mail sent"
        );
        Ok(MailReceipt {
            message_id: mail.message_id.clone(),
            // lettre gives up on the first refused RCPT, so success means every one.
            accepted_recipients: self
                .config
                .to
                .iter()
                .map(|to| to.email.to_string())
                .collect(),
            server_response,
        })
    }

    fn describe(&self) -> String {
        let to = self
            .config
            .to
            .iter()
            .map(|to| to.email.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SMTP {} ({}), from {} to {to}",
            self.config.smtp_url,
            self.config.smtp_url.security(),
            self.config.from.email
        )
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // lettre's builder would print the credentials; show the redacted description.
        write!(f, "SmtpMailer({})", self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_and_debug_name_the_server_without_the_password() {
        let config = MailConfig::from_settings(
            "smtp://mailer:s3cret@mail.example:587?tls=required",
            "domwatch@example.com",
            &["ops@example.com", "boss@müller.de"],
        )
        .unwrap();
        let mailer = SmtpMailer::new(config).unwrap();
        assert_eq!(
            mailer.describe(),
            "SMTP smtp://mailer:***@mail.example:587?tls=required (STARTTLS required), \
             from domwatch@example.com to ops@example.com, boss@xn--mller-kva.de"
        );
        let debug = format!("{mailer:?}");
        assert!(
            debug.contains("mailer:***@") && !debug.contains("s3cret"),
            "{debug}"
        );
    }

    #[test]
    fn server_replies_are_scrubbed_of_the_password() {
        let config = MailConfig::from_settings(
            "smtp://mailer:pa%24%24@mail.example",
            "domwatch@example.com",
            &["ops@example.com"],
        )
        .unwrap();
        let mailer = SmtpMailer::new(config).unwrap();
        assert_eq!(
            mailer.scrub("535 bad login mailer/pa$$ (pa%24%24)".into()),
            "535 bad login mailer/*** (***)"
        );
    }
}
