//! Webhooks end to end against a local receiver (axum on 127.0.0.1), on SQLite and
//! PostgreSQL: events queued with the case changes, signed, retried after 500s with
//! backoff, resent under the same id after a sender died between sending and recording,
//! never sent twice.
//!
//! PostgreSQL: `DOMWATCH_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! skipped with `SKIPPED` when unreachable, failed instead with
//! `DOMWATCH_REQUIRE_POSTGRES=1` or `CI=true`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, Duration, TimeZone, Utc};
use domwatch_core::detect::{CaseKind, Facts, Finding};
use domwatch_core::plan::Action;
use domwatch_core::{Currency, DomainName, Money};
use domwatch_store::{AuditEntry, Lease, Store};
use domwatch_webhooks::{sign, Dispatcher, Endpoint};
use rust_decimal_macros::dec;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

const SECRET: &str = "test-secret-0123456789abcdef";

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A webhook receiver: answers 500 to the first `fail_first` requests, 200 after.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(fail_first: usize) -> (Receiver, String) {
        let receiver = Receiver::default();
        *receiver.fail_first.lock().unwrap() = fail_first;
        async fn hook(
            State(r): State<Receiver>,
            uri: axum::http::Uri,
            headers: HeaderMap,
            body: Bytes,
        ) -> StatusCode {
            r.got.lock().unwrap().push(Received {
                path: uri.path().to_string(),
                headers,
                body,
            });
            let mut fail = r.fail_first.lock().unwrap();
            if *fail > 0 {
                *fail -= 1;
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        }
        let app = axum::Router::new()
            .route("/json", post(hook))
            .route("/chat", post(hook))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, base)
    }

    fn got(&self, path: &str) -> Vec<Received> {
        let got = self.got.lock().unwrap();
        got.iter().filter(|r| r.path == path).cloned().collect()
    }
}

impl Received {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap().to_str().unwrap()
    }

    /// Checks the signature the way a receiver would.
    fn signature_is_valid(&self) -> bool {
        let ts: i64 = self.header("x-domwatch-timestamp").parse().unwrap();
        sign(SECRET.as_bytes(), ts, &self.body) == self.header("x-domwatch-signature")
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 11, 0, 0).unwrap()
}

fn finding(domain: &str) -> Finding {
    Finding {
        kind: CaseKind::TurnedPremium,
        domain: DomainName::parse(domain).unwrap(),
        billing_domain_id: Some(7),
        client_id: None,
        registrar_account: Some("cnr".into()),
        summary: format!("{domain} <b>is premium</b>"),
        evidence: vec![],
        at_stake: Some(Money::new(dec!(120), Currency::EUR)),
        facts: Facts::default(),
    }
}

fn scope(domains: &[&str]) -> HashSet<DomainName> {
    domains
        .iter()
        .map(|d| DomainName::parse(d).unwrap())
        .collect()
}

async fn sync(store: &Store, at: DateTime<Utc>, open: &[&str], observed: &[&str]) {
    let run = store.begin_run(at, false).await.unwrap();
    let findings: Vec<Finding> = open.iter().map(|d| finding(d)).collect();
    store
        .sync_findings(run, at, &findings, &scope(observed))
        .await
        .unwrap();
}

fn endpoints(base: &str) -> Vec<Endpoint> {
    vec![
        Endpoint::new(&format!("{base}/json"), Some(SECRET.into()), None, None).unwrap(),
        Endpoint::new(
            &format!("{base}/chat"),
            None,
            Some(&["case.opened".to_string()]),
            Some("text"),
        )
        .unwrap(),
    ]
}

async fn delivers_signed_retries_and_never_twice(store: &Store) {
    let (receiver, base) = Receiver::start(0).await;
    // Before any endpoint is configured nothing is queued, so a new endpoint gets no history.
    sync(store, t0() - Duration::days(1), &["old.com"], &["old.com"]).await;
    let dispatcher = Dispatcher::new(store.clone(), endpoints(&base));
    dispatcher.register().await.unwrap();
    *receiver.fail_first.lock().unwrap() = 0;

    sync(
        store,
        t0(),
        &["old.com", "a.com", "b.com"],
        &["old.com", "a.com", "b.com"],
    )
    .await;
    let first = dispatcher.deliver_due(t0()).await.unwrap();
    assert_eq!(first.delivered, 4, "{first:?}"); // 2 × json, 2 × chat
    let json = receiver.got("/json");
    assert_eq!(json.len(), 2);
    let mut domains: Vec<String> = json
        .iter()
        .map(|r| r.json()["case"]["domain"].as_str().unwrap().to_string())
        .collect();
    domains.sort();
    assert_eq!(domains, ["a.com", "b.com"]);
    for r in &json {
        assert!(r.signature_is_valid(), "bad signature: {r:?}");
        let v = r.json();
        assert_eq!(v["event"], "case.opened");
        assert_eq!(v["occurred_at"], "2026-12-02T11:00:00Z");
        assert_eq!(v["case"]["at_stake"]["amount"], "120.00");
        assert_eq!(v["case"]["at_stake"]["currency"], "EUR");
        assert_eq!(r.header("x-domwatch-delivery"), v["id"].as_str().unwrap());
        assert!(v["text"].as_str().unwrap().contains("opened"));
    }
    let chat = receiver.got("/chat");
    assert_eq!(chat.len(), 2);
    for r in &chat {
        let v = r.json();
        assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
        assert!(!v["text"].as_str().unwrap().contains('<'), "{v}");
        assert!(r.headers.get("x-domwatch-signature").is_none());
    }

    // Nothing new: nothing sent, also after the same findings come again.
    sync(
        store,
        t0() + Duration::hours(1),
        &["old.com", "a.com", "b.com"],
        &["old.com", "a.com", "b.com"],
    )
    .await;
    let again = dispatcher
        .deliver_due(t0() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(again.delivered, 0);
    assert_eq!(receiver.got.lock().unwrap().len(), 4);

    // a.com resolves; the receiver fails twice with 500: tried again after the backoff,
    // under the same delivery id, and not before it is due.
    *receiver.fail_first.lock().unwrap() = 2;
    let t1 = t0() + Duration::hours(2);
    sync(
        store,
        t1,
        &["old.com", "b.com"],
        &["old.com", "a.com", "b.com"],
    )
    .await;
    let failed = dispatcher.deliver_due(t1).await.unwrap();
    assert_eq!((failed.delivered, failed.retrying), (0, 1), "{failed:?}");
    let early = dispatcher
        .deliver_due(t1 + Duration::seconds(20))
        .await
        .unwrap();
    assert_eq!((early.delivered, early.retrying), (0, 0), "{early:?}");
    let second = dispatcher
        .deliver_due(t1 + Duration::seconds(34))
        .await
        .unwrap();
    assert_eq!((second.delivered, second.retrying), (0, 1), "{second:?}");
    let third = dispatcher
        .deliver_due(t1 + Duration::minutes(3))
        .await
        .unwrap();
    assert_eq!(third.delivered, 1, "{third:?}");
    let resolved: Vec<Received> = receiver
        .got("/json")
        .into_iter()
        .filter(|r| r.json()["event"] == "case.resolved")
        .collect();
    assert_eq!(resolved.len(), 3);
    let ids: HashSet<String> = resolved
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "retries keep the delivery id");
    assert!(resolved.iter().all(Received::signature_is_valid));
    assert_eq!(resolved[2].json()["case"]["state"], "resolved");
    assert_eq!(
        receiver.got("/chat").len(),
        2,
        "the chat endpoint takes openings only"
    );

    let log = store.webhook_deliveries(50).await.unwrap();
    let entry = log.iter().find(|d| d.event == "case.resolved").unwrap();
    assert_eq!((entry.status.as_str(), entry.attempts), ("delivered", 3));
    assert_eq!(entry.last_status, Some(200));
    assert!(entry.host.starts_with("127.0.0.1:"));
    assert_eq!(log.len(), 5);

    fix_and_automatic_events(store, &dispatcher, &receiver).await;
    let keys: Vec<String> = endpoints(&base).iter().map(Endpoint::key).collect();
    crash_between_send_and_record(store, &dispatcher, &receiver, &keys).await;

    // A month later the delivered rows are forgotten, and nothing goes out again.
    let later = t0() + Duration::days(31);
    assert!(
        store
            .prune_webhook_outbox(later - Duration::days(30))
            .await
            .unwrap()
            > 0
    );
    assert!(store.webhook_deliveries(50).await.unwrap().is_empty());
    let before = receiver.got.lock().unwrap().len();
    assert_eq!(dispatcher.deliver_due(later).await.unwrap().delivered, 0);
    assert_eq!(receiver.got.lock().unwrap().len(), before);
}

/// A Fix now write tells `fix.applied`; an automatic one (with a notice) `action.automatic`.
async fn fix_and_automatic_events(store: &Store, dispatcher: &Dispatcher, receiver: &Receiver) {
    let at = t0() + Duration::hours(3);
    let case = store
        .cases(domwatch_store::CaseFilter::open())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.domain.ascii() == "b.com")
        .unwrap();
    for (i, (actor, notice)) in [("admin", None), ("auto-delete", Some(case.openings))]
        .into_iter()
        .enumerate()
    {
        let action = Action::SetRecurringAmount {
            domain_id: 7,
            amount: Money::new(dec!(150) + rust_decimal::Decimal::from(i), Currency::EUR),
        };
        let lease = Lease {
            owner: actor.into(),
            now: at,
            until: at + Duration::minutes(5),
        };
        store
            .claim_action(Some(case.id), &action, &lease)
            .await
            .unwrap();
        let entry = AuditEntry {
            at,
            actor: actor.into(),
            system: "billing".into(),
            operation: "UpdateClientDomain".into(),
            object: "b.com".into(),
            request: serde_json::json!({}),
            ok: true,
            result: "done".into(),
            case_id: Some(case.id),
            run_id: None,
        };
        let key = action.idempotency_key();
        assert!(store
            .audit_and_finish_claimed(&entry, &key, actor, notice)
            .await
            .unwrap());
    }
    let report = dispatcher.deliver_due(at).await.unwrap();
    assert_eq!(report.delivered, 2, "{report:?}");
    let events: Vec<serde_json::Value> = receiver.got("/json").iter().map(Received::json).collect();
    let fix = events.iter().find(|v| v["event"] == "fix.applied").unwrap();
    let auto = events
        .iter()
        .find(|v| v["event"] == "action.automatic")
        .unwrap();
    assert_eq!(fix["case"]["domain"], "b.com");
    assert!(fix["case"]["action"]["description"]
        .as_str()
        .unwrap()
        .contains("150"));
    assert!(auto["case"]["action"]["description"]
        .as_str()
        .unwrap()
        .contains("151"));
}

/// A sender that claimed a delivery and died (maybe after sending) holds it until its
/// lease runs out; then it goes again under the same id, once.
async fn crash_between_send_and_record(
    store: &Store,
    dispatcher: &Dispatcher,
    receiver: &Receiver,
    keys: &[String],
) {
    let at = t0() + Duration::hours(4);
    sync(
        store,
        at,
        &["old.com", "b.com", "c.com"],
        &["old.com", "a.com", "b.com", "c.com"],
    )
    .await;
    dispatcher.fan_out(at).await.unwrap();
    let dead = store
        .claim_webhook_deliveries("dead sender", keys, at, at + Duration::minutes(2), 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 2, "c.com opened: json and chat");
    let before = receiver.got.lock().unwrap().len();
    let held = dispatcher
        .deliver_due(at + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(held.delivered, 0, "the lease still runs: {held:?}");
    let taken = dispatcher
        .deliver_due(at + Duration::minutes(3))
        .await
        .unwrap();
    assert_eq!(taken.delivered, 2, "{taken:?}");
    let sent = receiver.got.lock().unwrap()[before..].to_vec();
    let mut sent_ids: Vec<String> = sent
        .iter()
        .map(|r| r.header("x-domwatch-delivery").to_string())
        .collect();
    let mut claimed_ids: Vec<String> = dead.iter().map(|d| d.delivery_id.clone()).collect();
    sent_ids.sort();
    claimed_ids.sort();
    assert_eq!(sent_ids, claimed_ids);
    assert!(!store
        .finish_webhook_delivery(
            dead[0].id,
            "dead sender",
            at + Duration::minutes(4),
            &domwatch_store::DeliveryOutcome::Delivered { status: 200 }
        )
        .await
        .unwrap());
    let last = dispatcher
        .deliver_due(at + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(last.delivered, 0);
}

/// Four senders at once on one outbox: every delivery is sent exactly once.
async fn racing_senders_send_each_once(store: &Store) {
    let (receiver, base) = Receiver::start(0).await;
    let only_json =
        vec![Endpoint::new(&format!("{base}/json"), Some(SECRET.into()), None, None).unwrap()];
    let first = Dispatcher::new(store.clone(), only_json.clone());
    first.register().await.unwrap();
    let domains: Vec<String> = (0..40).map(|i| format!("race{i}.com")).collect();
    let names: Vec<&str> = domains.iter().map(String::as_str).collect();
    sync(store, t0(), &names, &names).await;
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let d = Dispatcher::new(store.clone(), only_json.clone());
        senders.spawn(async move { d.deliver_due(t0()).await.unwrap().delivered });
    }
    let mut delivered = 0;
    while let Some(n) = senders.join_next().await {
        delivered += n.unwrap();
    }
    assert_eq!(delivered, 40);
    let got = receiver.got("/json");
    let ids: HashSet<String> = got
        .iter()
        .map(|r| r.header("x-domwatch-delivery").to_string())
        .collect();
    assert_eq!((got.len(), ids.len()), (40, 40));
}

// ---- both backends -------------------------------------------------------------------

use domwatch_testkit::TestStore;

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = super::TestStore::sqlite().await;
                    super::$name(&db.store).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = super::TestStore::postgres(stringify!($name)).await {
                        super::$name(&db.store).await;
                        db.cleanup().await;
                    }
                }
            )*
        }
    };
}

on_both_backends!(
    delivers_signed_retries_and_never_twice,
    racing_senders_send_each_once
);
