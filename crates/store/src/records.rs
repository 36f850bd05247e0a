//! Rows of the store, as typed records.

use crate::{get, money_of, parse_ts, Result, StoreError};
use chrono::{DateTime, Utc};
use domwatch_core::detect::{CaseKind, Finding};
use domwatch_core::plan::Action;
use domwatch_core::{DomainName, Money};
use serde::Serialize;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    Open,
    Resolved,
}

impl CaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Open => "open",
            CaseState::Resolved => "resolved",
        }
    }
}

/// Which cases to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseFilter {
    pub state: Option<CaseState>,
    pub kind: Option<CaseKind>,
}

impl CaseFilter {
    pub fn open() -> Self {
        Self {
            state: Some(CaseState::Open),
            kind: None,
        }
    }
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRecord {
    pub id: i64,
    pub kind: CaseKind,
    pub domain: DomainName,
    pub billing_domain_id: Option<i64>,
    pub registrar_account: Option<String>,
    pub state: CaseState,
    /// How many times the case opened; notices go out once per opening.
    pub openings: i64,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub summary: String,
    pub at_stake: Option<Money>,
    pub finding: Finding,
}

impl CaseRecord {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self> {
        let kind: String = get(r, "kind")?;
        let domain: String = get(r, "domain")?;
        let state: String = get(r, "state")?;
        let finding: String = get(r, "finding")?;
        Ok(CaseRecord {
            id: get(r, "id")?,
            kind: CaseKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("case kind `{kind}`")))?,
            domain: DomainName::parse(&domain).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            billing_domain_id: get(r, "billing_domain_id")?,
            registrar_account: get(r, "registrar_account")?,
            state: match state.as_str() {
                "open" => CaseState::Open,
                "resolved" => CaseState::Resolved,
                other => return Err(StoreError::Corrupt(format!("case state `{other}`"))),
            },
            openings: get(r, "openings")?,
            opened_at: parse_ts(&get::<String>(r, "opened_at")?)?,
            updated_at: parse_ts(&get::<String>(r, "updated_at")?)?,
            resolved_at: get::<Option<String>>(r, "resolved_at")?
                .as_deref()
                .map(parse_ts)
                .transpose()?,
            summary: get(r, "summary")?,
            at_stake: money_of(get(r, "at_stake_amount")?, get(r, "at_stake_currency")?)?,
            finding: serde_json::from_str(&finding)
                .map_err(|e| StoreError::Corrupt(format!("finding JSON: {e}")))?,
        })
    }
}

/// A reference to a case that changed in a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseRef {
    pub id: i64,
    pub kind: CaseKind,
    pub domain: DomainName,
    pub opening: i64,
}

/// What [`crate::Store::sync_findings`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncOutcome {
    pub opened: Vec<CaseRef>,
    pub reopened: Vec<CaseRef>,
    pub updated: Vec<CaseRef>,
    pub resolved: Vec<CaseRef>,
    pub unchanged: usize,
}

impl SyncOutcome {
    /// Cases that need a notice (first opening or a reopening).
    pub fn newly_open(&self) -> impl Iterator<Item = &CaseRef> {
        self.opened.iter().chain(self.reopened.iter())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub event: String,
    pub detail: serde_json::Value,
}

impl CaseEvent {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(CaseEvent {
            id: get(r, "id")?,
            at: parse_ts(&get::<String>(r, "at")?)?,
            event: get(r, "event")?,
            detail: serde_json::from_str(&get::<String>(r, "detail")?)
                .unwrap_or(serde_json::Value::Null),
        })
    }
}

/// The state of a notice claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeClaim {
    Fresh,
    Unfinished { marker: String },
    AlreadySent { external_ref: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeRecord {
    pub opening: i64,
    pub channel: String,
    pub marker: String,
    pub status: String,
    pub external_ref: Option<String>,
    pub claimed_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl NoticeRecord {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(NoticeRecord {
            opening: get(r, "opening")?,
            channel: get(r, "channel")?,
            marker: get(r, "marker")?,
            status: get(r, "status")?,
            external_ref: get(r, "external_ref")?,
            claimed_at: parse_ts(&get::<String>(r, "claimed_at")?)?,
            sent_at: get::<Option<String>>(r, "sent_at")?
                .as_deref()
                .map(parse_ts)
                .transpose()?,
            error: get(r, "error")?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Planned,
    /// Claimed by an owner whose lease says until when it may be writing.
    Running,
    Applied,
    Failed,
}

impl ActionStatus {
    pub(crate) fn parse(s: &str) -> Result<Self> {
        match s {
            "planned" => Ok(ActionStatus::Planned),
            "running" => Ok(ActionStatus::Running),
            "applied" => Ok(ActionStatus::Applied),
            "failed" => Ok(ActionStatus::Failed),
            other => Err(StoreError::Corrupt(format!("action status `{other}`"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionRecord {
    pub id: i64,
    /// The case the action fixes (`None` for actions outside a case).
    pub case_id: Option<i64>,
    pub idempotency_key: String,
    pub action: Action,
    pub status: ActionStatus,
    pub result: Option<String>,
    pub created_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
    /// Who holds (or last held) the claim.
    pub owner: Option<String>,
    /// Until when the owner of a running claim may be writing.
    pub lease_until: Option<DateTime<Utc>>,
}

impl ActionRecord {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(ActionRecord {
            id: get(r, "id")?,
            case_id: get(r, "case_id")?,
            idempotency_key: get(r, "idempotency_key")?,
            action: serde_json::from_str(&get::<String>(r, "action")?)
                .map_err(|e| StoreError::Corrupt(format!("action JSON: {e}")))?,
            status: ActionStatus::parse(&get::<String>(r, "status")?)?,
            result: get(r, "result")?,
            created_at: parse_ts(&get::<String>(r, "created_at")?)?,
            applied_at: get::<Option<String>>(r, "applied_at")?
                .as_deref()
                .map(parse_ts)
                .transpose()?,
            owner: get(r, "owner")?,
            lease_until: get::<Option<String>>(r, "lease_until")?
                .as_deref()
                .map(parse_ts)
                .transpose()?,
        })
    }
}

/// One write to an outside system, for the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub system: String,
    pub operation: String,
    pub object: String,
    /// The request with secrets masked.
    pub request: serde_json::Value,
    pub ok: bool,
    pub result: String,
    pub case_id: Option<i64>,
    pub run_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

impl AuditRecord {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(AuditRecord {
            id: get(r, "id")?,
            entry: AuditEntry {
                at: parse_ts(&get::<String>(r, "at")?)?,
                actor: get(r, "actor")?,
                system: get(r, "system")?,
                operation: get(r, "operation")?,
                object: get(r, "object")?,
                request: serde_json::from_str(&get::<String>(r, "request")?)
                    .unwrap_or(serde_json::Value::Null),
                ok: get::<i64>(r, "ok")? != 0,
                result: get(r, "result")?,
                case_id: get(r, "case_id")?,
                run_id: get(r, "run_id")?,
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: String,
    pub dry_run: bool,
    pub stats: serde_json::Value,
    pub error: Option<String>,
}

impl RunRecord {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(RunRecord {
            id: get(r, "id")?,
            started_at: parse_ts(&get::<String>(r, "started_at")?)?,
            finished_at: get::<Option<String>>(r, "finished_at")?
                .as_deref()
                .map(parse_ts)
                .transpose()?,
            status: get(r, "status")?,
            dry_run: get::<i64>(r, "dry_run")? != 0,
            stats: serde_json::from_str(&get::<String>(r, "stats")?)
                .unwrap_or(serde_json::Value::Null),
            error: get(r, "error")?,
        })
    }
}
