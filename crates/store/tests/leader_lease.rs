//! The leader lease of `domwatch serve`, on SQLite and PostgreSQL: of racing instances
//! exactly one holds it, an expired lease is taken over, only the holder renews it.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domwatch_store::*;

#[macro_use]
mod harness;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 3, 0, 0).unwrap()
}

const LEASE: Duration = Duration::seconds(30);

on_both_backends!(
    of_racing_instances_exactly_one_takes_the_lease,
    an_expired_lease_is_taken_over_and_the_old_holder_cannot_renew,
    only_the_holder_renews_and_release_hands_over_at_once,
    a_check_request_reaches_the_holder_once,
);

/// Twenty attempts at the same instant from ten holders (two each): one holder wins,
/// every other attempt is refused, and the stored holder is the winner.
async fn of_racing_instances_exactly_one_takes_the_lease(store: &Store) {
    let attempts = (0..20).map(|i| {
        let store = store.clone();
        let holder = format!("instance-{}", i % 10);
        async move {
            let got = store
                .acquire_lease(SCHEDULER_LEASE, &holder, t0(), t0() + LEASE)
                .await
                .unwrap();
            got.map(|_| holder)
        }
    });
    let results = futures_join_all(attempts).await;
    let winners: std::collections::BTreeSet<String> = results.into_iter().flatten().collect();
    assert_eq!(winners.len(), 1, "exactly one holder: {winners:?}");
    let stored = store.lease(SCHEDULER_LEASE).await.unwrap().unwrap();
    assert!(winners.contains(&stored.holder));
    assert_eq!(stored.expires_at, t0() + LEASE);
    assert!(stored.is_held_at(t0() + LEASE - Duration::seconds(1)));
}

/// Runs the futures concurrently (each on its own task, so PostgreSQL sees real races).
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn an_expired_lease_is_taken_over_and_the_old_holder_cannot_renew(store: &Store) {
    let a = store
        .acquire_lease(SCHEDULER_LEASE, "a", t0(), t0() + LEASE)
        .await
        .unwrap()
        .expect("a free lease is taken");
    assert_eq!((a.holder.as_str(), a.acquired_at), ("a", t0()));
    // While it runs, b is refused, even a microsecond before the end.
    let almost = t0() + LEASE;
    assert_eq!(
        store
            .acquire_lease(SCHEDULER_LEASE, "b", almost, almost + LEASE)
            .await
            .unwrap(),
        None
    );
    // After it ran out, b takes it over; a can neither renew nor take it back.
    let later = t0() + LEASE + Duration::milliseconds(1);
    let b = store
        .acquire_lease(SCHEDULER_LEASE, "b", later, later + LEASE)
        .await
        .unwrap()
        .expect("an expired lease is taken over");
    assert_eq!((b.holder.as_str(), b.acquired_at), ("b", later));
    assert!(!store
        .renew_lease(SCHEDULER_LEASE, "a", later, later + LEASE)
        .await
        .unwrap());
    assert_eq!(
        store
            .acquire_lease(SCHEDULER_LEASE, "a", later, later + LEASE)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.lease(SCHEDULER_LEASE).await.unwrap().unwrap().holder,
        "b"
    );
}

async fn only_the_holder_renews_and_release_hands_over_at_once(store: &Store) {
    assert!(
        !store
            .renew_lease(SCHEDULER_LEASE, "a", t0(), t0() + LEASE)
            .await
            .unwrap(),
        "nothing to renew before the lease was taken"
    );
    store
        .acquire_lease(SCHEDULER_LEASE, "a", t0(), t0() + LEASE)
        .await
        .unwrap()
        .unwrap();
    let t1 = t0() + Duration::seconds(10);
    assert!(!store
        .renew_lease(SCHEDULER_LEASE, "b", t1, t1 + LEASE)
        .await
        .unwrap());
    assert!(store
        .renew_lease(SCHEDULER_LEASE, "a", t1, t1 + LEASE)
        .await
        .unwrap());
    let lease = store.lease(SCHEDULER_LEASE).await.unwrap().unwrap();
    assert_eq!(
        (lease.acquired_at, lease.renewed_at, lease.expires_at),
        (t0(), t1, t1 + LEASE),
        "a renewal moves the expiry, not the time it was taken"
    );
    // Taking it again as its holder renews it too and keeps `acquired_at`.
    let t2 = t1 + Duration::seconds(10);
    let again = store
        .acquire_lease(SCHEDULER_LEASE, "a", t2, t2 + LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.acquired_at, again.expires_at), (t0(), t2 + LEASE));
    // An expired lease is not renewed, even by its holder (it must take it again).
    let late = t2 + LEASE + Duration::seconds(1);
    assert!(!store
        .renew_lease(SCHEDULER_LEASE, "a", late, late + LEASE)
        .await
        .unwrap());
    store
        .acquire_lease(SCHEDULER_LEASE, "a", late, late + LEASE)
        .await
        .unwrap()
        .unwrap();
    // Releasing: b takes it at once; a release by a non-holder changes nothing.
    assert!(!store.release_lease(SCHEDULER_LEASE, "b").await.unwrap());
    assert!(store.release_lease(SCHEDULER_LEASE, "a").await.unwrap());
    let b = store
        .acquire_lease(SCHEDULER_LEASE, "b", late, late + LEASE)
        .await
        .unwrap()
        .expect("a released lease is free");
    assert_eq!(b.holder, "b");
}

async fn a_check_request_reaches_the_holder_once(store: &Store) {
    assert!(
        !store.request_check(SCHEDULER_LEASE, t0()).await.unwrap(),
        "no leader yet: nobody to ask"
    );
    store
        .acquire_lease(SCHEDULER_LEASE, "a", t0(), t0() + LEASE)
        .await
        .unwrap()
        .unwrap();
    assert!(!store
        .take_check_request(SCHEDULER_LEASE, "a")
        .await
        .unwrap());
    assert!(store.request_check(SCHEDULER_LEASE, t0()).await.unwrap());
    assert!(
        !store
            .take_check_request(SCHEDULER_LEASE, "b")
            .await
            .unwrap(),
        "only the holder takes it"
    );
    assert!(store
        .take_check_request(SCHEDULER_LEASE, "a")
        .await
        .unwrap());
    assert!(!store
        .take_check_request(SCHEDULER_LEASE, "a")
        .await
        .unwrap());
}
