//! `[[webhooks]]`: outbound webhooks, each validated with an error naming its index.

use super::sources::{secret, Env};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub url: Option<String>,
    /// Also `DOMWATCH_WEBHOOKS_<N>_SECRET(_FILE)`, N counting from 0.
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    /// Default: every event.
    pub events: Option<Vec<String>>,
    /// json (default) | text (Slack, Mattermost, Teams).
    pub format: Option<String>,
}

pub(super) fn resolve_webhooks(
    raw: &[RawWebhook],
    env: &dyn Env,
) -> anyhow::Result<Vec<domwatch_webhooks::Endpoint>> {
    let mut endpoints: Vec<domwatch_webhooks::Endpoint> = Vec::with_capacity(raw.len());
    for (i, w) in raw.iter().enumerate() {
        let name = format!("webhooks[{i}]");
        let Some(url) = w.url.as_deref().filter(|u| !u.is_empty()) else {
            anyhow::bail!("`{name}.url` is missing: the receiver's address, e.g. https://hooks.example.com/domwatch");
        };
        let index = i.to_string();
        let secret = secret(
            env,
            &["WEBHOOKS", &index, "SECRET"],
            &format!("{name}.secret"),
            w.secret.as_ref(),
            w.secret_file.as_ref(),
        )?;
        let endpoint = domwatch_webhooks::Endpoint::new(
            url,
            secret.map(|s| s.expose().to_string()),
            w.events.as_deref(),
            w.format.as_deref(),
        )
        .map_err(|e| anyhow::anyhow!("`{name}`: {e}"))?;
        if endpoints.iter().any(|e| e.key() == endpoint.key()) {
            anyhow::bail!("`{name}.url` repeats an earlier webhook's URL: list each receiver once (with every event it takes)");
        }
        endpoints.push(endpoint);
    }
    Ok(endpoints)
}
