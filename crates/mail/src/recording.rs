//! An in-memory [`Mailer`] for tests of code that sends mail.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::{Mail, MailError, MailReceipt, Mailer};

/// Keeps every mail instead of sending it. Clones share the record, so a test can hand one
/// clone to the code under test and read the other. Always compiled (it has no
/// dependencies), so other crates' tests need no feature for it.
#[derive(Debug, Clone, Default)]
pub struct RecordingMailer {
    state: Arc<Mutex<RecordingState>>,
}

#[derive(Debug, Default)]
struct RecordingState {
    sent: Vec<Mail>,
    planned_failures: VecDeque<MailError>,
}

impl RecordingMailer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The mails sent so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.state().sent.clone()
    }

    /// Makes the next send fail with `error` (and record nothing); calls queue up.
    pub fn fail_next(&self, error: MailError) {
        self.state().planned_failures.push_back(error);
    }

    fn state(&self) -> MutexGuard<'_, RecordingState> {
        // A panicking test thread must not hide the record from the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &Mail) -> Result<MailReceipt, MailError> {
        let mut state = self.state();
        if let Some(error) = state.planned_failures.pop_front() {
            return Err(error);
        }
        state.sent.push(mail.clone());
        Ok(MailReceipt {
            message_id: mail.message_id.clone(),
            accepted_recipients: Vec::new(),
            server_response: "recorded".into(),
        })
    }

    fn describe(&self) -> String {
        "in-memory recording mailer".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_mails_and_plays_planned_failures() {
        let mailer = RecordingMailer::new();
        let handle = mailer.clone();
        let mail = Mail::new("subject", "text", "<1@test>");
        mailer.fail_next(MailError::Connection {
            server: "s:25".into(),
            detail: "down".into(),
        });

        let failed = mailer.send(&mail).await.unwrap_err();
        assert!(failed.is_retryable());
        assert!(handle.sent().is_empty());

        let receipt = mailer.send(&mail).await.unwrap();
        assert_eq!(receipt.message_id, "<1@test>");
        assert_eq!(handle.sent(), vec![mail]);
    }
}
