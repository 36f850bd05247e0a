//! Outbound webhooks: tells configured URLs about case changes (`case.opened`,
//! `case.reopened`, `case.resolved`, `fix.applied`, `action.automatic`).
//!
//! The store queues each event in the transaction of the change it tells (its outbox);
//! [`Dispatcher`] fans the events out to the endpoints, claims due deliveries, sends them
//! signed ([`sign`]) and retries failures with exponential backoff
//! (`domwatch_core::webhook::retry_delay`). A crash between sending and recording sends
//! the delivery again under the same id, which receivers use to de-duplicate.
//!
//! Neither an endpoint's URL (Slack's carry a token in the path) nor its secret is ever
//! logged or stored: the store and the logs know an endpoint by its host and a hash.

mod dispatch;
mod endpoint;
mod payload;

pub use dispatch::{DeliveryReport, Dispatcher};
pub use endpoint::{Endpoint, EndpointError, Format};
pub use payload::body;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `X-Domwatch-Timestamp`: unix seconds when the request was signed.
pub const TIMESTAMP_HEADER: &str = "X-Domwatch-Timestamp";
/// `X-Domwatch-Signature`: `sha256=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "X-Domwatch-Signature";

/// The signature header value of `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_an_independent_computation() {
        // HMAC-SHA256("secret", "1700000000.{}"), computed with Python's hmac module.
        assert_eq!(
            sign(b"secret", 1_700_000_000, b"{}"),
            "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
    }
}
