//! `[events]`: the shared secret that signs `POST /api/events` (WHMCS hooks).

use super::sources::{secret, Env, Secret};
use anyhow::bail;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawEvents {
    /// HMAC-SHA256 key of the event signatures (also DOMWATCH_EVENTS_SECRET(_FILE)).
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
}

/// A guessable key would let anyone trigger checks: ask for a real one.
const MIN_SECRET_CHARS: usize = 32;

impl RawEvents {
    /// The secret, or `None`: events are refused with 503 until one is set.
    pub fn resolve(&self, env: &dyn Env) -> anyhow::Result<Option<Secret>> {
        let secret = secret(
            env,
            &["EVENTS_SECRET"],
            "events.secret",
            self.secret.as_ref(),
            self.secret_file.as_ref(),
        )?;
        if let Some(s) = &secret {
            let s = s.expose();
            if s.chars().count() < MIN_SECRET_CHARS
                || s.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                bail!("`events.secret` must be at least {MIN_SECRET_CHARS} characters without spaces: make one with `openssl rand -hex 32` and put the same value into the WHMCS addon");
            }
        }
        Ok(secret)
    }
}
