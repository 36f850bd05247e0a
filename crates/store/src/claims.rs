//! Claims: every write at most once, also when two requests, two instances or a crash race
//! for it. A fix first claims its case (one fix of a case at a time), then each action
//! (planned -> running) with an owner and a lease, each in one statement that both SQLite
//! and PostgreSQL decide atomically. A running action whose lease ran out belongs to an
//! owner that died; whoever takes it over must look at the outside system before writing.

use crate::{get, insert_audit, parse_ts, q, ts, AuditEntry, Result, Store, StoreError};
use crate::{ActionRecord, ActionStatus, ACTION_COLUMNS};
use chrono::{DateTime, Utc};
use domwatch_core::plan::Action;
use domwatch_core::webhook::EventKind;

/// Who claims, and until when the claim holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// A per-request id, shown to whoever finds the claim held.
    pub owner: String,
    /// Now, on the claimer's clock: leases that ended before it are expired.
    pub now: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// The outcome of [`Store::claim_action`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionClaim {
    /// Ours to write: it was new, planned, or failed before.
    Claimed,
    /// Ours, taken over from an owner whose lease ran out: its write may have happened, so
    /// look at the outside system before writing.
    ClaimedForRecovery,
    AlreadyApplied,
    /// Someone else holds it and their lease still runs.
    InProgress {
        owner: String,
        lease_until: Option<DateTime<Utc>>,
    },
}

/// The outcome of [`Store::claim_case_fix`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseClaim {
    Claimed,
    Held {
        owner: String,
        lease_until: DateTime<Utc>,
    },
}

impl Store {
    /// Claims an action before writing it, in one statement: a new, planned or failed
    /// action, or a running one whose lease ran out, becomes running under `lease`.
    /// Of any number of concurrent callers exactly one gets a claim.
    pub async fn claim_action(
        &self,
        case_id: Option<i64>,
        action: &Action,
        lease: &Lease,
    ) -> Result<ActionClaim> {
        let key = action.idempotency_key();
        let json = serde_json::to_string(action).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let target = serde_json::to_value(action.target())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        // In DO UPDATE, `actions.status` is the row before the update: it is kept in
        // `claimed_from`, so the caller learns whether it took over a dead owner's claim.
        let claimed = sqlx::query(
            "INSERT INTO actions (case_id, idempotency_key, target, action, status, created_at, owner, lease_until, claimed_from)
             VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, NULL)
             ON CONFLICT (idempotency_key) DO UPDATE
             SET status = 'running', owner = excluded.owner, lease_until = excluded.lease_until, claimed_from = actions.status
             WHERE actions.status IN ('planned', 'failed')
                OR (actions.status = 'running' AND (actions.lease_until IS NULL OR actions.lease_until < excluded.created_at))
             RETURNING claimed_from",
        )
        .bind(case_id)
        .bind(&key)
        .bind(target)
        .bind(json)
        .bind(ts(lease.now))
        .bind(&lease.owner)
        .bind(ts(lease.until))
        .fetch_optional(&self.pool)
        .await
        .map_err(q("claiming an action"))?;
        if let Some(row) = claimed {
            let from: Option<String> = get(&row, "claimed_from")?;
            return Ok(match from.as_deref() {
                Some("running") => ActionClaim::ClaimedForRecovery,
                _ => ActionClaim::Claimed,
            });
        }
        let Some(record) = self.action(&key).await? else {
            return Err(StoreError::Corrupt(format!(
                "action `{key}` was neither claimed nor found"
            )));
        };
        Ok(match record.status {
            ActionStatus::Applied => ActionClaim::AlreadyApplied,
            // Finished or released between the two statements: the caller's next try
            // decides; until then someone else was on it.
            _ => ActionClaim::InProgress {
                owner: record.owner.unwrap_or_default(),
                lease_until: record.lease_until,
            },
        })
    }

    /// One action by key.
    pub async fn action(&self, key: &str) -> Result<Option<ActionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM actions WHERE idempotency_key = $1"
        ))
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(q("reading an action"))?;
        row.as_ref().map(ActionRecord::from_row).transpose()
    }

    /// Takes over the running claim of `dead_owner` (its lease ran out, or its request is
    /// known to be gone). False when someone else finished or took it first.
    pub async fn take_over_action(
        &self,
        key: &str,
        dead_owner: &str,
        lease: &Lease,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE actions SET owner = $1, lease_until = $2, claimed_from = 'running'
             WHERE idempotency_key = $3 AND status = 'running' AND owner = $4",
        )
        .bind(&lease.owner)
        .bind(ts(lease.until))
        .bind(key)
        .bind(dead_owner)
        .execute(&self.pool)
        .await
        .map_err(q("taking over an action claim"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a claim back as planned: nothing was written, the case may retry it.
    pub async fn release_action(&self, key: &str, owner: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE actions SET status = 'planned', lease_until = NULL
             WHERE idempotency_key = $1 AND status = 'running' AND owner = $2",
        )
        .bind(key)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(q("releasing an action claim"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends the lease of a claim but leaves it running: whether the write happened is not
    /// known, so whoever claims it next must look first.
    pub async fn expire_action_claim(
        &self,
        key: &str,
        owner: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE actions SET lease_until = $1 WHERE idempotency_key = $2 AND status = 'running' AND owner = $3",
        )
        .bind(ts(at))
        .bind(key)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(q("ending an action lease"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Every running action, oldest first; the caller decides which owners are gone.
    pub async fn running_actions(&self) -> Result<Vec<ActionRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM actions WHERE status = 'running' ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(q("listing running actions"))?;
        rows.iter().map(ActionRecord::from_row).collect()
    }

    /// Audits the write of a claimed action and finishes it, in one transaction, if
    /// `owner` still holds the claim. False (nothing recorded) when the claim was taken
    /// over meanwhile: the new owner looks at the outside system and audits what it finds.
    ///
    /// `notice`: the case opening whose admin must hear of this write (an automatic
    /// write); a successful one is queued in the outbox in the same transaction.
    pub async fn audit_and_finish_claimed(
        &self,
        entry: &AuditEntry,
        key: &str,
        owner: &str,
        notice: Option<i64>,
    ) -> Result<bool> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(q("starting a transaction"))?;
        let finished = sqlx::query(
            "UPDATE actions SET status = $1, result = $2, applied_at = $3, lease_until = NULL
             WHERE idempotency_key = $4 AND status = 'running' AND owner = $5",
        )
        .bind(if entry.ok { "applied" } else { "failed" })
        .bind(&entry.result)
        .bind(ts(entry.at))
        .bind(key)
        .bind(owner)
        .execute(&mut *tx)
        .await
        .map_err(q("recording an action result"))?;
        if finished.rows_affected() != 1 {
            return Ok(false); // dropping the transaction rolls it back
        }
        insert_audit(&mut tx, entry).await?;
        if let (true, Some(case_id), Some(opening)) = (entry.ok, entry.case_id, notice) {
            crate::outbox::queue_action_notice(&mut tx, key, case_id, opening, entry.at).await?;
        }
        if let (true, Some(case_id)) = (entry.ok, entry.case_id) {
            queue_action_webhook(&mut tx, key, case_id, notice.is_some(), entry.at).await?;
        }
        tx.commit()
            .await
            .map_err(q("committing an audited action"))?;
        Ok(true)
    }

    // ---- case claims ------------------------------------------------------------------

    /// Claims the right to run a fix of `case_id`, in one statement: free, or held by a
    /// lease that ran out.
    pub async fn claim_case_fix(&self, case_id: i64, lease: &Lease) -> Result<CaseClaim> {
        self.claim_fix_in(FixClaims::Cases, case_id, lease).await
    }

    /// Takes over a case claim whose holder is known to be gone.
    pub async fn take_over_case_fix(
        &self,
        case_id: i64,
        dead_owner: &str,
        lease: &Lease,
    ) -> Result<bool> {
        self.take_over_fix_in(FixClaims::Cases, case_id, dead_owner, lease)
            .await
    }

    /// Ends a fix: the case is free for the next one.
    pub async fn release_case_fix(&self, case_id: i64, owner: &str) -> Result<()> {
        self.release_fix_in(FixClaims::Cases, case_id, owner).await
    }

    /// [`Store::claim_case_fix`] for a TLD price case.
    pub async fn claim_price_case_fix(&self, case_id: i64, lease: &Lease) -> Result<CaseClaim> {
        self.claim_fix_in(FixClaims::PriceCases, case_id, lease)
            .await
    }

    /// [`Store::take_over_case_fix`] for a TLD price case.
    pub async fn take_over_price_case_fix(
        &self,
        case_id: i64,
        dead_owner: &str,
        lease: &Lease,
    ) -> Result<bool> {
        self.take_over_fix_in(FixClaims::PriceCases, case_id, dead_owner, lease)
            .await
    }

    /// [`Store::release_case_fix`] for a TLD price case.
    pub async fn release_price_case_fix(&self, case_id: i64, owner: &str) -> Result<()> {
        self.release_fix_in(FixClaims::PriceCases, case_id, owner)
            .await
    }

    async fn claim_fix_in(&self, t: FixClaims, case_id: i64, lease: &Lease) -> Result<CaseClaim> {
        let table = t.table();
        let claimed = sqlx::query(&format!(
            "INSERT INTO {table} (case_id, owner, lease_until) VALUES ($1, $2, $3)
             ON CONFLICT (case_id) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
             WHERE {table}.lease_until < $4
             RETURNING owner",
        ))
        .bind(case_id)
        .bind(&lease.owner)
        .bind(ts(lease.until))
        .bind(ts(lease.now))
        .fetch_optional(&self.pool)
        .await
        .map_err(q("claiming a case for a fix"))?;
        if claimed.is_some() {
            return Ok(CaseClaim::Claimed);
        }
        let row = sqlx::query(&format!(
            "SELECT owner, lease_until FROM {table} WHERE case_id = $1"
        ))
        .bind(case_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(q("reading a case claim"))?;
        match row {
            Some(r) => Ok(CaseClaim::Held {
                owner: get(&r, "owner")?,
                lease_until: parse_ts(&get::<String>(&r, "lease_until")?)?,
            }),
            // Released between the two statements: free again, but this call lost.
            None => Ok(CaseClaim::Held {
                owner: "a fix that just finished".into(),
                lease_until: lease.now,
            }),
        }
    }

    async fn take_over_fix_in(
        &self,
        t: FixClaims,
        case_id: i64,
        dead_owner: &str,
        lease: &Lease,
    ) -> Result<bool> {
        let done = sqlx::query(&format!(
            "UPDATE {} SET owner = $1, lease_until = $2 WHERE case_id = $3 AND owner = $4",
            t.table()
        ))
        .bind(&lease.owner)
        .bind(ts(lease.until))
        .bind(case_id)
        .bind(dead_owner)
        .execute(&self.pool)
        .await
        .map_err(q("taking over a case claim"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_fix_in(&self, t: FixClaims, case_id: i64, owner: &str) -> Result<()> {
        sqlx::query(&format!(
            "DELETE FROM {} WHERE case_id = $1 AND owner = $2",
            t.table()
        ))
        .bind(case_id)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(q("releasing a case claim"))?;
        Ok(())
    }
}

/// The webhook event of an applied write of a case, in the transaction that records it:
/// `action.automatic` for domwatch's own writes (they carry a notice), else `fix.applied`.
async fn queue_action_webhook(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    case_id: i64,
    automatic: bool,
    at: DateTime<Utc>,
) -> Result<()> {
    let opening = sqlx::query("SELECT openings FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(q("reading a case"))?;
    let Some(opening) = opening else {
        return Ok(()); // no such case (TLD price writes carry no case id at all)
    };
    let description = crate::webhook_events::action_description(conn, key).await?;
    let change = crate::webhook_events::CaseChange {
        kind: if automatic {
            EventKind::ActionAutomatic
        } else {
            EventKind::FixApplied
        },
        case_id,
        opening: get(&opening, "openings")?,
        action: Some((key.to_string(), description)),
    };
    crate::webhook_events::enqueue(conn, &[change], at).await
}

/// Which cases a fix claim is about: domain cases or TLD price cases (ids of two tables).
#[derive(Debug, Clone, Copy)]
enum FixClaims {
    Cases,
    PriceCases,
}

impl FixClaims {
    fn table(self) -> &'static str {
        match self {
            FixClaims::Cases => "fix_claims",
            FixClaims::PriceCases => "price_fix_claims",
        }
    }
}
