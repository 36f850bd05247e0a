//! The one retry policy of every outside-system client (CNR/ISPAPI, Smart-NIC, WHMCS):
//! what may be sent again, how often, and how long to pause in between. Pure: the
//! clients classify their own results into an [`Outcome`], and `domwatch-retry` runs
//! the loop, draws the jitter and sleeps.
//!
//! The rule that keeps "every write at most once": a request whose answer was lost,
//! late or cut off may have been carried out, so only a read is sent again after it. A
//! write is repeated only when the other side certainly did not carry it out.

use std::time::Duration;

/// Whether a request only reads or changes something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// What one attempt came to, as far as sending it again is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It worked: nothing to repeat.
    Done,
    /// Repeating cannot help: a refusal, bad credentials, a request the other side rejects.
    Final,
    /// Temporary trouble after which the request may have been carried out: a timeout, a
    /// lost, cut-off or unreadable answer, a server error. Reads are repeated, writes never.
    MayHaveRun,
    /// Temporary trouble after which the request certainly was not carried out: no
    /// connection was made, or the other side answered "not done, try later". Safe to
    /// repeat, writes too.
    NotRun,
}

/// How often to try again and how long to pause: the pause after attempt `n` is drawn
/// from `[d/2, d]` with `d = base_delay·2^(n−1)`, at most `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub max_retries: u32,
    /// The longest first pause; doubles per attempt.
    pub base_delay: Duration,
    /// The longest pause, whatever the doubling says.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The cap every client uses.
    pub const MAX_DELAY: Duration = Duration::from_secs(30);

    /// `max_retries` extra attempts from `base_delay`, pauses capped at [`Self::MAX_DELAY`].
    pub fn new(max_retries: u32, base_delay: Duration) -> Self {
        RetryPolicy {
            max_retries,
            base_delay,
            max_delay: Self::MAX_DELAY,
        }
    }

    /// Whether to send a request of kind `access` again after its attempt number `attempt`
    /// (the first is 1) came to `outcome`.
    pub fn retries(&self, access: Access, outcome: Outcome, attempt: u32) -> bool {
        let worth_it = match outcome {
            Outcome::Done | Outcome::Final => false,
            Outcome::NotRun => true,
            Outcome::MayHaveRun => access == Access::Read,
        };
        worth_it && attempt <= self.max_retries
    }

    /// The longest pause after attempt `attempt`: `base_delay·2^(attempt−1)`, capped.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        self.base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay)
    }

    /// The pause after attempt `attempt`: half the ceiling plus a jitter that `draw` picks
    /// from `0..=span` milliseconds (the caller's random source), so it lies in `[d/2, d]`.
    pub fn delay(&self, attempt: u32, draw: impl FnOnce(u64) -> u64) -> Duration {
        let half = self.ceiling(attempt) / 2;
        let span = half.as_millis() as u64;
        half + Duration::from_millis(draw(span).min(span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy::new(max_retries, Duration::from_millis(100))
    }

    #[test]
    fn the_ceiling_doubles_from_the_base_and_stops_at_the_cap() {
        let p = policy(3);
        let ceilings: Vec<u64> = (1..=4).map(|n| p.ceiling(n).as_millis() as u64).collect();
        assert_eq!(ceilings, vec![100, 200, 400, 800]);
        assert_eq!(p.ceiling(40), RetryPolicy::MAX_DELAY);
        assert_eq!(p.ceiling(u32::MAX), RetryPolicy::MAX_DELAY);
        let huge = RetryPolicy::new(3, Duration::MAX);
        assert_eq!(huge.ceiling(5), RetryPolicy::MAX_DELAY);
        let capped = RetryPolicy {
            max_delay: Duration::from_millis(250),
            ..p
        };
        assert_eq!(capped.ceiling(3), Duration::from_millis(250));
    }

    #[test]
    fn the_delay_lies_between_half_the_ceiling_and_the_ceiling() {
        let p = policy(3);
        assert_eq!(p.delay(1, |_| 0), Duration::from_millis(50));
        assert_eq!(p.delay(1, |span| span), Duration::from_millis(100));
        assert_eq!(p.delay(3, |span| span / 2), Duration::from_millis(300));
        // A draw out of range is held to the ceiling.
        assert_eq!(p.delay(2, |_| u64::MAX), Duration::from_millis(200));
        assert_eq!(p.delay(40, |span| span), RetryPolicy::MAX_DELAY);
        let mut offered = None;
        p.delay(2, |span| {
            offered = Some(span);
            0
        });
        assert_eq!(offered, Some(100), "the jitter spans the upper half");
    }

    #[test]
    fn reads_are_repeated_after_any_temporary_trouble() {
        let p = policy(2);
        for outcome in [Outcome::MayHaveRun, Outcome::NotRun] {
            assert!(p.retries(Access::Read, outcome, 1), "{outcome:?}");
            assert!(p.retries(Access::Read, outcome, 2), "{outcome:?}");
        }
    }

    #[test]
    fn writes_are_repeated_only_when_they_certainly_did_not_run() {
        let p = policy(2);
        assert!(p.retries(Access::Write, Outcome::NotRun, 1));
        assert!(!p.retries(Access::Write, Outcome::MayHaveRun, 1));
    }

    #[test]
    fn success_and_final_failures_are_never_repeated() {
        let p = policy(5);
        for access in [Access::Read, Access::Write] {
            assert!(!p.retries(access, Outcome::Done, 1));
            assert!(!p.retries(access, Outcome::Final, 1));
        }
    }

    #[test]
    fn attempts_stop_after_the_configured_retries() {
        let p = policy(2);
        assert!(p.retries(Access::Read, Outcome::MayHaveRun, 2));
        assert!(!p.retries(Access::Read, Outcome::MayHaveRun, 3));
        assert!(!p.retries(Access::Write, Outcome::NotRun, 3));
        let none = policy(0);
        assert!(!none.retries(Access::Read, Outcome::NotRun, 1));
    }
}
