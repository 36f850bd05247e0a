//! API tokens and the inbound event queue, on SQLite and PostgreSQL.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domwatch_store::*;

#[macro_use]
mod harness;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

on_both_backends!(
    tokens_are_created_once_listed_used_and_revoked,
    events_are_queued_once_and_replays_refused,
    events_are_claimed_by_one_worker_and_retried_after_a_lease,
);

async fn tokens_are_created_once_listed_used_and_revoked(store: &Store) {
    let id = store
        .create_api_token("whmcs", "fix", "aa11", t0())
        .await
        .unwrap()
        .expect("a new name is stored");
    assert_eq!(
        store
            .create_api_token("whmcs", "read", "bb22", t0())
            .await
            .unwrap(),
        None,
        "a name is taken once"
    );
    let found = store.api_token_by_hash("aa11").await.unwrap().unwrap();
    assert_eq!(
        (found.id, found.name.as_str(), found.scope.as_str()),
        (id, "whmcs", "fix")
    );
    assert_eq!(found.last_used_at, None);
    assert!(store.api_token_by_hash("bb22").await.unwrap().is_none());

    store.touch_api_token(id, t0()).await.unwrap();
    // Within a minute the first use stands; later it moves on.
    store
        .touch_api_token(id, t0() + Duration::seconds(30))
        .await
        .unwrap();
    let used = store.api_token_by_hash("aa11").await.unwrap().unwrap();
    assert_eq!(used.last_used_at, Some(t0()));
    store
        .touch_api_token(id, t0() + Duration::seconds(90))
        .await
        .unwrap();
    let used = store.api_token_by_hash("aa11").await.unwrap().unwrap();
    assert_eq!(used.last_used_at, Some(t0() + Duration::seconds(90)));

    assert!(store.revoke_api_token("whmcs", t0()).await.unwrap());
    assert!(
        !store.revoke_api_token("whmcs", t0()).await.unwrap(),
        "revoked once"
    );
    assert!(!store.revoke_api_token("nobody", t0()).await.unwrap());
    let listed = store.api_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].is_revoked());
}

fn paid(signature: &str, domains: &[&str]) -> NewInboundEvent {
    NewInboundEvent {
        signature: signature.into(),
        event: "InvoicePaid".into(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        invoice_id: Some(7),
        received_at: t0(),
    }
}

async fn events_are_queued_once_and_replays_refused(store: &Store) {
    let id = store
        .queue_event(&paid("sig-1", &["example.com", "example.net"]))
        .await
        .unwrap()
        .expect("queued");
    assert_eq!(
        store.queue_event(&paid("sig-1", &[])).await.unwrap(),
        None,
        "a replay"
    );
    let stored = store.inbound_event(id).await.unwrap().unwrap();
    assert_eq!(stored.status, "queued");
    assert_eq!(stored.domains, ["example.com", "example.net"]);
    assert_eq!(stored.invoice_id, Some(7));
    assert_eq!(store.inbound_events(10).await.unwrap().len(), 1);
}

async fn events_are_claimed_by_one_worker_and_retried_after_a_lease(store: &Store) {
    let first = store
        .queue_event(&paid("a", &["a.com"]))
        .await
        .unwrap()
        .unwrap();
    let second = store
        .queue_event(&paid("b", &["b.com"]))
        .await
        .unwrap()
        .unwrap();
    let lease = t0() + Duration::seconds(60);

    // Ten workers race for two events: each event goes to exactly one of them.
    let claims = futures_join(store, 10, lease).await;
    let mut ids: Vec<i64> = claims.iter().flatten().map(|e| e.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [first, second]);

    // The holder of `first` dies; before its lease ends nobody else gets it.
    assert!(store
        .claim_event("w-late", t0(), lease)
        .await
        .unwrap()
        .is_none());
    let owner_of_second = claims.iter().flatten().find(|e| e.id == second).unwrap();
    let owner = owner_of_second.owner.clone().unwrap();
    assert!(store
        .finish_event(second, &owner, EventOutcome::Done, "checked b.com", t0())
        .await
        .unwrap());
    assert!(
        !store
            .finish_event(second, &owner, EventOutcome::Done, "again", t0())
            .await
            .unwrap(),
        "done once"
    );
    // After the lease a new worker takes the crashed claim over.
    let later = lease + Duration::seconds(1);
    let retaken = store
        .claim_event("w-new", later, later + Duration::seconds(60))
        .await
        .unwrap()
        .expect("the expired claim is taken again");
    assert_eq!((retaken.id, retaken.attempts), (first, 2));
    // The dead worker can no longer finish it.
    let dead = claims.iter().flatten().find(|e| e.id == first).unwrap();
    assert!(!store
        .finish_event(
            first,
            dead.owner.as_deref().unwrap(),
            EventOutcome::Done,
            "",
            later
        )
        .await
        .unwrap());
    // A retry waits until `not_before`.
    let not_before = later + Duration::seconds(30);
    assert!(store
        .finish_event(
            first,
            "w-new",
            EventOutcome::Retry { not_before },
            "WHMCS down",
            later
        )
        .await
        .unwrap());
    let soon = later + Duration::seconds(10);
    assert!(store.claim_event("w", soon, soon).await.unwrap().is_none());
    let due = not_before + Duration::seconds(1);
    let again = store
        .claim_event("w", due, due + Duration::seconds(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.attempts), (first, 3));
    assert!(store
        .finish_event(first, "w", EventOutcome::Failed, "gave up", due)
        .await
        .unwrap());
    let failed = store.inbound_event(first).await.unwrap().unwrap();
    assert_eq!(
        (failed.status.as_str(), failed.result.as_deref()),
        ("failed", Some("gave up"))
    );
    assert_eq!(
        store.inbound_event(second).await.unwrap().unwrap().status,
        "done"
    );
}

/// `n` workers claim at once.
async fn futures_join(
    store: &Store,
    n: usize,
    lease: DateTime<Utc>,
) -> Vec<Option<InboundEventRecord>> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .claim_event(&format!("w{i}"), t0(), lease)
                .await
                .unwrap()
        }));
    }
    let mut claims = Vec::new();
    for t in tasks {
        claims.push(t.await.unwrap());
    }
    claims
}
