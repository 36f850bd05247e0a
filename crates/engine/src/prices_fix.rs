//! Fix now for a TLD price case: the case's proposal (rounded prices, term by term) as one
//! `SetTldPrices` action; the case is claimed first (one fix of it at a time), then the
//! action, before anything is written (at most once, also across
//! requests and instances), written into WHMCS's pricing tables through the database
//! connection and audited. Without database access it is a by-hand step with the exact
//! values to type.

use crate::claim::{owner_is_gone, Owner};
use crate::recover::Found;
use crate::write::Written;
use crate::{Engine, EngineError, FixReport, Mode, StepOutcome, StepReport};
use domwatch_core::plan::Action;
use domwatch_core::pricing::{PriceOperation, PriceProposal, ProposedSell};
use domwatch_store::{ActionClaim, ActionStatus, AuditEntry, CaseClaim};

/// The plan option name of a TLD price fix.
pub const TLD_PRICE_OPTION: &str = "set_prices";

impl Engine {
    /// Fix now for price case `case_id` (dry run: the plan, nothing written).
    pub async fn tld_price_fix(
        &self,
        case_id: i64,
        mode: Mode,
        actor: &str,
    ) -> Result<FixReport, EngineError> {
        let case = self
            .store
            .price_case(case_id)
            .await?
            .ok_or(EngineError::NoSuchCase(case_id))?;
        if !case.is_open() {
            return Err(EngineError::Resolved(case_id));
        }
        let proposal = case
            .finding
            .proposal
            .clone()
            .ok_or(EngineError::ManualOnly(case_id))?;
        let action = Action::SetTldPrices { proposal };
        let key = action.idempotency_key();
        let (description, outcome) = if self.whmcs_db.is_none() {
            let Action::SetTldPrices { proposal } = &action else {
                unreachable!()
            };
            (by_hand(proposal), StepOutcome::Manual)
        } else if mode == Mode::DryRun {
            let outcome = match self.store.action_status(&key).await? {
                Some(ActionStatus::Applied) => StepOutcome::AlreadyApplied,
                _ => StepOutcome::WouldApply,
            };
            (action.describe(), outcome)
        } else {
            // One fix of a price case at a time: a second request never starts the write.
            let owner = Owner::new(actor);
            self.claim_price_case(case_id, &owner).await?;
            let applied = self.apply_tld_prices(case_id, &action, actor, &owner).await;
            let released = self.store.release_price_case_fix(case_id, owner.id()).await;
            let outcome = applied?;
            released?;
            (action.describe(), outcome)
        };
        Ok(FixReport {
            case_id,
            option: TLD_PRICE_OPTION.into(),
            steps: vec![StepReport {
                action,
                description,
                outcome,
            }],
        })
    }

    /// Claims the right to fix price case `case_id` (taken over from a request of this
    /// process that is gone); held by someone else: [`EngineError::InProgress`].
    async fn claim_price_case(&self, case_id: i64, owner: &Owner) -> Result<(), EngineError> {
        let lease = owner.lease(self.now());
        match self.store.claim_price_case_fix(case_id, &lease).await? {
            CaseClaim::Claimed => Ok(()),
            CaseClaim::Held { owner: holder, .. } => {
                if owner_is_gone(&holder)
                    && self
                        .store
                        .take_over_price_case_fix(case_id, &holder, &lease)
                        .await?
                {
                    return Ok(());
                }
                Err(EngineError::InProgress(case_id, holder))
            }
        }
    }

    async fn apply_tld_prices(
        &self,
        case_id: i64,
        action: &Action,
        actor: &str,
        owner: &Owner,
    ) -> Result<StepOutcome, EngineError> {
        match self
            .store
            .claim_action(None, action, &owner.lease(self.now()))
            .await?
        {
            ActionClaim::Claimed => {}
            ActionClaim::ClaimedForRecovery => {
                if let Found::InEffect = self.look_for_write(None, action).await {
                    return self
                        .audit_tld(
                            case_id,
                            action,
                            actor,
                            owner,
                            Ok("already in WHMCS (an earlier attempt wrote it)".into()),
                        )
                        .await;
                }
            }
            ActionClaim::AlreadyApplied => return Ok(StepOutcome::AlreadyApplied),
            ActionClaim::InProgress { owner: holder, .. } => {
                return Err(EngineError::InProgress(case_id, holder))
            }
        }
        let Written { result, .. } = self.execute_tld_prices(action).await;
        self.audit_tld(case_id, action, actor, owner, result).await
    }

    async fn audit_tld(
        &self,
        case_id: i64,
        action: &Action,
        actor: &str,
        owner: &Owner,
        result: Result<String, String>,
    ) -> Result<StepOutcome, EngineError> {
        let Action::SetTldPrices { proposal } = action else {
            unreachable!()
        };
        let ok = result.is_ok();
        let text = result.clone().unwrap_or_else(|e| e);
        let entry = AuditEntry {
            at: self.now(),
            actor: actor.to_string(),
            system: "billing".into(),
            operation: "tblpricing".into(),
            object: format!(
                "{} {} {} (TLD price case #{case_id})",
                proposal.tld.with_dot(),
                proposal.operation,
                proposal.currency
            ),
            request: serde_json::to_value(action).unwrap_or_default(),
            ok,
            result: text.clone(),
            case_id: None,
            run_id: None,
        };
        let key = action.idempotency_key();
        if !self
            .store
            .audit_and_finish_claimed(&entry, &key, owner.id(), None)
            .await?
        {
            tracing::warn!(action = %key, "the claim ran out before the write was recorded; recovery records it from WHMCS");
        }
        Ok(if ok {
            StepOutcome::Applied(text)
        } else {
            StepOutcome::Failed(text)
        })
    }

    /// The write of a `SetTldPrices` action (also used by `write.rs`).
    pub(crate) async fn execute_tld_prices(&self, action: &Action) -> Written {
        let result = match (action, &self.whmcs_db) {
            (Action::SetTldPrices { proposal }, Some(db)) => db
                .write_tld_prices(proposal)
                .await
                .map_err(|e| e.to_string()),
            (Action::SetTldPrices { proposal }, None) => Err(format!(
                "no WHMCS database access configured (whmcs.database_url): {}",
                by_hand(proposal)
            )),
            _ => Err("not a TLD price action".into()),
        };
        Written {
            system: "billing".into(),
            operation: "tblpricing".into(),
            result,
        }
    }

    /// Recovery: whether WHMCS's tables hold the proposal now.
    pub(crate) async fn tld_prices_in_effect(&self, proposal: &PriceProposal) -> Found {
        match &self.whmcs_db {
            None => Found::Unknown("no WHMCS database access configured".into()),
            Some(db) => match db.tld_prices_show(proposal).await {
                Ok(true) => Found::InEffect,
                Ok(false) => Found::NotInEffect,
                Err(e) => Found::Unknown(e.to_string()),
            },
        }
    }
}

/// The by-hand step: where to go in WHMCS and the exact values to type.
pub fn by_hand(p: &PriceProposal) -> String {
    let values: Vec<String> = p
        .terms
        .iter()
        .map(|t| match t.to {
            ProposedSell::Price { price } => {
                format!("{} year(s): {:.2}", t.years.get(), price.amount)
            }
            ProposedSell::Disable => format!("{} year(s): -1.00 (disabled)", t.years.get()),
        })
        .collect();
    let place = match p.operation {
        PriceOperation::Restore => format!(
            "the Redemption Grace Period Fee of {} (default currency)",
            p.tld.with_dot()
        ),
        op => format!("the {op} row of {} in {}", p.tld.with_dot(), p.currency),
    };
    format!(
        "By hand in WHMCS (Configuration > System Settings > Domain Pricing, open the pricing of {}): set {place} to {}",
        p.tld.with_dot(),
        values.join("; ")
    )
}
