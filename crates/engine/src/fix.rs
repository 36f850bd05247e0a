//! Fix now: plan (core) -> claim the case (one fix at a time) -> claim each action (at most
//! once, also under concurrency and after a crash) -> write -> audit every write.

use crate::claim::{owner_is_gone, Owner};
use crate::recover::{expired_now, Found};
use crate::{Engine, EngineError, FixReport, Mode, StepOutcome, StepReport};
use domwatch_core::plan::{plan, Action, PlanOption, Target};
use domwatch_store::{ActionClaim, ActionStatus, AuditEntry, CaseClaim, CaseRecord};

impl Engine {
    /// The fix options of a case, recommended first.
    pub async fn fix_options(
        &self,
        case_id: i64,
    ) -> Result<(CaseRecord, Vec<PlanOption>), EngineError> {
        let case = self
            .store
            .case(case_id)
            .await?
            .ok_or(EngineError::NoSuchCase(case_id))?;
        let options = plan(&case.finding);
        Ok((case, options))
    }

    /// Fix now: applies one plan option of a case (the recommended one by default).
    pub async fn fix(
        &self,
        case_id: i64,
        option: Option<&str>,
        mode: Mode,
        actor: &str,
    ) -> Result<FixReport, EngineError> {
        let (case, options) = self.fix_options(case_id).await?;
        if case.state == domwatch_store::CaseState::Resolved {
            return Err(EngineError::Resolved(case_id));
        }
        let chosen = choose(case_id, &options, option)?;
        if mode == Mode::DryRun {
            return self.preview(&case, chosen).await;
        }
        self.claim_and_apply(&case, chosen, actor).await
    }

    /// Claims the case (one fix at a time: a second request never starts a step), applies
    /// `chosen` and releases the case.
    pub(crate) async fn claim_and_apply(
        &self,
        case: &CaseRecord,
        chosen: PlanOption,
        actor: &str,
    ) -> Result<FixReport, EngineError> {
        let owner = Owner::new(actor);
        self.claim_case(case.id, &owner).await?;
        let applied = self.apply_option(case, chosen, actor, &owner).await;
        let released = self.store.release_case_fix(case.id, owner.id()).await;
        let report = applied?;
        released?;
        Ok(report)
    }

    /// Claims the right to fix `case_id`, taking it over from a request of this process
    /// that is gone; held by someone else: [`EngineError::InProgress`].
    async fn claim_case(&self, case_id: i64, owner: &Owner) -> Result<(), EngineError> {
        let lease = owner.lease(self.now());
        match self.store.claim_case_fix(case_id, &lease).await? {
            CaseClaim::Claimed => Ok(()),
            CaseClaim::Held { owner: holder, .. } => {
                if owner_is_gone(&holder)
                    && self
                        .store
                        .take_over_case_fix(case_id, &holder, &lease)
                        .await?
                {
                    return Ok(());
                }
                Err(EngineError::InProgress(case_id, holder))
            }
        }
    }

    /// What Fix now would do, writing nothing.
    pub(crate) async fn preview(
        &self,
        case: &CaseRecord,
        chosen: PlanOption,
    ) -> Result<FixReport, EngineError> {
        let mut steps = Vec::with_capacity(chosen.actions.len());
        for action in &chosen.actions {
            let (description, manual) = self.describe_step(action);
            let outcome = if manual {
                StepOutcome::Manual
            } else {
                match self.store.action_status(&action.idempotency_key()).await? {
                    Some(ActionStatus::Applied) => StepOutcome::AlreadyApplied,
                    _ => StepOutcome::WouldApply,
                }
            };
            steps.push(StepReport {
                action: action.clone(),
                description,
                outcome,
            });
        }
        Ok(FixReport {
            case_id: case.id,
            option: chosen.name,
            steps,
        })
    }

    /// The step's description, and whether it is the admin's to do by hand.
    pub(crate) fn describe_step(&self, action: &Action) -> (String, bool) {
        let description = action.describe();
        if action.target() == Target::Manual {
            (description, true)
        } else if matches!(action, Action::SetPremiumData { .. }) && self.whmcs_db.is_none() {
            // Premium cost rows are only reachable through the WHMCS database; without
            // it this step is the admin's, and the rest of the fix still applies.
            (format!(
                "{description} — by hand: no WHMCS database access configured (whmcs.database_url); open the domain in WHMCS, tick \"Recalculate on Save\" and save"
            ), true)
        } else {
            (description, false)
        }
    }

    /// Applies the steps of a claimed case in order, stopping at the first failure, and
    /// records one history event when anything was written or tried.
    async fn apply_option(
        &self,
        case: &CaseRecord,
        chosen: PlanOption,
        actor: &str,
        owner: &Owner,
    ) -> Result<FixReport, EngineError> {
        let mut steps: Vec<StepReport> = Vec::with_capacity(chosen.actions.len());
        let mut failed = false;
        for action in &chosen.actions {
            let (description, manual) = self.describe_step(action);
            let outcome = if failed {
                StepOutcome::Failed("skipped: an earlier step failed".into())
            } else if manual {
                StepOutcome::Manual
            } else {
                match self.apply(case, action, actor, owner).await {
                    Ok(outcome) => outcome,
                    // Nothing written yet by this request: it is simply in progress elsewhere.
                    Err(e @ EngineError::InProgress(..)) if !wrote_anything(&steps) => {
                        return Err(e)
                    }
                    Err(EngineError::InProgress(_, holder)) => StepOutcome::Failed(format!(
                        "another fix is writing this step right now (started by {holder}): nothing written; look at the case again once it is done"
                    )),
                    Err(e) => return Err(e),
                }
            };
            if matches!(outcome, StepOutcome::Failed(_)) {
                failed = true;
            }
            steps.push(StepReport {
                action: action.clone(),
                description,
                outcome,
            });
        }
        // Exactly one event per fix that wrote or tried something; a request that found
        // everything applied already leaves the history alone.
        if wrote_anything(&steps) {
            self.store
                .add_case_event(
                    case.id,
                    self.now(),
                    if failed { "fix_failed" } else { "fixed" },
                    &serde_json::json!({"option": chosen.name, "actor": actor, "steps": steps}),
                )
                .await?;
        }
        Ok(FixReport {
            case_id: case.id,
            option: chosen.name,
            steps,
        })
    }

    /// Applies one action at most once and audits it: claimed first (one statement), a
    /// claim taken over from a dead owner is looked for at its system before writing.
    async fn apply(
        &self,
        case: &CaseRecord,
        action: &Action,
        actor: &str,
        owner: &Owner,
    ) -> Result<StepOutcome, EngineError> {
        let key = action.idempotency_key();
        let lease = owner.lease(self.now());
        let recovering = match self
            .store
            .claim_action(Some(case.id), action, &lease)
            .await?
        {
            ActionClaim::Claimed => false,
            ActionClaim::ClaimedForRecovery => true,
            ActionClaim::AlreadyApplied => return Ok(StepOutcome::AlreadyApplied),
            ActionClaim::InProgress { owner: holder, .. } => {
                if !(owner_is_gone(&holder)
                    && self.store.take_over_action(&key, &holder, &lease).await?)
                {
                    return Err(EngineError::InProgress(case.id, holder));
                }
                true
            }
        };
        if recovering {
            match self.look_for_write(Some(case), action).await {
                Found::InEffect => {
                    let record = self.store.action(&key).await?.ok_or_else(|| {
                        domwatch_store::StoreError::Corrupt(format!(
                            "claimed action `{key}` vanished"
                        ))
                    })?;
                    return Ok(StepOutcome::Applied(
                        self.record_recovered(&record, owner).await?,
                    ));
                }
                Found::NotInEffect => {}
                Found::Unknown(why) => {
                    self.store
                        .expire_action_claim(&key, owner.id(), expired_now(self.now()))
                        .await?;
                    return Ok(StepOutcome::Failed(format!(
                        "an earlier attempt stopped before recording whether this was written, and it could not be checked ({why}): nothing written; try again when the system answers"
                    )));
                }
            }
        }
        let crate::write::Written {
            system,
            operation,
            result,
        } = self.execute(case, action).await;
        let ok = result.is_ok();
        let text = match &result {
            Ok(t) => t.clone(),
            Err(e) => e.clone(),
        };
        // Audit and finish together, and only while the claim is ours: a crash in between
        // leaves a running claim that recovery checks at the outside system. An automatic
        // write also queues its notice in the same transaction (the outbox).
        let notice = (actor == crate::lifecycle::AUTO_DELETE_ACTOR).then_some(case.openings);
        let recorded = self
            .store
            .audit_and_finish_claimed(
                &AuditEntry {
                    at: self.now(),
                    actor: actor.to_string(),
                    system,
                    operation,
                    object: case.domain.ascii().to_string(),
                    request: serde_json::to_value(action).unwrap_or_default(),
                    ok,
                    result: text.clone(),
                    case_id: Some(case.id),
                    run_id: None,
                },
                &key,
                owner.id(),
                notice,
            )
            .await?;
        if !recorded {
            tracing::warn!(action = %key, "the claim ran out before the write was recorded; recovery records it from the outside system");
        }
        Ok(if ok {
            StepOutcome::Applied(text)
        } else {
            StepOutcome::Failed(text)
        })
    }
}

/// The option named `option` of a case, or its recommended one (the first).
pub(crate) fn choose(
    case_id: i64,
    options: &[PlanOption],
    option: Option<&str>,
) -> Result<PlanOption, EngineError> {
    match option {
        None => options
            .first()
            .cloned()
            .ok_or(EngineError::ManualOnly(case_id)),
        Some(name) => options
            .iter()
            .find(|o| o.name == name)
            .cloned()
            .ok_or_else(|| EngineError::NoSuchOption {
                case: case_id,
                option: name.to_string(),
                available: options
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
    }
}

/// Whether any step was written or tried (applied or failed).
fn wrote_anything(steps: &[StepReport]) -> bool {
    steps
        .iter()
        .any(|s| matches!(s.outcome, StepOutcome::Applied(_) | StepOutcome::Failed(_)))
}
