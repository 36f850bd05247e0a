//! Outbound webhooks, the pure part: which events exist, when a failed delivery is tried
//! again, and the one-line text chat tools show. Sending is `domwatch-webhooks`' job, the
//! outbox the store's.

use chrono::Duration;

/// What a webhook tells. Each is enqueued once per case change (see the store's outbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    CaseOpened,
    CaseReopened,
    CaseResolved,
    /// A Fix now write (dashboard, API or CLI) was applied.
    FixApplied,
    /// domwatch wrote on its own (auto delete: a cancellation placed or withdrawn).
    ActionAutomatic,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::CaseOpened,
        EventKind::CaseReopened,
        EventKind::CaseResolved,
        EventKind::FixApplied,
        EventKind::ActionAutomatic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CaseOpened => "case.opened",
            EventKind::CaseReopened => "case.reopened",
            EventKind::CaseResolved => "case.resolved",
            EventKind::FixApplied => "fix.applied",
            EventKind::ActionAutomatic => "action.automatic",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The words in the text line: "case #12 opened".
    pub fn verb(self) -> &'static str {
        match self {
            EventKind::CaseOpened => "opened",
            EventKind::CaseReopened => "reopened",
            EventKind::CaseResolved => "resolved",
            EventKind::FixApplied => "fixed",
            EventKind::ActionAutomatic => "acted on automatically",
        }
    }
}

/// Attempts before a delivery is given up (about two days with [`retry_delay`]).
pub const MAX_ATTEMPTS: u32 = 12;

/// The wait after the `attempt`-th failed try (1-based): exponential from 30 s, doubled per
/// attempt, at most 6 h. The sender adds jitter so a receiver that comes back is not hit
/// by every queued delivery in the same second.
pub fn retry_delay(attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(20);
    let seconds = 30i64.saturating_mul(1i64 << exp);
    Duration::seconds(seconds.min(6 * 3600))
}

/// Whether a delivery that failed its `attempts`-th try is tried again.
pub fn retries_left(attempts: u32) -> bool {
    attempts < MAX_ATTEMPTS
}

/// Makes untrusted text safe in a chat message: control characters, ANSI escapes and bidi
/// overrides escaped (like every log line), and `&`, `<`, `>` as entities, which Slack and
/// Mattermost require so that a domain or summary cannot form a link or a mention.
pub fn chat_text(text: &str) -> String {
    crate::text::escape(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("case.closed"), None);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(retry_delay(1), Duration::seconds(30));
        assert_eq!(retry_delay(2), Duration::seconds(60));
        assert_eq!(retry_delay(5), Duration::seconds(480));
        assert_eq!(retry_delay(11), Duration::hours(6));
        assert_eq!(retry_delay(u32::MAX), Duration::hours(6));
        assert!(retries_left(MAX_ATTEMPTS - 1));
        assert!(!retries_left(MAX_ATTEMPTS));
    }

    #[test]
    fn chat_text_cannot_mention_or_link() {
        assert_eq!(
            chat_text("<!channel> a&b\u{1b}[31m"),
            "&lt;!channel&gt; a&amp;b\\u{1b}[31m"
        );
    }
}
