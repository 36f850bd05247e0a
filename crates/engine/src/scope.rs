//! The one place where "no verdict without complete inputs" is enforced in a cycle.
//!
//! The join puts into scope every domain whose billing row and registrar account were
//! read. Later inputs can still fail for single domains (an invoice or transfer look-up,
//! the WHMCS database's premium data); [`Skipped`] collects those and takes the domains
//! out of scope before detection. An out-of-scope domain gets no finding, so its cases
//! are neither opened, updated nor resolved, and the later stages (automatic fixes,
//! notices) only act on in-scope domains.

use crate::join::Joined;
use crate::CycleReport;
use domwatch_core::detect::Observation;
use domwatch_core::DomainName;
use std::collections::{BTreeMap, HashMap};

/// How many distinct reasons the report lists by name; the rest are counted.
const REASONS_LISTED: usize = 20;

/// Domains whose inputs did not all arrive complete in this cycle, with the reason.
#[derive(Default)]
pub(crate) struct Skipped {
    domains: HashMap<DomainName, String>,
}

impl Skipped {
    /// What the fetch already knows it could not read for single domains: names a
    /// registrar could not be asked about (targeted checks), premium data and the ID
    /// protection price when the WHMCS database failed. The look-ups add theirs later.
    pub fn after_fetch(
        unreadable_names: &[(DomainName, String)],
        premium_data_read: bool,
        id_protection_read: bool,
        observations: &[Observation],
    ) -> Skipped {
        let mut skipped = Skipped::default();
        for (name, reason) in unreadable_names {
            skipped.add(name, reason.clone());
        }
        if !premium_data_read {
            skipped.premium_domains(observations);
        }
        if !id_protection_read {
            skipped.unbilled_id_protection(observations);
        }
        skipped
    }

    pub fn add(&mut self, name: &DomainName, reason: String) {
        self.domains.entry(name.clone()).or_insert(reason);
    }

    /// The WHMCS database could not be read: premium flags and costs are unknown, so no
    /// domain that is premium at its registrar can be judged.
    pub fn premium_domains(&mut self, observations: &[Observation]) {
        for o in observations {
            if o.registrar.as_ref().is_some_and(|r| r.is_premium()) {
                self.add(
                    &o.name,
                    "premium data unreadable (WHMCS database)".to_string(),
                );
            }
        }
    }

    /// The ID protection price could not be read: no verdict on a domain whose
    /// "ID protection not billed" case would carry it.
    pub fn unbilled_id_protection(&mut self, observations: &[Observation]) {
        for o in observations {
            let billed = o.billing.as_ref().and_then(|b| b.id_protection);
            let active = o.registrar.as_ref().and_then(|r| r.whois_privacy);
            if billed == Some(false) && active == Some(true) {
                self.add(
                    &o.name,
                    "ID protection price unreadable (WHMCS database)".to_string(),
                );
            }
        }
    }

    /// Removes the skipped domains from scope, their observations and strike candidates,
    /// and tells the report what was skipped and why.
    pub fn take_out_of_scope(self, joined: &mut Joined, report: &mut CycleReport) {
        if self.domains.is_empty() {
            return;
        }
        joined
            .observations
            .retain(|o| !self.domains.contains_key(&o.name));
        joined.absent.retain(|d| !self.domains.contains_key(d));
        joined.scope.retain(|name| !self.domains.contains_key(name));
        report.skipped_domains += self.domains.len();
        let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
        for reason in self.domains.values() {
            *by_reason.entry(reason.as_str()).or_default() += 1;
        }
        let listed = by_reason.len().min(REASONS_LISTED);
        for (reason, count) in by_reason.iter().take(listed) {
            report
                .incomplete_inputs
                .push(format!("{count} domain(s) skipped: {reason}"));
        }
        if by_reason.len() > listed {
            report.incomplete_inputs.push(format!(
                "… and {} further reasons",
                by_reason.len() - listed
            ));
        }
        tracing::error!(
            skipped = self.domains.len(),
            "inputs incomplete: these domains get no verdict this cycle"
        );
    }
}
