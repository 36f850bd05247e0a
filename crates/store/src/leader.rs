//! The leader lease: of several `domwatch serve` instances on one database, exactly one
//! runs the scheduled cycles. The lease is a row with a holder and an expiry; it is taken
//! and renewed in one conditional statement, so of two instances racing for it exactly
//! one gets it (PostgreSQL locks the conflicting row and re-checks the condition; SQLite
//! has one writer). Times come from the caller's clock: instances on several machines
//! need clocks that agree well within the lease (NTP).

use crate::{get, parse_ts, q, ts, Result, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;

/// The lease of `domwatch serve`'s scheduler.
pub const SCHEDULER_LEASE: &str = "scheduler";

/// A lease as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseRecord {
    pub name: String,
    pub holder: String,
    /// When this holder took it (unchanged by renewals).
    pub acquired_at: DateTime<Utc>,
    pub renewed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl LeaseRecord {
    fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(LeaseRecord {
            name: get(r, "name")?,
            holder: get(r, "holder")?,
            acquired_at: parse_ts(&get::<String>(r, "acquired_at")?)?,
            renewed_at: parse_ts(&get::<String>(r, "renewed_at")?)?,
            expires_at: parse_ts(&get::<String>(r, "expires_at")?)?,
        })
    }

    /// True while the lease has not run out at `now`.
    pub fn is_held_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at >= now
    }
}

const LEASE_COLUMNS: &str = "name, holder, acquired_at, renewed_at, expires_at";

impl Store {
    /// Takes lease `name` for `holder` until `until` if it is free, expired at `now`, or
    /// already `holder`'s (then it is renewed). `None`: another holder's lease is running.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<LeaseRecord>> {
        let row = sqlx::query(&format!(
            "INSERT INTO leader_lease (name, holder, acquired_at, renewed_at, expires_at)
             VALUES ($1, $2, $3, $3, $4)
             ON CONFLICT (name) DO UPDATE SET
               acquired_at = CASE WHEN leader_lease.holder = excluded.holder
                                  THEN leader_lease.acquired_at ELSE excluded.acquired_at END,
               holder = excluded.holder,
               renewed_at = excluded.renewed_at,
               expires_at = excluded.expires_at
             WHERE leader_lease.holder = excluded.holder OR leader_lease.expires_at < excluded.renewed_at
             RETURNING {LEASE_COLUMNS}"
        ))
        .bind(name)
        .bind(holder)
        .bind(ts(now))
        .bind(ts(until))
        .fetch_optional(&self.pool)
        .await
        .map_err(q("taking the leader lease"))?;
        row.as_ref().map(LeaseRecord::from_row).transpose()
    }

    /// Extends `holder`'s running lease to `until`. False when the lease is not `holder`'s
    /// or ran out at `now` (even if nobody took it yet): the holder has lost it and must
    /// not start new work before it takes the lease again.
    pub async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let renewed = sqlx::query(
            "UPDATE leader_lease SET renewed_at = $1, expires_at = $2
             WHERE name = $3 AND holder = $4 AND expires_at >= $1",
        )
        .bind(ts(now))
        .bind(ts(until))
        .bind(name)
        .bind(holder)
        .execute(&self.pool)
        .await
        .map_err(q("renewing the leader lease"))?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Gives the lease up at once (a clean shutdown), so another instance takes over on
    /// its next attempt instead of after the expiry. Nothing happens if it is not `holder`'s.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<bool> {
        let released =
            sqlx::query("UPDATE leader_lease SET expires_at = $1 WHERE name = $2 AND holder = $3")
                .bind(ts(DateTime::<Utc>::UNIX_EPOCH))
                .bind(name)
                .bind(holder)
                .execute(&self.pool)
                .await
                .map_err(q("releasing the leader lease"))?;
        Ok(released.rows_affected() == 1)
    }

    /// The lease as stored (possibly expired); `None` before any instance took it.
    pub async fn lease(&self, name: &str) -> Result<Option<LeaseRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {LEASE_COLUMNS} FROM leader_lease WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(q("reading the leader lease"))?;
        row.as_ref().map(LeaseRecord::from_row).transpose()
    }

    /// Asks the holder of lease `name` to run a check ("Check now" on a follower). False
    /// when no instance has taken the lease yet.
    pub async fn request_check(&self, name: &str, at: DateTime<Utc>) -> Result<bool> {
        let requested =
            sqlx::query("UPDATE leader_lease SET check_requested_at = $1 WHERE name = $2")
                .bind(ts(at))
                .bind(name)
                .execute(&self.pool)
                .await
                .map_err(q("requesting a check from the leader"))?;
        Ok(requested.rows_affected() == 1)
    }

    /// Takes a pending check request, for `holder` only: true once per request.
    pub async fn take_check_request(&self, name: &str, holder: &str) -> Result<bool> {
        let taken = sqlx::query(
            "UPDATE leader_lease SET check_requested_at = NULL
             WHERE name = $1 AND holder = $2 AND check_requested_at IS NOT NULL",
        )
        .bind(name)
        .bind(holder)
        .execute(&self.pool)
        .await
        .map_err(q("taking a check request"))?;
        Ok(taken.rows_affected() == 1)
    }
}
