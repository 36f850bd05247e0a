//! What the fetch and look-up stages keep in the store between cycles so that WHMCS and
//! the registrars are asked one object at a time only about what is new.
//!
//! * **Client currencies.** GetClientsDomains does not say which currency an amount is
//!   in. With WHMCS database access every cycle reads all of them in one query
//!   (`tblclients` ⋈ `tblcurrencies`). Without it, the currencies learned by earlier
//!   cycles are passed to the listing, which asks only about the other clients. A cached
//!   currency is trusted for [`CLIENT_CURRENCY_MIN_DAYS`] to
//!   [`CLIENT_CURRENCY_MIN_DAYS`] + [`CLIENT_CURRENCY_SPREAD_DAYS`] days (fixed per client,
//!   so the re-checks of a portfolio learned in one cycle spread over ten cycles' worth of
//!   days): the WHMCS admin area refuses to change the currency of a client with invoices,
//!   but the API's UpdateClient does not, so nothing is cached forever. A renewal invoice
//!   read during the look-ups that names another currency (GetInvoices reports the
//!   client's current one) replaces the cached entry for the next cycle.
//! * **Failed transfers.** A failed incoming transfer is reported with its reason only by
//!   StatusDomainTransfer (one call per domain); the reason decides the case kind. The
//!   reason is kept and reused while the registrar's bulk transfer list does not show the
//!   transfer running again, for at most [`TRANSFER_FAILURE_MAX_DAYS`] days.
//!
//! A dry run reads these caches but writes nothing to them.

use crate::Account;
use chrono::{DateTime, Duration, Utc};
use domwatch_core::detect::TransferObservation;
use domwatch_core::ports::TransferInProgress;
use domwatch_core::{Currency, DomainName};
use domwatch_store::{CachedTransferFailure, Store};
use domwatch_whmcs::actions::{KnownClientCurrencies, LearnedClientCurrency};
use domwatch_whmcs::db::WhmcsDb;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use tokio::sync::OnceCell;

/// Shortest time a cached client currency is trusted.
pub const CLIENT_CURRENCY_MIN_DAYS: i64 = 20;
/// Spread of the trust period over clients (client id modulo this, in days).
pub const CLIENT_CURRENCY_SPREAD_DAYS: i64 = 11;
/// Longest time a failed transfer's reason is reused without asking the registrar again.
pub const TRANSFER_FAILURE_MAX_DAYS: i64 = 7;

/// How long the cached currency of `client_id` is trusted.
pub fn client_currency_max_age(client_id: u64) -> Duration {
    Duration::days(
        CLIENT_CURRENCY_MIN_DAYS + (client_id % CLIENT_CURRENCY_SPREAD_DAYS as u64) as i64,
    )
}

/// The client currencies the billing listing need not ask about: all of them from the
/// WHMCS database when configured, else the cached ones still young enough.
///
/// A WHMCS database that could not be read is reported in `failures` (the cache and the
/// API stand in, so no domain is skipped, but the admin hears of it).
pub async fn known_client_currencies(
    store: &Store,
    db: Option<&WhmcsDb>,
    now: DateTime<Utc>,
    failures: &mut Vec<String>,
) -> KnownClientCurrencies {
    if let Some(db) = db {
        match db.client_currencies().await {
            Ok(all) => return all,
            Err(e) => {
                tracing::error!(error = %e, "client currencies not readable from the WHMCS database; using domwatch's cache and the API");
                failures.push(format!(
                    "WHMCS database (client currencies; the cache and the API stood in): {e}"
                ));
            }
        }
    }
    match store.client_currencies().await {
        Ok(cached) => cached
            .into_iter()
            .filter(|c| now - c.checked_at < client_currency_max_age(c.client_id))
            .map(|c| (c.client_id, c.currency))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cached client currencies not readable; asking WHMCS about every client");
            KnownClientCurrencies::new()
        }
    }
}

/// Keeps what the listing learned. A failure costs only calls next cycle, so it is logged.
pub async fn remember_client_currencies(
    store: &Store,
    learned: &[LearnedClientCurrency],
    now: DateTime<Utc>,
) {
    let entries: Vec<(u64, Currency, &str)> = learned
        .iter()
        .map(|l| (l.client_id, l.currency, l.source.as_str()))
        .collect();
    if let Err(e) = store.save_client_currencies(&entries, now).await {
        tracing::warn!(error = %e, "learned client currencies not saved; the next cycle asks again");
    }
}

/// One account's transfers as this cycle sees them.
struct AccountTransfers {
    /// The bulk transfer list by domain (status per entry when the registrar gives one);
    /// `None` when the registrar has no such list.
    listed: Option<HashMap<DomainName, Option<String>>>,
    /// Why the list could not be read: then nothing about this account's transfers is
    /// known this cycle, not even whether a cached failure still holds.
    unreadable: Option<String>,
    cached: HashMap<DomainName, CachedTransferFailure>,
}

/// Failures read this cycle (domain, reason), and domains whose cached failure is void.
type FailureChanges = (Vec<(DomainName, String)>, Vec<DomainName>);

/// What the look-up stage reads once and learns: for transfers one bulk list per
/// account, cached failure reasons, and StatusDomainTransfer only where neither tells;
/// client currencies that renewal invoices contradict. Writes wait for [`Self::save`], so
/// a dry run keeps nothing.
#[derive(Default)]
pub struct LookupCache {
    accounts: HashMap<String, OnceCell<AccountTransfers>>,
    /// Client currencies named by renewal invoices that differ from the assumed ones.
    corrected_currencies: Mutex<Vec<(u64, Currency)>>,
    /// Per account: what this cycle learned about failures.
    changes: Mutex<HashMap<String, FailureChanges>>,
    /// Per account: the domains looked at, so cached failures of others can be dropped.
    seen: Mutex<HashMap<String, HashSet<DomainName>>>,
}

impl LookupCache {
    pub fn new<'a>(accounts: impl IntoIterator<Item = &'a Account>) -> Self {
        LookupCache {
            accounts: accounts
                .into_iter()
                .map(|a| (a.name.clone(), OnceCell::new()))
                .collect(),
            ..Default::default()
        }
    }

    async fn account(&self, store: &Store, account: &Account) -> Option<&AccountTransfers> {
        let cell = self.accounts.get(&account.name)?;
        Some(
            cell.get_or_init(|| async {
                let (listed, unreadable) = match account.port.transfer_list().await {
                    Ok(list) => (list.map(index_transfers), None),
                    Err(e) => {
                        tracing::warn!(account = %account.name, error = %e, "transfer list not readable; transfers of this account are skipped this cycle");
                        (None, Some(e.to_string()))
                    }
                };
                let cached = store
                    .transfer_failures(&account.name)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "cached transfer failures not readable");
                        HashMap::new()
                    });
                AccountTransfers {
                    listed,
                    unreadable,
                    cached,
                }
            })
            .await,
        )
    }

    /// What is known about the incoming transfer of `name` at `account`. Same answers as
    /// asking StatusDomainTransfer: `Failed` with the registrar's reason, `Pending`, or
    /// nothing when the registrar knows no transfer. An error when the registrar could
    /// not tell: that is not "no transfer".
    pub async fn observe(
        &self,
        store: &Store,
        account: &Account,
        name: &DomainName,
        now: DateTime<Utc>,
    ) -> Result<Option<TransferObservation>, String> {
        self.seen
            .lock()
            .expect("lookup cache lock")
            .entry(account.name.clone())
            .or_default()
            .insert(name.clone());
        let known = self.account(store, account).await;
        if let Some(why) = known.and_then(|k| k.unreadable.as_ref()) {
            return Err(format!(
                "transfer list of {} not readable: {why}",
                account.name
            ));
        }
        let listed = known.and_then(|k| k.listed.as_ref()).map(|l| l.get(name));
        // The list says the transfer is running (CNR gives a status; a list without
        // statuses cannot tell running from failed and is not trusted for that).
        if let Some(Some(Some(status))) = listed {
            let entry = TransferInProgress {
                name: name.clone(),
                status: Some(status.clone()),
            };
            if !entry.has_failed() {
                self.record(&account.name, None, name);
                return Ok(Some(TransferObservation::Pending));
            }
        }
        let listed_without_status = matches!(listed, Some(Some(None)));
        if let Some(cached) = known.and_then(|k| k.cached.get(name)) {
            if !listed_without_status
                && now - cached.checked_at < Duration::days(TRANSFER_FAILURE_MAX_DAYS)
            {
                return Ok(Some(TransferObservation::Failed {
                    reason: cached.reason.clone(),
                }));
            }
        }
        match account.port.transfer_status(name).await {
            Ok(status) if status.has_failed() => {
                let reason = status
                    .log
                    .last()
                    .cloned()
                    .unwrap_or_else(|| "transfer failed".into());
                self.record(&account.name, Some(reason.clone()), name);
                Ok(Some(TransferObservation::Failed { reason }))
            }
            Ok(_) => {
                self.record(&account.name, None, name);
                Ok(Some(TransferObservation::Pending))
            }
            Err(e) if e.is_not_found() => {
                tracing::debug!(domain = %name, error = %e, "no transfer status");
                self.record(&account.name, None, name);
                Ok(None)
            }
            Err(e) => {
                tracing::warn!(domain = %name, error = %e, "transfer status look-up failed; the domain is skipped this cycle");
                Err(format!(
                    "transfer status look-up at {} failed: {e}",
                    account.name
                ))
            }
        }
    }

    fn record(&self, account: &str, failure: Option<String>, name: &DomainName) {
        let mut changes = self.changes.lock().expect("lookup cache lock");
        let (failed, void) = changes.entry(account.to_string()).or_default();
        match failure {
            Some(reason) => failed.push((name.clone(), reason)),
            None => void.push(name.clone()),
        }
    }

    /// A renewal invoice named the client's currency (GetInvoices reports the client's
    /// current one): when the domain's amount was read in another, the cached currency is
    /// corrected for the next cycle.
    pub fn invoice_names_client_currency(
        &self,
        client_id: u64,
        assumed: Currency,
        reported: Currency,
    ) {
        if assumed != reported {
            tracing::warn!(client_id, %assumed, %reported, "an invoice names another client currency than the one assumed; corrected for the next cycle");
            self.corrected_currencies
                .lock()
                .expect("lookup cache lock")
                .push((client_id, reported));
        }
    }

    /// Saves this cycle's transfer failures and currency corrections, and drops cached
    /// failures that are void or were not looked at (the billing side no longer waits
    /// for that transfer).
    pub async fn save(self, store: &Store, now: DateTime<Utc>) {
        let corrected = self
            .corrected_currencies
            .into_inner()
            .expect("lookup cache lock");
        let entries: Vec<(u64, Currency, &str)> = corrected
            .iter()
            .map(|(id, c)| (*id, *c, "invoices"))
            .collect();
        if let Err(e) = store.save_client_currencies(&entries, now).await {
            tracing::warn!(error = %e, "corrected client currencies not saved");
        }
        let mut changes = self.changes.into_inner().expect("lookup cache lock");
        let seen = self.seen.into_inner().expect("lookup cache lock");
        for (account, cell) in self.accounts {
            let Some(known) = cell.into_inner() else {
                continue;
            };
            let (failed, mut void) = changes.remove(&account).unwrap_or_default();
            let looked_at = seen.get(&account);
            void.extend(
                known
                    .cached
                    .into_keys()
                    .filter(|d| looked_at.is_none_or(|s| !s.contains(d))),
            );
            void.retain(|d| !failed.iter().any(|(f, _)| f == d));
            if let Err(e) = store
                .update_transfer_failures(&account, &failed, &void, now)
                .await
            {
                tracing::warn!(%account, error = %e, "transfer failures not saved; the next cycle asks again");
            }
        }
    }
}

/// Returns memory the allocator holds in freed chunks to the operating system. glibc
/// keeps freed small allocations in per-thread arenas; after a fetch of a million rows
/// that is a hundred megabytes or more that no later allocation of another size class or
/// thread reuses, so it would only add to the peak.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory glibc owns and no live allocation uses.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn index_transfers(list: Vec<TransferInProgress>) -> HashMap<DomainName, Option<String>> {
    list.into_iter().map(|t| (t.name, t.status)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_currency_trust_spreads_over_eleven_days() {
        let ages: HashSet<i64> = (0..100)
            .map(|id| client_currency_max_age(id).num_days())
            .collect();
        assert_eq!(ages.len(), 11);
        assert_eq!(ages.iter().min(), Some(&CLIENT_CURRENCY_MIN_DAYS));
        assert_eq!(ages.iter().max(), Some(&(CLIENT_CURRENCY_MIN_DAYS + 10)));
    }
}
