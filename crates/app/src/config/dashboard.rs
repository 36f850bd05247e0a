//! `[serve]` dashboard settings: host allow-list, trusted proxies, login throttling,
//! session lifetimes, the metrics token and request timeouts.

use super::file::RawServe;
use super::sources::{secret, Env, Secret};
use anyhow::bail;
use std::net::IpAddr;

/// The dashboard's login, session and request limits, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardSettings {
    /// Configured entries; the loopback names and the listen address are always allowed.
    pub allowed_hosts: Vec<String>,
    pub trusted_proxies: Vec<IpAddr>,
    pub login_max_failures: u32,
    pub login_window_minutes: u64,
    pub session_idle_minutes: u64,
    pub session_absolute_hours: u64,
    pub metrics_token: Option<Secret>,
    pub header_read_timeout_seconds: u64,
    pub body_read_timeout_seconds: u64,
}

/// Minimum length of `serve.metrics_token` (it guards business figures).
const MIN_METRICS_TOKEN_CHARS: usize = 16;

fn in_range(
    key: &str,
    value: Option<u64>,
    default: u64,
    min: u64,
    max: u64,
    unit: &str,
) -> anyhow::Result<u64> {
    let v = value.unwrap_or(default);
    if !(min..=max).contains(&v) {
        bail!("`serve.{key}` = {v} is out of range: use {min} to {max} {unit} (default {default})");
    }
    Ok(v)
}

impl RawServe {
    pub(super) fn dashboard(&self, env: &dyn Env) -> anyhow::Result<DashboardSettings> {
        for host in &self.allowed_hosts {
            domwatch_web::AllowedHosts::check_entry(host)
                .map_err(|e| anyhow::anyhow!("`serve.allowed_hosts`: {e}"))?;
        }
        let trusted_proxies = self.trusted_proxy_addresses()?;
        let metrics_token = self.checked_metrics_token(env)?;
        let (session_idle_minutes, session_absolute_hours) = self.session_lifetimes()?;
        Ok(DashboardSettings {
            allowed_hosts: self.allowed_hosts.clone(),
            trusted_proxies,
            login_max_failures: in_range(
                "login_max_failures",
                self.login_max_failures.map(u64::from),
                5,
                1,
                1000,
                "failures",
            )? as u32,
            login_window_minutes: in_range(
                "login_window_minutes",
                self.login_window_minutes,
                5,
                1,
                24 * 60,
                "minutes",
            )?,
            session_idle_minutes,
            session_absolute_hours,
            metrics_token,
            header_read_timeout_seconds: in_range(
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
                10,
                1,
                300,
                "seconds",
            )?,
            body_read_timeout_seconds: in_range(
                "body_read_timeout_seconds",
                self.body_read_timeout_seconds,
                30,
                1,
                3600,
                "seconds",
            )?,
        })
    }

    /// `interval_minutes` (default 60) or `interval_seconds`, not both.
    pub(super) fn interval(&self) -> anyhow::Result<std::time::Duration> {
        let seconds = match (self.interval_minutes, self.interval_seconds) {
            (Some(_), Some(_)) => bail!(
                "`serve.interval_minutes` and `serve.interval_seconds` are both set: keep one"
            ),
            (minutes, None) => {
                in_range("interval_minutes", minutes, 60, 1, 7 * 24 * 60, "minutes")? * 60
            }
            (None, seconds) => in_range(
                "interval_seconds",
                seconds,
                3600,
                1,
                7 * 24 * 3600,
                "seconds",
            )?,
        };
        Ok(std::time::Duration::from_secs(seconds))
    }

    /// `lease_seconds`: an instance that dies is replaced within about 4/3 of it.
    pub(super) fn lease(&self) -> anyhow::Result<std::time::Duration> {
        let seconds = in_range("lease_seconds", self.lease_seconds, 30, 2, 3600, "seconds")?;
        Ok(std::time::Duration::from_secs(seconds))
    }

    fn trusted_proxy_addresses(&self) -> anyhow::Result<Vec<IpAddr>> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                p.trim().parse().map_err(|_| {
                    anyhow::anyhow!("`serve.trusted_proxies` contains `{p}`, which is not an IP address: list the proxies' addresses, e.g. [\"127.0.0.1\"]")
                })
            })
            .collect()
    }

    fn checked_metrics_token(&self, env: &dyn Env) -> anyhow::Result<Option<Secret>> {
        let metrics_token = secret(
            env,
            &["METRICS_TOKEN"],
            "serve.metrics_token",
            self.metrics_token.as_ref(),
            self.metrics_token_file.as_ref(),
        )?;
        if let Some(token) = &metrics_token {
            let t = token.expose();
            if t.chars().count() < MIN_METRICS_TOKEN_CHARS
                || t.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                bail!("`serve.metrics_token` must be at least {MIN_METRICS_TOKEN_CHARS} characters without spaces: make one with `openssl rand -hex 32`");
            }
        }
        Ok(metrics_token)
    }

    /// `(session_idle_minutes, session_absolute_hours)`; the idle limit is the shorter one.
    fn session_lifetimes(&self) -> anyhow::Result<(u64, u64)> {
        let session_idle_minutes = in_range(
            "session_idle_minutes",
            self.session_idle_minutes,
            30,
            1,
            7 * 24 * 60,
            "minutes",
        )?;
        let session_absolute_hours = in_range(
            "session_absolute_hours",
            self.session_absolute_hours,
            12,
            1,
            30 * 24,
            "hours",
        )?;
        if session_idle_minutes > session_absolute_hours * 60 {
            bail!("`serve.session_idle_minutes` = {session_idle_minutes} is longer than `serve.session_absolute_hours` = {session_absolute_hours}: make the idle limit the shorter one");
        }
        Ok((session_idle_minutes, session_absolute_hours))
    }
}
