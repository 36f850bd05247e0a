//! The sandbox registrar's state: the portfolio as the base, changes as an overlay.
//!
//! A domain nobody touched is computed from the [`Portfolio`] on every read, so a
//! million-domain account costs no memory. The first change to a domain materialises it
//! into the overlay; domains the portfolio does not know (incoming transfers) live in
//! `extras`. Listing pages through "portfolio positions of this dialect, then extras" with
//! a small per-block count index so that any page is found without scanning the whole
//! account.

use crate::portfolio::{
    exchange_rates, Portfolio, SeedDomain, TransferState, REGISTRAR_CURRENCY, RESELLER_HANDLE,
};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use domwatch_core::model::{ContactHandles, Dialect, PremiumInfo, RenewalMode};
use domwatch_core::DomainName;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Portfolio positions per block of the presence index.
const PRESENCE_BLOCK: usize = 1024;
/// Days until an incoming transfer completes when nobody objects.
pub const TRANSFER_DAYS: i64 = 5;
/// How long a session lives without use, like CNR's `expiration date` on login.
pub const SESSION_MINUTES: i64 = 60;

/// A role user: logs in as `login:role` (CNR) or `login!role` (ISPAPI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleUser {
    pub role: String,
    pub password: String,
}

/// The registrar account the sandbox serves.
#[derive(Debug, Clone)]
pub struct Account {
    pub login: String,
    pub password: String,
    pub roles: Vec<RoleUser>,
    /// Prepaid balance in [`REGISTRAR_CURRENCY`]; renewals and transfers are charged here.
    pub balance: Decimal,
    /// How far the balance may go below zero.
    pub credit_limit: Decimal,
    pub vat_percent: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferStatus {
    Pending,
    Failed(String),
    Completed,
}

/// An incoming transfer the registrar knows about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRecord {
    pub requested: NaiveDate,
    pub status: TransferStatus,
    pub log: Vec<String>,
}

/// The registrar's view of one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRecord {
    pub name: DomainName,
    /// Listed in the account (false: gone, or a transfer that has not completed).
    pub present: bool,
    pub created: NaiveDate,
    pub updated: NaiveDate,
    pub registry_expiry: NaiveDate,
    pub paid_until: NaiveDate,
    /// Time of day of every timestamp of this domain (registrars keep the creation time).
    pub time: NaiveTime,
    pub renewal_mode: RenewalMode,
    pub status: String,
    pub premium: Option<PremiumInfo>,
    /// One renewal year in [`REGISTRAR_CURRENCY`] (premium price when premium).
    pub renew_price: Decimal,
    pub transfer_price: Decimal,
    pub contacts: ContactHandles,
    pub transfer: Option<TransferRecord>,
    pub failed_renewal: Option<String>,
    pub transfer_lock: bool,
    /// WHOIS privacy (CNR `X-WHOIS-PRIVACY`); off in state files written before it.
    #[serde(default)]
    pub whois_privacy: bool,
    pub auth: String,
    pub roid: String,
}

impl DomainRecord {
    fn from_seed(seed: &SeedDomain, portfolio_seed: u64) -> Self {
        let r = &seed.registrar;
        let secs = (seed.index as u32).wrapping_mul(7919) % 86_400;
        DomainRecord {
            name: seed.name.clone(),
            present: r.present,
            created: r.created,
            updated: r.created,
            registry_expiry: r.registry_expiry,
            paid_until: r.paid_until,
            time: NaiveTime::from_num_seconds_from_midnight_opt(secs, 0).expect("< 86400"),
            renewal_mode: r.renewal_mode.clone(),
            status: r.status.to_string(),
            premium: r.premium.clone(),
            renew_price: r.renew_price,
            transfer_price: r.transfer_price,
            contacts: r.contacts.clone(),
            transfer: r.transfer.as_ref().map(|t| match t {
                TransferState::Pending { requested } => TransferRecord {
                    requested: *requested,
                    status: TransferStatus::Pending,
                    log: vec![format!(
                        "{requested} 10:00:00 [PENDING] domain transfer initiated"
                    )],
                },
                TransferState::Failed { requested, reason } => TransferRecord {
                    requested: *requested,
                    status: TransferStatus::Failed(reason.clone()),
                    log: vec![
                        format!("{requested} 10:00:00 [INITIATED] domain transfer initiated"),
                        format!("{requested} 10:05:00 [FAILED] {reason}"),
                    ],
                },
            }),
            failed_renewal: r.failed_renewal.clone(),
            transfer_lock: r.transfer_lock,
            whois_privacy: r.whois_privacy,
            auth: token(portfolio_seed, 7, seed.index as u64, 12),
            roid: format!("{}_DOMAIN-KEYSYS", 1_000_000 + seed.index),
        }
    }

    /// True when the registrar renews the domain by itself at the end of the term.
    pub fn auto_renews(&self) -> bool {
        !self.renewal_mode.lets_expire()
    }
}

/// A contact handle's details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub handle: String,
    pub first_name: String,
    pub last_name: String,
    pub organization: String,
    pub street: String,
    pub city: String,
    pub zip: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub created: NaiveDateTime,
}

impl Contact {
    /// Two contacts are "identical" for handle reuse when every detail matches,
    /// ignoring case and surrounding blanks (as the registries' duplicate check does).
    pub fn same_details(&self, other: &Contact) -> bool {
        let norm = |s: &str| s.trim().to_lowercase();
        [
            (&self.first_name, &other.first_name),
            (&self.last_name, &other.last_name),
            (&self.organization, &other.organization),
            (&self.street, &other.street),
            (&self.city, &other.city),
            (&self.zip, &other.zip),
            (&self.country, &other.country),
            (&self.phone, &other.phone),
            (&self.email, &other.email),
        ]
        .iter()
        .all(|(a, b)| norm(a) == norm(b))
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub login: String,
    pub expires: NaiveDateTime,
}

/// Registrar prices of a zone, per year, in [`REGISTRAR_CURRENCY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZonePrices {
    pub register: Decimal,
    pub renew: Decimal,
    pub transfer: Decimal,
}

/// Where a domain lives: in the portfolio (by index) or only in the overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainKey {
    Portfolio(usize),
    Extra(String),
}

/// Facts that need a full scan of the portfolio; built once, on first use.
#[derive(Debug)]
struct Catalog {
    /// Portfolio indices (of this dialect) that are premium in the base portfolio.
    premium: Vec<usize>,
    /// Listed domains per zone in the base portfolio.
    zone_counts: HashMap<String, usize>,
    /// Listed base domains set to expire (AUTOEXPIRE/AUTODELETE), with their paid-until.
    expiring: Vec<(usize, NaiveDate)>,
    /// Portfolio indices (of this dialect) with an incoming transfer on record.
    transfers: Vec<usize>,
}

pub struct State {
    pub dialect: Dialect,
    pub portfolio: Portfolio,
    pub account: Account,
    now: NaiveDateTime,
    overlay: BTreeMap<usize, DomainRecord>,
    extras: BTreeMap<String, DomainRecord>,
    zone_overrides: BTreeMap<String, ZonePrices>,
    added_contacts: Vec<Contact>,
    sessions: HashMap<String, Session>,
    ids: ChaCha8Rng,
    next_contact: u64,
    presence: Option<Vec<u32>>,
    catalog: Option<Catalog>,
    /// Bumped whenever a domain enters or leaves the list (invalidates `sorted`).
    listing_generation: u64,
    sorted: Option<SortedList>,
    /// Bumped by every change worth keeping (see [`State::changes`]).
    changes: u64,
}

/// What a sandbox keeps across restarts: everything that differs from the portfolio.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersistedState {
    /// The portfolio this overlay belongs to; a different one makes it void.
    pub dialect: Dialect,
    pub seed: u64,
    pub size: usize,
    pub today: NaiveDate,
    pub now: NaiveDateTime,
    pub balance: Decimal,
    pub overlay: BTreeMap<usize, DomainRecord>,
    pub extras: BTreeMap<String, DomainRecord>,
    pub zone_overrides: BTreeMap<String, ZonePrices>,
    pub added_contacts: Vec<Contact>,
    pub next_contact: u64,
}

/// The listed domains ordered by A-label, for `ORDERBY=DOMAIN`.
#[derive(Debug)]
struct SortedList {
    generation: u64,
    /// Portfolio positions, or `EXTRA_TAG | i` for `extra_names[i]`.
    entries: Vec<u32>,
    extra_names: Vec<String>,
}

const EXTRA_TAG: u32 = 1 << 31;

impl State {
    pub fn new(dialect: Dialect, portfolio: Portfolio, account: Account) -> Self {
        State {
            dialect,
            portfolio,
            account,
            now: portfolio
                .today
                .and_time(NaiveTime::from_hms_opt(10, 0, 0).expect("valid")),
            overlay: BTreeMap::new(),
            extras: BTreeMap::new(),
            zone_overrides: BTreeMap::new(),
            added_contacts: Vec::new(),
            sessions: HashMap::new(),
            ids: ChaCha8Rng::seed_from_u64(portfolio.seed ^ 0x5E55_1011),
            next_contact: 1,
            presence: None,
            catalog: None,
            listing_generation: 0,
            sorted: None,
            changes: 0,
        }
    }

    /// A counter that grows with every change (domains, contacts, prices, balance, clock),
    /// so a caller can tell whether the state needs saving.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    pub fn persisted(&self) -> PersistedState {
        PersistedState {
            dialect: self.dialect,
            seed: self.portfolio.seed,
            size: self.portfolio.size,
            today: self.portfolio.today,
            now: self.now,
            balance: self.account.balance,
            overlay: self.overlay.clone(),
            extras: self.extras.clone(),
            zone_overrides: self.zone_overrides.clone(),
            added_contacts: self.added_contacts.clone(),
            next_contact: self.next_contact,
        }
    }

    /// Puts a saved overlay back. Refused when it was made for another portfolio.
    pub fn restore(&mut self, saved: PersistedState) -> Result<(), String> {
        if saved.dialect != self.dialect
            || saved.seed != self.portfolio.seed
            || saved.size != self.portfolio.size
            || saved.today != self.portfolio.today
        {
            return Err(format!(
                "saved sandbox state is for {} seed {} ({} domains, {}), not this sandbox",
                saved.dialect, saved.seed, saved.size, saved.today
            ));
        }
        self.now = saved.now;
        self.account.balance = saved.balance;
        self.overlay = saved.overlay;
        self.extras = saved.extras;
        self.zone_overrides = saved.zone_overrides;
        self.added_contacts = saved.added_contacts;
        self.next_contact = saved.next_contact;
        self.presence = None;
        self.catalog = None;
        self.listing_generation += 1;
        Ok(())
    }

    pub fn now(&self) -> NaiveDateTime {
        self.now
    }

    pub fn today(&self) -> NaiveDate {
        self.now.date()
    }

    // ----- sessions -------------------------------------------------------------------

    /// Opens a session for `login`; returns its id and expiry.
    pub fn open_session(&mut self, login: &str) -> (String, NaiveDateTime) {
        let id = match self.dialect {
            Dialect::Cnr => random_hex(&mut self.ids, 32),
            _ => random_alnum(&mut self.ids, 64),
        };
        let expires = self.now + Duration::minutes(SESSION_MINUTES);
        self.sessions.insert(
            id.clone(),
            Session {
                login: login.to_string(),
                expires,
            },
        );
        (id, expires)
    }

    /// The login of a live session (and extends it, like a server-side idle timeout).
    pub fn use_session(&mut self, id: &str) -> Option<String> {
        let now = self.now;
        let session = self.sessions.get_mut(id)?;
        if session.expires < now {
            self.sessions.remove(id);
            return None;
        }
        session.expires = now + Duration::minutes(SESSION_MINUTES);
        Some(session.login.clone())
    }

    pub fn close_session(&mut self, id: &str) -> bool {
        self.sessions.remove(id).is_some()
    }

    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    // ----- clock ----------------------------------------------------------------------

    /// Moves the clock forward: sessions may expire, pending transfers complete,
    /// auto-renewing domains roll their paid-until over the new date (on read), and
    /// domains set to AUTOEXPIRE/AUTODELETE whose paid-until passed leave the account.
    pub fn advance(&mut self, by: Duration) {
        self.changes += 1;
        self.now += by;
        let today = self.today();
        let mut completed = 0u64;
        let complete = |rec: &mut DomainRecord, completed: &mut u64| {
            if let Some(t) = &mut rec.transfer {
                if t.status == TransferStatus::Pending
                    && today >= t.requested + Duration::days(TRANSFER_DAYS)
                {
                    t.status = TransferStatus::Completed;
                    t.log.push(format!(
                        "{} 10:00:00 [COMPLETED] domain transfer completed",
                        t.requested + Duration::days(TRANSFER_DAYS)
                    ));
                    rec.present = true;
                    rec.status = "ACTIVE".into();
                    *completed += 1;
                    rec.paid_until = crate::portfolio::add_years(rec.paid_until.max(today), 1);
                    rec.registry_expiry = rec.paid_until;
                    rec.updated = today;
                }
            }
        };
        for rec in self.overlay.values_mut().chain(self.extras.values_mut()) {
            complete(rec, &mut completed);
        }
        self.listing_generation += completed;

        // Expiry: materialise the base domains whose term ran out, then drop every
        // expiring domain past its paid-until from the list.
        let expiring = self.catalog().expiring.clone();
        for (index, paid_until) in expiring {
            if paid_until < today && !self.overlay.contains_key(&index) {
                let rec = self.record_at(index);
                self.overlay.insert(index, rec);
            }
        }
        let mut expired = 0u64;
        for rec in self.overlay.values_mut().chain(self.extras.values_mut()) {
            if rec.present && rec.renewal_mode.lets_expire() && rec.paid_until < today {
                rec.present = false;
                rec.status = "DELETED".into();
                rec.updated = today;
                expired += 1;
            }
        }
        self.listing_generation += expired;
    }

    // ----- prices ---------------------------------------------------------------------

    pub fn zone_prices(&self, zone: &str) -> Option<ZonePrices> {
        if let Some(over) = self.zone_overrides.get(zone) {
            return Some(*over);
        }
        crate::price_list::listed_zone(zone).map(|z| ZonePrices {
            register: z.register,
            renew: z.renew,
            transfer: z.transfer,
        })
    }

    pub fn set_zone_prices(&mut self, zone: &str, prices: ZonePrices) {
        self.changes += 1;
        self.zone_overrides.insert(zone.to_string(), prices);
    }

    /// What one renewal year of `rec` costs now: the premium price for premium domains,
    /// else the zone's current price when it was changed after the portfolio was made.
    pub fn renew_price(&self, rec: &DomainRecord) -> Decimal {
        if rec.premium.is_none() {
            if let Some(over) = self.zone_overrides.get(rec.name.zone()) {
                return over.renew;
            }
        }
        rec.renew_price
    }

    pub fn transfer_price(&self, rec: &DomainRecord) -> Decimal {
        if rec.premium.is_none() {
            if let Some(over) = self.zone_overrides.get(rec.name.zone()) {
                return over.transfer;
            }
        }
        rec.transfer_price
    }

    pub fn exchange_rates(&self) -> Vec<(String, String, Decimal)> {
        let mut rates = Vec::new();
        for (from, to, rate) in exchange_rates() {
            rates.push((from.as_str().to_string(), to.as_str().to_string(), rate));
            rates.push((
                to.as_str().to_string(),
                from.as_str().to_string(),
                (Decimal::ONE / rate).round_dp(4),
            ));
        }
        rates
    }

    /// Charges the account; false (and nothing charged) when the credit limit would be
    /// exceeded.
    pub fn charge(&mut self, amount: Decimal) -> bool {
        if self.account.balance - amount < -self.account.credit_limit {
            return false;
        }
        self.account.balance -= amount;
        self.changes += 1;
        true
    }

    // ----- domains --------------------------------------------------------------------

    /// The domain called `name` if this account's registrar knows it (listed, or with a
    /// transfer on record). Domains of the other dialects are not this registrar's.
    pub fn find(&self, name: &DomainName) -> Option<(DomainKey, DomainRecord)> {
        if let Some(rec) = self.extras.get(name.ascii()) {
            return Some((DomainKey::Extra(name.ascii().to_string()), rec.clone()));
        }
        let index = self.portfolio.index_of(name)?;
        if Portfolio::dialect_of(index) != self.dialect {
            return None;
        }
        Some((DomainKey::Portfolio(index), self.record_at(index)))
    }

    /// A domain of any dialect that exists in the wider world (for availability checks).
    pub fn is_registered_anywhere(&self, name: &DomainName) -> bool {
        if let Some(rec) = self.extras.get(name.ascii()) {
            return rec.present;
        }
        match self.portfolio.index_of(name) {
            Some(index) if Portfolio::dialect_of(index) == self.dialect => {
                // Ours, or registered elsewhere (gone / failed transfer: still registered).
                true
            }
            Some(_) => true,
            None => false,
        }
    }

    fn record_at(&self, index: usize) -> DomainRecord {
        match self.overlay.get(&index) {
            Some(rec) => self.with_clock(rec.clone()),
            None => self.with_clock(DomainRecord::from_seed(
                &self.portfolio.domain(index),
                self.portfolio.seed,
            )),
        }
    }

    /// Applies registrar auto-renewal up to today: an auto-renewing domain whose
    /// paid-until passed has been renewed for another year (read-time, so untouched
    /// domains need no bookkeeping when the clock moves).
    fn with_clock(&self, mut rec: DomainRecord) -> DomainRecord {
        let today = self.today();
        if rec.present && rec.auto_renews() && rec.failed_renewal.is_none() {
            while rec.paid_until < today {
                rec.paid_until = crate::portfolio::add_years(rec.paid_until, 1);
                rec.registry_expiry = rec.registry_expiry.max(rec.paid_until);
                if rec.renewal_mode == RenewalMode::RenewOnce {
                    rec.renewal_mode = RenewalMode::Default;
                }
            }
        }
        rec
    }

    /// Changes a domain, materialising it into the overlay first.
    pub fn update<T>(&mut self, key: &DomainKey, change: impl FnOnce(&mut DomainRecord) -> T) -> T {
        let today = self.today();
        self.changes += 1;
        let rec = match key {
            DomainKey::Portfolio(index) => {
                if !self.overlay.contains_key(index) {
                    let rec = self.record_at(*index);
                    self.overlay.insert(*index, rec);
                }
                self.overlay.get_mut(index).expect("just inserted")
            }
            DomainKey::Extra(name) => self
                .extras
                .get_mut(name)
                .expect("extras are only keyed after insert"),
        };
        let was_present = rec.present;
        let out = change(rec);
        rec.updated = today;
        if rec.present != was_present {
            self.listing_generation += 1;
        }
        out
    }

    /// Records an incoming transfer of a domain the portfolio does not know.
    pub fn insert_extra(&mut self, rec: DomainRecord) -> DomainKey {
        let key = rec.name.ascii().to_string();
        self.changes += 1;
        self.extras.insert(key.clone(), rec);
        self.listing_generation += 1;
        DomainKey::Extra(key)
    }

    /// A new record for a domain the portfolio does not know (incoming transfer).
    pub fn new_extra_record(&mut self, name: DomainName, prices: ZonePrices) -> DomainRecord {
        let today = self.today();
        let n = self.extras.len() as u64;
        DomainRecord {
            name,
            present: false,
            created: today,
            updated: today,
            registry_expiry: today,
            paid_until: today,
            time: NaiveTime::from_hms_opt(10, 0, 0).expect("valid"),
            renewal_mode: RenewalMode::Default,
            status: "PENDING TRANSFER".into(),
            premium: None,
            renew_price: prices.renew,
            transfer_price: prices.transfer,
            contacts: ContactHandles {
                owner: Some(RESELLER_HANDLE.into()),
                admin: Some(RESELLER_HANDLE.into()),
                tech: Some(RESELLER_HANDLE.into()),
                billing: Some(RESELLER_HANDLE.into()),
            },
            transfer: None,
            failed_renewal: None,
            transfer_lock: false,
            whois_privacy: false,
            auth: random_alnum(&mut self.ids, 12),
            roid: format!("{}_DOMAIN-KEYSYS", 9_000_000 + n),
        }
    }

    fn present_at_position(&self, position: usize) -> bool {
        let index = Portfolio::nth_index_of(self.dialect, position);
        match self.overlay.get(&index) {
            Some(rec) => rec.present,
            None => self.portfolio.registrar_present(index),
        }
    }

    fn presence_index(&mut self) -> &Vec<u32> {
        if self.presence.is_none() {
            let positions = self.portfolio.count_of(self.dialect);
            let mut counts = Vec::with_capacity(positions / PRESENCE_BLOCK + 1);
            for start in (0..positions).step_by(PRESENCE_BLOCK) {
                let end = (start + PRESENCE_BLOCK).min(positions);
                let present = (start..end)
                    .filter(|&p| {
                        self.portfolio
                            .registrar_present(Portfolio::nth_index_of(self.dialect, p))
                    })
                    .count();
                counts.push(present as u32);
            }
            self.presence = Some(counts);
        }
        self.presence.as_ref().expect("just built")
    }

    /// Listed domains in block `block`, base count corrected by the overlay.
    fn block_count(&self, counts: &[u32], block: usize) -> usize {
        let positions = self.portfolio.count_of(self.dialect);
        let start = block * PRESENCE_BLOCK;
        let end = ((block + 1) * PRESENCE_BLOCK).min(positions);
        let first_index = Portfolio::nth_index_of(self.dialect, start);
        let last_index = Portfolio::nth_index_of(self.dialect, end - 1);
        let mut count = counts[block] as i64;
        for (&index, rec) in self.overlay.range(first_index..=last_index) {
            let base = self.portfolio.registrar_present(index);
            count += rec.present as i64 - base as i64;
        }
        count as usize
    }

    /// Number of domains listed in the account.
    pub fn listed_total(&mut self) -> usize {
        let counts = self.presence_index().clone();
        let portfolio: usize = (0..counts.len())
            .map(|b| self.block_count(&counts, b))
            .sum();
        portfolio + self.extras.values().filter(|r| r.present).count()
    }

    /// Listed domains `first .. first + limit` in list order (portfolio order, then
    /// transferred-in domains by name).
    pub fn listed_page(&mut self, first: usize, limit: usize) -> Vec<DomainRecord> {
        let counts = self.presence_index().clone();
        let positions = self.portfolio.count_of(self.dialect);
        let mut out = Vec::with_capacity(limit.min(10_000));
        let mut skip = first;
        let mut block = 0;
        // Skip whole blocks.
        while block < counts.len() {
            let count = self.block_count(&counts, block);
            if skip < count {
                break;
            }
            skip -= count;
            block += 1;
        }
        let mut position = block * PRESENCE_BLOCK;
        while position < positions && out.len() < limit {
            if self.present_at_position(position) {
                if skip == 0 {
                    out.push(self.record_at(Portfolio::nth_index_of(self.dialect, position)));
                } else {
                    skip -= 1;
                }
            }
            position += 1;
        }
        for rec in self.extras.values().filter(|r| r.present) {
            if out.len() >= limit {
                break;
            }
            if skip == 0 {
                out.push(self.with_clock(rec.clone()));
            } else {
                skip -= 1;
            }
        }
        out
    }

    /// Listed domains `first .. first + limit` ordered by A-label (`ORDERBY=DOMAIN`),
    /// descending when asked. The order is built once per change of the list.
    pub fn listed_page_by_name(
        &mut self,
        first: usize,
        limit: usize,
        descending: bool,
    ) -> Vec<DomainRecord> {
        let stale = self
            .sorted
            .as_ref()
            .is_none_or(|s| s.generation != self.listing_generation);
        if stale {
            let positions = self.portfolio.count_of(self.dialect);
            let mut named: Vec<(String, u32)> = (0..positions)
                .filter(|&p| self.present_at_position(p))
                .map(|p| {
                    let index = Portfolio::nth_index_of(self.dialect, p);
                    let name = match self.overlay.get(&index) {
                        Some(rec) => rec.name.ascii().to_string(),
                        None => self.portfolio.name(index).ascii().to_string(),
                    };
                    (name, p as u32)
                })
                .collect();
            let extra_names: Vec<String> = self
                .extras
                .iter()
                .filter(|(_, r)| r.present)
                .map(|(name, _)| name.clone())
                .collect();
            named.extend(
                extra_names
                    .iter()
                    .enumerate()
                    .map(|(i, name)| (name.clone(), EXTRA_TAG | i as u32)),
            );
            named.sort_unstable();
            self.sorted = Some(SortedList {
                generation: self.listing_generation,
                entries: named.into_iter().map(|(_, entry)| entry).collect(),
                extra_names,
            });
        }
        let sorted = self.sorted.as_ref().expect("just built");
        let picked: Vec<u32> = if descending {
            sorted
                .entries
                .iter()
                .rev()
                .skip(first)
                .take(limit)
                .copied()
                .collect()
        } else {
            sorted
                .entries
                .iter()
                .skip(first)
                .take(limit)
                .copied()
                .collect()
        };
        picked
            .into_iter()
            .map(|entry| {
                if entry & EXTRA_TAG != 0 {
                    let name = &sorted.extra_names[(entry & !EXTRA_TAG) as usize];
                    self.with_clock(self.extras[name].clone())
                } else {
                    self.record_at(Portfolio::nth_index_of(self.dialect, entry as usize))
                }
            })
            .collect()
    }

    fn catalog(&mut self) -> &Catalog {
        if self.catalog.is_none() {
            let mut premium = Vec::new();
            let mut expiring = Vec::new();
            let mut zone_counts: HashMap<String, usize> = HashMap::new();
            let mut transfers = Vec::new();
            for d in self.portfolio.domains_of(self.dialect) {
                if d.registrar.transfer.is_some() {
                    transfers.push(d.index);
                }
                if !d.registrar.present {
                    continue;
                }
                if d.registrar.premium.is_some() {
                    premium.push(d.index);
                }
                if d.registrar.renewal_mode.lets_expire() {
                    expiring.push((d.index, d.registrar.paid_until));
                }
                *zone_counts.entry(d.name.zone().to_string()).or_default() += 1;
            }
            self.catalog = Some(Catalog {
                premium,
                zone_counts,
                expiring,
                transfers,
            });
        }
        self.catalog.as_ref().expect("just built")
    }

    /// Every listed premium domain, in list order.
    pub fn listed_premium(&mut self) -> Vec<DomainRecord> {
        let mut indices: Vec<usize> = self.catalog().premium.clone();
        indices.extend(self.overlay.keys().copied());
        indices.sort_unstable();
        indices.dedup();
        let mut out: Vec<DomainRecord> = indices
            .into_iter()
            .map(|i| self.record_at(i))
            .filter(|r| r.present && r.premium.is_some())
            .collect();
        out.extend(
            self.extras
                .values()
                .filter(|r| r.present && r.premium.is_some())
                .map(|r| self.with_clock(r.clone())),
        );
        out
    }

    /// Every incoming transfer that has not completed (pending or failed), portfolio
    /// domains in portfolio order, then transferred-in domains by name.
    pub fn open_transfers(&mut self) -> Vec<DomainRecord> {
        let mut indices: Vec<usize> = self.catalog().transfers.clone();
        indices.extend(self.overlay.keys().copied());
        indices.sort_unstable();
        indices.dedup();
        let open = |r: &DomainRecord| {
            r.transfer
                .as_ref()
                .is_some_and(|t| t.status != TransferStatus::Completed)
        };
        let mut out: Vec<DomainRecord> = indices
            .into_iter()
            .map(|i| self.record_at(i))
            .filter(|r| open(r))
            .collect();
        out.extend(self.extras.values().filter(|r| open(r)).cloned());
        out
    }

    /// Listed domains per zone.
    pub fn zone_counts(&mut self) -> HashMap<String, usize> {
        let mut counts = self.catalog().zone_counts.clone();
        for (&index, rec) in &self.overlay {
            let base = self.portfolio.registrar_present(index) as i64;
            let delta = rec.present as i64 - base;
            let slot = counts.entry(rec.name.zone().to_string()).or_default();
            *slot = (*slot as i64 + delta).max(0) as usize;
        }
        for rec in self.extras.values().filter(|r| r.present) {
            *counts.entry(rec.name.zone().to_string()).or_default() += 1;
        }
        counts
    }

    // ----- contacts -------------------------------------------------------------------

    fn seed_contact(&self, client_id: u64) -> Contact {
        let c = self.portfolio.client(client_id);
        let created = self
            .portfolio
            .today
            .and_time(NaiveTime::from_hms_opt(9, 0, 0).expect("valid"))
            - Duration::days(400 + client_id as i64 % 900);
        Contact {
            handle: c.handle,
            first_name: c.first_name,
            last_name: c.last_name,
            organization: c.company,
            street: c.address1,
            city: c.city,
            zip: c.postcode,
            country: c.country.to_string(),
            phone: c.phone,
            email: c.email,
            created,
        }
    }

    /// Contact list position `n`: the reseller handle, then the portfolio's clients, then
    /// contacts added through the API.
    pub fn contact_at(&self, position: usize) -> Option<Contact> {
        let clients = self.portfolio.client_count() as usize;
        if position == 0 {
            Some(self.seed_contact(self.portfolio.bot_client_id()))
        } else if position <= clients {
            Some(self.seed_contact(position as u64))
        } else {
            self.added_contacts.get(position - clients - 1).cloned()
        }
    }

    pub fn contact_total(&self) -> usize {
        1 + self.portfolio.client_count() as usize + self.added_contacts.len()
    }

    pub fn contact(&self, handle: &str) -> Option<Contact> {
        if handle.eq_ignore_ascii_case(RESELLER_HANDLE) {
            return self.contact_at(0);
        }
        if let Some(id) = self
            .portfolio
            .client_id_of_handle(&handle.to_ascii_uppercase())
        {
            return Some(self.seed_contact(id));
        }
        self.added_contacts
            .iter()
            .find(|c| c.handle.eq_ignore_ascii_case(handle))
            .cloned()
    }

    /// Adds a contact; without `force_new` an existing handle with identical details is
    /// returned instead. The flag in the result says whether a handle was created.
    pub fn add_contact(&mut self, mut details: Contact, force_new: bool) -> (Contact, bool) {
        if !force_new {
            if let Some(existing) = (0..self.contact_total())
                .filter_map(|p| self.contact_at(p))
                .find(|c| c.same_details(&details))
            {
                return (existing, false);
            }
        }
        let n = self.next_contact;
        self.next_contact += 1;
        details.handle = match self.dialect {
            Dialect::Cnr => format!("P-DWS{}", 100 + n),
            _ => format!("P-DWS{}", 1_378_000 + n),
        };
        details.created = self.now;
        self.changes += 1;
        self.added_contacts.push(details.clone());
        (details, true)
    }
}

/// Initial account balance of every sandbox account, in [`REGISTRAR_CURRENCY`].
pub fn initial_balance(seed: u64) -> Decimal {
    dec!(25000.00) + Decimal::from(seed % 1000)
}

/// The account currency (all sandbox prices are in it).
pub fn account_currency() -> &'static str {
    REGISTRAR_CURRENCY.as_str()
}

/// A deterministic token of `len` base-36 characters for `(seed, stream, n)`.
pub fn token(seed: u64, stream: u64, n: u64, len: usize) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n.wrapping_mul(0xBF58_476D_1CE4_E5B9),
    );
    random_alnum(&mut rng, len)
}

fn random_hex(rng: &mut ChaCha8Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).expect("hex digit"))
        .collect()
}

fn random_alnum(rng: &mut ChaCha8Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
