//! Stage 1, fetch: the billing list and every registrar account's list, concurrently,
//! plus the premium data only the WHMCS database holds. A targeted check reads just its
//! domains instead: GetClientsDomains by name and StatusDomain at every account.

use crate::join::AccountSnapshot;
use crate::{fetch_cache, Account, CycleReport, Engine, EngineError, Progress};
use domwatch_core::detect::IdProtectionPrices;
use domwatch_core::model::{BillingDomain, BillingPremiumCost, RegistrarDomain};
use domwatch_core::money::RateTable;
use domwatch_core::ports::RegistrarError;
use domwatch_core::{Currency, DomainName, Money};
use domwatch_whmcs::actions::{BillingDomainList, KnownClientCurrencies, WhmcsCurrency};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// What the fetch stage read.
pub(crate) struct Fetched {
    pub domains: Vec<BillingDomain>,
    pub snapshots: Vec<AccountSnapshot>,
    pub rates: RateTable,
    /// False when the WHMCS database could not be read: premium flags are unknown.
    pub premium_data_read: bool,
    /// Targeted check: names a registrar could not be asked about, with the reason.
    pub unreadable_names: Vec<(DomainName, String)>,
    /// WHMCS's ID protection price per currency, or why it is unknown.
    pub id_protection: IdProtectionPrices,
    /// False when the WHMCS database failed to give the ID protection price.
    pub id_protection_read: bool,
}

/// What a targeted check reads: these names only.
pub(crate) type Targets<'a> = Option<&'a [DomainName]>;

type AccountRead<'a> = (
    &'a Account,
    Result<Vec<RegistrarDomain>, RegistrarError>,
    Option<RateTable>,
);

/// One account's answers about named domains: those it holds, and the names it could not
/// answer for (a domain it does not hold is an answer, not a failure).
type NamedRead = (Vec<RegistrarDomain>, Vec<(DomainName, String)>);

impl Engine {
    pub(crate) async fn fetch(
        &self,
        run_id: Option<i64>,
        report: &mut CycleReport,
        progress: &dyn Progress,
        targets: Targets<'_>,
    ) -> Result<Fetched, EngineError> {
        progress.stage("fetching billing and registrar snapshots", None);
        let mut unreadable_names = Vec::new();
        let (billing, registrar) = tokio::join!(
            self.fetch_billing(run_id, targets),
            self.fetch_accounts(targets, &mut unreadable_names)
        );
        let (list, currencies, failures) = billing?;
        report.incomplete_inputs.extend(failures);
        report.billing_domains = list.domains.len();
        report.unreadable_billing_rows = list.unreadable.len();
        for bad in &list.unreadable {
            tracing::warn!(domain_id = bad.id, name = %bad.name, reason = %bad.reason, "billing row skipped");
        }
        let (snapshots, rates) = self.account_snapshots(registrar, report);
        let mut domains = list.domains;
        let premium_data_read = self
            .add_premium_data(&mut domains, &currencies, report)
            .await;
        // A database that just failed is not asked again (a hang would cost its timeout twice).
        let (id_protection, id_protection_read) = if premium_data_read {
            self.id_protection_prices(report).await
        } else {
            let why = "the WHMCS database could not be read this cycle";
            (IdProtectionPrices::Unknown(why.into()), false)
        };
        // The page buffers of the fetch are freed by now but scattered over the allocator's
        // arenas; hand them back before the join builds its largest structure.
        fetch_cache::release_freed_memory();
        Ok(Fetched {
            domains,
            snapshots,
            rates,
            premium_data_read,
            unreadable_names,
            id_protection,
            id_protection_read,
        })
    }

    /// The ID protection add-on price (WHMCS database only). A failed read is an
    /// incomplete input (the second value is false): the cycle then gives no verdict on
    /// the domains whose case would carry it.
    async fn id_protection_prices(&self, report: &mut CycleReport) -> (IdProtectionPrices, bool) {
        let Some(db) = &self.whmcs_db else {
            let why = "no WHMCS database access (whmcs.database_url) to read the add-on price";
            return (IdProtectionPrices::Unknown(why.into()), true);
        };
        match db.id_protection_prices().await {
            Ok(prices) => (IdProtectionPrices::Read(prices), true),
            Err(e) => {
                report
                    .incomplete_inputs
                    .push(format!("WHMCS database (ID protection price): {e}"));
                (IdProtectionPrices::Unknown(e.to_string()), false)
            }
        }
    }

    async fn fetch_billing(
        &self,
        run_id: Option<i64>,
        targets: Targets<'_>,
    ) -> Result<(BillingDomainList, Vec<WhmcsCurrency>, Vec<String>), EngineError> {
        // Client currencies known from the WHMCS database or earlier cycles are not
        // asked for again (GetClientsDomains does not name them); see `fetch_cache`.
        let mut failures = Vec::new();
        let known = if self.billing.lists_client_currencies() {
            KnownClientCurrencies::new()
        } else {
            fetch_cache::known_client_currencies(
                &self.store,
                self.whmcs_db.as_ref(),
                self.now(),
                &mut failures,
            )
            .await
        };
        let list = match targets {
            None => self.billing.list_domains(&known).await,
            Some(names) => self.billing.list_domains_named(names, &known).await,
        }
        .map_err(|e| EngineError::Billing(e.to_string()))?;
        drop(known);
        if run_id.is_some() {
            fetch_cache::remember_client_currencies(
                &self.store,
                &list.learned_currencies,
                self.now(),
            )
            .await;
        }
        let currencies = self
            .billing
            .currencies()
            .await
            .map_err(|e| EngineError::Billing(e.to_string()))?;
        Ok((list, currencies, failures))
    }

    async fn fetch_accounts(
        &self,
        targets: Targets<'_>,
        unreadable_names: &mut Vec<(DomainName, String)>,
    ) -> Vec<AccountRead<'_>> {
        let reads = futures::future::join_all(self.accounts.iter().map(|a| async move {
            let (domains, unreadable) = match targets {
                None => (a.port.list_domains().await, Vec::new()),
                Some(names) => {
                    let (held, unreadable) = Self::status_of_named(a, names).await;
                    (Ok(held), unreadable)
                }
            };
            let rates = match &domains {
                Ok(_) => a.port.exchange_rates().await.ok(),
                Err(_) => None,
            };
            ((a, domains, rates), unreadable)
        }))
        .await;
        reads
            .into_iter()
            .map(|(read, unreadable)| {
                unreadable_names.extend(unreadable);
                read
            })
            .collect()
    }

    /// StatusDomain for each name at one account. "Not found" means the account does not
    /// hold it; any other failure leaves the name without a verdict.
    async fn status_of_named(account: &Account, names: &[DomainName]) -> NamedRead {
        let mut held = Vec::new();
        let mut unreadable = Vec::new();
        for name in names {
            match account.port.status_domain(name).await {
                Ok(d) => held.push(d),
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    tracing::warn!(account = %account.name, domain = %name, error = %e, "StatusDomain failed; the domain gets no verdict in this targeted check");
                    unreadable.push((
                        name.clone(),
                        format!("StatusDomain at {} failed: {e}", account.name),
                    ));
                }
            }
        }
        (held, unreadable)
    }

    /// One snapshot per account (`None` for an account that could not be read, which
    /// takes its domains out of this cycle) and the exchange rates of all of them.
    fn account_snapshots(
        &self,
        registrar: Vec<AccountRead<'_>>,
        report: &mut CycleReport,
    ) -> (Vec<AccountSnapshot>, RateTable) {
        let mut rates = RateTable::new();
        for (from, to, rate) in &self.fixed_rates {
            rates.insert(*from, *to, *rate);
        }
        let mut snapshots = Vec::with_capacity(registrar.len());
        for (account, domains, account_rates) in registrar {
            if let Some(r) = account_rates {
                rates.merge(&r);
            }
            let domains = match domains {
                Ok(d) => {
                    report
                        .registrar_domains
                        .insert(account.name.clone(), d.len());
                    Some(d)
                }
                Err(e) => {
                    tracing::error!(account = %account.name, error = %e, "registrar account could not be read; its domains are skipped this cycle");
                    report
                        .failed_accounts
                        .insert(account.name.clone(), e.to_string());
                    None
                }
            };
            snapshots.push(AccountSnapshot {
                name: account.name.clone(),
                modules: account
                    .modules
                    .iter()
                    .map(|m| m.to_ascii_lowercase())
                    .collect(),
                domains,
            });
        }
        (snapshots, rates)
    }

    /// Premium data lives only in the database (the API never returns it). Returns false
    /// when the database was configured but could not be read.
    async fn add_premium_data(
        &self,
        domains: &mut [BillingDomain],
        currencies: &[WhmcsCurrency],
        report: &mut CycleReport,
    ) -> bool {
        let Some(db) = &self.whmcs_db else {
            return true;
        };
        let records = match db.premium_records().await {
            Ok(records) => records,
            Err(e) => {
                tracing::error!(error = %e, "WHMCS database not readable: premium domains are skipped this cycle");
                report
                    .incomplete_inputs
                    .push(format!("WHMCS database (premium data): {e}"));
                return false;
            }
        };
        let currency_of: HashMap<u64, Currency> =
            currencies.iter().map(|c| (c.id, c.code)).collect();
        for d in domains {
            let Some(rec) = records.get(&d.id) else {
                d.is_premium = Some(false);
                continue;
            };
            d.is_premium = Some(rec.is_premium.unwrap_or(false));
            let currency = rec.currency_id.and_then(|id| currency_of.get(&id).copied());
            if let Some(currency) = currency {
                let cost = |v: Option<Decimal>| v.map(|a| Money::new(a, currency));
                if rec.renewal_cost.is_some() || rec.registration_cost.is_some() {
                    d.premium_cost = Some(Box::new(BillingPremiumCost {
                        registration_cost: cost(rec.registration_cost),
                        renewal_cost: cost(rec.renewal_cost),
                    }));
                }
            }
        }
        true
    }
}
