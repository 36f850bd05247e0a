//! Delivering the outbox: fan out, claim, send signed, record, back off.

use crate::{body, sign, Endpoint, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use chrono::{DateTime, Duration, Utc};
use domwatch_core::webhook::{retries_left, retry_delay};
use domwatch_store::{
    ClaimedDelivery, DeliveryOutcome, Store, StoreError, WebhookEndpoint, PRUNE_AFTER,
};
use futures::stream::{self, StreamExt};
use rand::Rng;
use std::collections::HashMap;
use std::sync::Arc;

/// Deliveries claimed per round, and sent at once.
const BATCH: i64 = 32;
const CONCURRENT: usize = 4;
/// One try may take this long; the claim outlives every try of a batch.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const LEASE: Duration = Duration::seconds(120);
/// Rounds per pass: a pass ends even if events keep arriving.
const MAX_ROUNDS: usize = 50;

/// What one delivery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Failed this time, tried again later.
    pub retrying: usize,
    /// Failed for the last time.
    pub gave_up: usize,
}

/// Sends the outbox to the configured endpoints. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    endpoints: Arc<HashMap<String, Endpoint>>,
    client: reqwest::Client,
}

impl Dispatcher {
    pub fn new(store: Store, endpoints: Vec<Endpoint>) -> Dispatcher {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(std::time::Duration::from_secs(5))
            // A redirect could carry the signed body elsewhere: a 3xx is a failure.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("domwatch-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        let endpoints = endpoints.into_iter().map(|e| (e.key(), e)).collect();
        Dispatcher {
            store,
            endpoints: Arc::new(endpoints),
            client,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// Records the configured endpoints in the store. Call it before a cycle: events are
    /// queued once an endpoint is registered, and each gets those from then on.
    pub async fn register(&self) -> Result<(), StoreError> {
        let endpoints: Vec<WebhookEndpoint> = self
            .endpoints
            .iter()
            .map(|(key, e)| WebhookEndpoint {
                key: key.clone(),
                host: e.host(),
            })
            .collect();
        self.store.register_webhook_endpoints(&endpoints).await
    }

    /// Creates a delivery per endpoint for each event it takes that has none yet.
    pub async fn fan_out(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        for (key, endpoint) in self.endpoints.iter() {
            self.store
                .fan_out_webhook_events(key, endpoint.events(), now, &mut new_delivery_id)
                .await?;
        }
        Ok(())
    }

    /// Delivers everything due at `now`: new events and retries whose time has come.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        if self.endpoints.is_empty() {
            return Ok(report);
        }
        self.fan_out(now).await?;
        let owner = format!(
            "webhooks-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let keys: Vec<String> = self.endpoints.keys().cloned().collect();
        for _ in 0..MAX_ROUNDS {
            let claimed = self
                .store
                .claim_webhook_deliveries(&owner, &keys, now, now + LEASE, BATCH)
                .await?;
            if claimed.is_empty() {
                break;
            }
            // Owned items and a cloned dispatcher keep the future `Send` for `tokio::spawn`.
            let outcomes: Vec<(i64, DeliveryOutcome)> = stream::iter(claimed)
                .map(|d| {
                    let this = self.clone();
                    async move { (d.id, this.try_once(&d, now).await) }
                })
                .buffer_unordered(CONCURRENT)
                .collect()
                .await;
            for (id, outcome) in outcomes {
                if !self
                    .store
                    .finish_webhook_delivery(id, &owner, now, &outcome)
                    .await?
                {
                    tracing::warn!(delivery = id, "a webhook delivery's claim ran out before its result was recorded; it is sent again under the same id");
                    continue;
                }
                match outcome {
                    DeliveryOutcome::Delivered { .. } => report.delivered += 1,
                    DeliveryOutcome::Failed {
                        retry_at: Some(_), ..
                    } => report.retrying += 1,
                    DeliveryOutcome::Failed { retry_at: None, .. } => report.gave_up += 1,
                }
            }
        }
        self.store.prune_webhook_outbox(now - PRUNE_AFTER).await?;
        Ok(report)
    }

    /// One try of one delivery; the outcome says when to try again.
    async fn try_once(&self, d: &ClaimedDelivery, now: DateTime<Utc>) -> DeliveryOutcome {
        let Some(endpoint) = self.endpoints.get(&d.endpoint) else {
            return DeliveryOutcome::Failed {
                status: None,
                error: "this endpoint is not configured in this domwatch process".into(),
                retry_at: Some(now + Duration::hours(1)),
            };
        };
        let (status, error) = match self.post(endpoint, d, now).await {
            Ok(status) if (200..300).contains(&status) => {
                tracing::info!(event = %d.event, host = %endpoint.host(), status, attempt = d.attempts, "webhook delivered");
                return DeliveryOutcome::Delivered { status };
            }
            Ok(status) => (Some(status), format!("HTTP {status}")),
            Err(error) => (None, error),
        };
        // 410 Gone: the receiver says the hook no longer exists.
        let retry_at = (retries_left(d.attempts) && status != Some(410)).then(|| {
            let delay = retry_delay(d.attempts);
            let jitter = rand::thread_rng().gen_range(0..=delay.num_seconds() / 10);
            now + delay + Duration::seconds(jitter)
        });
        tracing::warn!(event = %d.event, host = %endpoint.host(), attempt = d.attempts, %error,
            next_retry = %retry_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "none: gave up".into()),
            "webhook delivery failed");
        DeliveryOutcome::Failed {
            status,
            error,
            retry_at,
        }
    }

    /// Posts the signed body; the HTTP status, or why there was none (without the URL).
    async fn post(
        &self,
        endpoint: &Endpoint,
        d: &ClaimedDelivery,
        now: DateTime<Utc>,
    ) -> Result<u16, String> {
        let body = body(endpoint.format(), d);
        let mut request = self
            .client
            .post(endpoint.url().clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Domwatch-Event", &d.event)
            .header("X-Domwatch-Delivery", &d.delivery_id);
        if let Some(secret) = endpoint.secret() {
            let timestamp = now.timestamp();
            request = request
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .header(SIGNATURE_HEADER, sign(secret.as_bytes(), timestamp, &body));
        }
        match request.body(body).send().await {
            Ok(answer) => Ok(answer.status().as_u16()),
            Err(e) if e.is_timeout() => Err(format!("no answer within {} s", TIMEOUT.as_secs())),
            Err(e) if e.is_connect() => Err("cannot connect".into()),
            Err(e) => Err(e.without_url().to_string()),
        }
    }
}

/// A random (version 4) UUID: the id receivers de-duplicate by.
fn new_delivery_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn delivery_ids_are_v4_uuids() {
        let id = super::new_delivery_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, super::new_delivery_id());
    }
}
