//! The retry loop shared by the CNR/ISPAPI, Smart-NIC and WHMCS clients. The rules live
//! in [`domwatch_core::retry`]; this crate only adds what the pure core must not do:
//! draw the random jitter and sleep on tokio. Each client says how to judge its own
//! results and what to log before a retry; [`failure`] puts their transport failures
//! into words.

pub mod failure;

use rand::Rng;
use std::future::Future;
use std::time::Duration;

pub use domwatch_core::retry::{Access, Outcome, RetryPolicy};

/// Makes attempts until one works, fails for good, or `policy` says stop, pausing a
/// jittered backoff in between. `attempt(n)` makes attempt `n` (the first is 1), `judge`
/// says what its result came to, and `before_retry(result, n, delay)` is told about each
/// result that is tried again (to log it). Returns the last result and the attempts made.
pub async fn run<T, Fut>(
    policy: &RetryPolicy,
    access: Access,
    mut attempt: impl FnMut(u32) -> Fut,
    judge: impl Fn(&T) -> Outcome,
    mut before_retry: impl FnMut(&T, u32, Duration),
) -> (T, u32)
where
    Fut: Future<Output = T>,
{
    let mut made = 0;
    loop {
        made += 1;
        let result = attempt(made).await;
        if !policy.retries(access, judge(&result), made) {
            return (result, made);
        }
        let delay = pause(policy, made);
        before_retry(&result, made, delay);
        tokio::time::sleep(delay).await;
    }
}

/// The pause after attempt `attempt`, with a random jitter: in `[d/2, d]`.
pub fn pause(policy: &RetryPolicy, attempt: u32) -> Duration {
    policy.delay(attempt, |span| rand::thread_rng().gen_range(0..=span))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn policy(max_retries: u32) -> RetryPolicy {
        RetryPolicy::new(max_retries, Duration::from_millis(2))
    }

    /// Runs with every attempt coming to `outcome`; returns the attempts made and the
    /// attempts and delays `before_retry` was told about.
    async fn always(
        policy: &RetryPolicy,
        access: Access,
        outcome: Outcome,
    ) -> (u32, Vec<(u32, Duration)>) {
        let told = RefCell::new(Vec::new());
        let (last, made) = run(
            policy,
            access,
            |n| async move { n },
            |_| outcome,
            |result, n, delay| {
                assert_eq!(*result, n, "told about the attempt just made");
                told.borrow_mut().push((n, delay));
            },
        )
        .await;
        assert_eq!(last, made, "the last result is returned");
        (made, told.into_inner())
    }

    #[tokio::test]
    async fn a_read_in_trouble_is_tried_until_the_retries_are_spent() {
        let p = policy(3);
        let (made, told) = always(&p, Access::Read, Outcome::MayHaveRun).await;
        assert_eq!(made, 4, "1 attempt + 3 retries");
        let attempts: Vec<u32> = told.iter().map(|(n, _)| *n).collect();
        assert_eq!(attempts, vec![1, 2, 3]);
        for (n, delay) in told {
            assert!(
                delay >= p.ceiling(n) / 2 && delay <= p.ceiling(n),
                "{n}: {delay:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_write_that_may_have_run_is_sent_once() {
        let (made, told) = always(&policy(3), Access::Write, Outcome::MayHaveRun).await;
        assert_eq!((made, told.len()), (1, 0));
    }

    #[tokio::test]
    async fn a_write_that_did_not_run_is_tried_again() {
        let (made, _) = always(&policy(2), Access::Write, Outcome::NotRun).await;
        assert_eq!(made, 3);
    }

    #[tokio::test]
    async fn success_and_final_failures_end_at_once() {
        for outcome in [Outcome::Done, Outcome::Final] {
            let (made, told) = always(&policy(3), Access::Read, outcome).await;
            assert_eq!((made, told.len()), (1, 0), "{outcome:?}");
        }
    }

    #[tokio::test]
    async fn a_success_after_trouble_ends_the_loop() {
        let (last, made) = run(
            &policy(5),
            Access::Read,
            |n| async move { n },
            |n| {
                if *n < 3 {
                    Outcome::NotRun
                } else {
                    Outcome::Done
                }
            },
            |_, _, _| {},
        )
        .await;
        assert_eq!((last, made), (3, 3));
    }

    #[test]
    fn the_random_pause_stays_in_range() {
        let p = RetryPolicy::new(3, Duration::from_millis(100));
        for _ in 0..50 {
            let delay = pause(&p, 2);
            assert!(delay >= Duration::from_millis(100) && delay <= Duration::from_millis(200));
        }
        assert!(pause(&p, 40) <= RetryPolicy::MAX_DELAY);
    }
}
