//! The deterministic sandbox portfolio: the one source of truth from which the sandbox
//! registrars (CNR, ISPAPI, Smart-NIC) and the sandbox WHMCS derive their initial state.
//!
//! Every domain is a pure function of `(seed, today, index)`, so a sandbox of a million
//! domains needs no memory until something changes (servers keep changes as an overlay).
//!
//! Layout of the indices:
//! * `index % 10` picks the registrar: 0..=6 CNR (WHMCS module `cnic`), 7..=8 ISPAPI
//!   (`ispapi`), 9 Smart-NIC (`smartnic`).
//! * The first `10 * Drift::ALL.len()` indices are the *showcase*: block `k = index / 10`
//!   carries drift kind `Drift::ALL[k]`, so every kind appears for every dialect in a
//!   portfolio of at least 130 domains (kinds that make no sense for a dialect, e.g.
//!   premium on Smart-NIC, are left clean).
//! * Past the showcase about 4% of domains (configurable: [`Portfolio::drift_per_mille`])
//!   carry a random drift kind; the rest are clean.

use chrono::{Datelike, Duration, NaiveDate};
use domwatch_core::model::{BillingStatus, ContactHandles, Dialect, PremiumInfo, RenewalMode};
use domwatch_core::{Currency, DomainName};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// The reseller's own contact handle, used for admin/tech/billing by the default policy.
pub const RESELLER_HANDLE: &str = "P-RSL001";
/// Registrar account currency of every sandbox account.
pub const REGISTRAR_CURRENCY: Currency = Currency::EUR;
/// The margin the sandbox WHMCS applies on top of registrar cost for its TLD prices.
pub const BILLING_MARGIN: Decimal = dec!(1.25);

/// A deliberate disagreement between billing and registrar that the engine must find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Drift {
    /// Premium at the registrar, standard (is_premium=0, standard price) in billing.
    TurnedPremium,
    /// Premium in billing but the premium cost rows (`tbldomains_extra`) are missing.
    PremiumCostMissing,
    /// Registrar renewal cost above what the client is billed.
    UnderpricedRenewal,
    /// Billing expiry date differs from the registrar's paid-until date.
    ExpiryMismatch,
    /// Cancelled in billing, still active and auto-renewing at the registrar.
    CancelledButActive,
    /// Billing says do-not-renew but the registrar will auto-renew (renewal mode drift).
    RenewalModeDrift,
    /// Renewal invoice unpaid and the expiry is close: the auto-delete scenario.
    UnpaidRenewalInvoice,
    /// Renewal invoice paid in billing but the registrar was not renewed.
    PaidNotRenewed,
    /// A transfer failed at the registrar because the premium fee was not accepted.
    TransferFailedPremium,
    /// At the registrar but not in billing.
    OrphanAtRegistrar,
    /// Active in billing but gone at the registrar.
    GoneAtRegistrar,
    /// Admin contact is the client's handle where the policy wants the reseller's.
    WrongAdminContact,
    /// A renewal failed at the registrar because the domain became premium.
    RenewalFailedPremium,
}

impl Drift {
    pub const ALL: [Drift; 13] = [
        Drift::TurnedPremium,
        Drift::PremiumCostMissing,
        Drift::UnderpricedRenewal,
        Drift::ExpiryMismatch,
        Drift::CancelledButActive,
        Drift::RenewalModeDrift,
        Drift::UnpaidRenewalInvoice,
        Drift::PaidNotRenewed,
        Drift::TransferFailedPremium,
        Drift::OrphanAtRegistrar,
        Drift::GoneAtRegistrar,
        Drift::WrongAdminContact,
        Drift::RenewalFailedPremium,
    ];

    fn is_premium_kind(self) -> bool {
        matches!(
            self,
            Drift::TurnedPremium
                | Drift::PremiumCostMissing
                | Drift::TransferFailedPremium
                | Drift::RenewalFailedPremium
        )
    }
}

/// A disagreement about an add-on (ID protection, transfer lock). Kept apart from
/// [`Drift`] and drawn from its own random stream, only for domains without a drift, so
/// adding it left every existing domain's drift and values as they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddonDrift {
    /// WHOIS privacy on at the registrar, ID protection not billed.
    PrivacyNotBilled,
    /// ID protection billed, WHOIS privacy off at the registrar.
    PrivacyBilledNotActive,
    /// Transfer lock off at the registrar.
    LockOff,
}

impl AddonDrift {
    pub const ALL: [AddonDrift; 3] = [
        AddonDrift::PrivacyNotBilled,
        AddonDrift::PrivacyBilledNotActive,
        AddonDrift::LockOff,
    ];
}

/// Add-on drifts per thousand clean domains past the add-on showcase.
pub const ADDON_DRIFT_PER_MILLE: u16 = 10;

/// WHMCS currencies of the sandbox: id 1 is the default.
pub const CURRENCIES: [(u64, Currency, &str, &str); 3] = [
    (1, Currency::EUR, "", " €"),
    (2, Currency::USD, "$", ""),
    (3, Currency::GBP, "£", ""),
];

/// How many EUR (registrar currency) one unit buys, expressed as EUR -> X rates.
pub fn exchange_rates() -> Vec<(Currency, Currency, Decimal)> {
    vec![
        (Currency::EUR, Currency::USD, dec!(1.0825)),
        (Currency::EUR, Currency::GBP, dec!(0.8537)),
    ]
}

/// Registrar cost for one year of a zone, in [`REGISTRAR_CURRENCY`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZonePrice {
    pub zone: &'static str,
    pub register: Decimal,
    pub renew: Decimal,
    pub transfer: Decimal,
}

pub const ZONES: &[(&str, Decimal, Decimal, Decimal)] = &[
    ("com", dec!(9.50), dec!(9.50), dec!(9.50)),
    ("net", dec!(11.20), dec!(11.20), dec!(11.20)),
    ("org", dec!(10.40), dec!(10.40), dec!(10.40)),
    ("de", dec!(4.20), dec!(4.20), dec!(0.00)),
    ("eu", dec!(5.50), dec!(5.50), dec!(5.50)),
    ("co.uk", dec!(6.90), dec!(6.90), dec!(0.00)),
    ("io", dec!(32.00), dec!(32.00), dec!(32.00)),
    ("shop", dec!(2.50), dec!(27.00), dec!(27.00)),
    ("app", dec!(12.50), dec!(12.50), dec!(12.50)),
    ("online", dec!(3.00), dec!(28.00), dec!(28.00)),
];

pub fn zone_prices() -> Vec<ZonePrice> {
    ZONES
        .iter()
        .map(|&(zone, register, renew, transfer)| ZonePrice {
            zone,
            register,
            renew,
            transfer,
        })
        .collect()
}

pub fn zone_price(zone: &str) -> Option<ZonePrice> {
    zone_prices().into_iter().find(|z| z.zone == zone)
}

/// A WHMCS client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedClient {
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub email: String,
    pub address1: String,
    pub city: String,
    pub postcode: String,
    pub country: &'static str,
    pub phone: String,
    /// WHMCS currency id (see [`CURRENCIES`]).
    pub currency_id: u64,
    pub currency: Currency,
    /// The client's own contact handle at the registrar (same details -> same handle).
    pub handle: String,
    /// True for the WhmcsBot client that opens lifecycle tickets.
    pub is_bot: bool,
}

/// A transfer the registrar knows about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferState {
    Pending {
        requested: NaiveDate,
    },
    Failed {
        requested: NaiveDate,
        reason: String,
    },
}

/// What the registrar holds for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarSide {
    /// False when the domain is not in the account's domain list (gone, or a transfer
    /// that never completed).
    pub present: bool,
    pub created: NaiveDate,
    pub registry_expiry: NaiveDate,
    pub paid_until: NaiveDate,
    pub renewal_mode: RenewalMode,
    pub status: &'static str,
    pub premium: Option<PremiumInfo>,
    /// One renewal year, in [`REGISTRAR_CURRENCY`].
    pub renew_price: Decimal,
    pub transfer_price: Decimal,
    pub contacts: ContactHandles,
    pub transfer: Option<TransferState>,
    /// A renewal attempt that failed, with the registrar's reason.
    pub failed_renewal: Option<String>,
    pub whois_privacy: bool,
    pub transfer_lock: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    Unpaid,
    Paid,
    Cancelled,
}

impl InvoiceStatus {
    pub fn as_whmcs(self) -> &'static str {
        match self {
            InvoiceStatus::Unpaid => "Unpaid",
            InvoiceStatus::Paid => "Paid",
            InvoiceStatus::Cancelled => "Cancelled",
        }
    }
}

/// A WHMCS invoice with one domain item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedInvoice {
    pub id: u64,
    /// `Domain` (renewal), `DomainRegister`, `DomainTransfer` or `AddFunds` (sign-up).
    pub item_type: &'static str,
    pub status: InvoiceStatus,
    pub amount: Decimal,
    pub date: NaiveDate,
    pub due_date: NaiveDate,
    pub date_paid: Option<NaiveDate>,
}

/// What WHMCS holds for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingSide {
    /// `tbldomains.id` (= index + 1).
    pub domain_id: u64,
    pub client_id: u64,
    pub registrar_module: &'static str,
    pub reg_type: &'static str,
    pub status: BillingStatus,
    pub registration_date: NaiveDate,
    pub registration_period: u32,
    pub expiry: NaiveDate,
    pub next_due: NaiveDate,
    pub first_payment: Decimal,
    /// Client currency (the client's WHMCS currency).
    pub recurring_amount: Decimal,
    pub do_not_renew: bool,
    pub is_premium: bool,
    /// `tbldomains_extra` premium rows: (registration cost, renewal cost) in registrar
    /// currency, whose WHMCS currency id is 1 (EUR).
    pub premium_cost: Option<(Decimal, Decimal)>,
    pub invoices: Vec<SeedInvoice>,
    /// `tbldomains.idprotection`.
    pub id_protection: bool,
}

/// One domain on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedDomain {
    pub index: usize,
    pub name: DomainName,
    pub dialect: Dialect,
    pub registrar: RegistrarSide,
    /// `None` for orphans (registrar only).
    pub billing: Option<BillingSide>,
    pub drift: Option<Drift>,
    pub addon: Option<AddonDrift>,
}

/// The portfolio of one seed. Cheap to construct and to clone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Portfolio {
    pub seed: u64,
    pub size: usize,
    /// The day the portfolio is anchored to (expiry dates are relative to it).
    pub today: NaiveDate,
    /// Domains per thousand past the showcase that carry a random drift kind.
    pub drift_per_mille: u16,
}

/// Default of [`Portfolio::drift_per_mille`]: 4% of domains drift, far more than in a real
/// portfolio, so every kind shows up often even in small sandboxes.
pub const DEFAULT_DRIFT_PER_MILLE: u16 = 40;

const ADJECTIVES: &[&str] = &[
    "alpine", "amber", "bright", "bold", "calm", "clever", "coastal", "crisp", "daily", "deep",
    "eager", "early", "fair", "fresh", "golden", "grand", "green", "happy", "honest", "iron",
    "jolly", "keen", "kind", "lively", "lucky", "maple", "merry", "modern", "noble", "north",
    "open", "prime", "quick", "quiet", "rapid", "royal", "silver", "smart", "solid", "sunny",
];
const NOUNS: &[&str] = &[
    "bakery", "bikes", "books", "cafe", "clinic", "cloud", "coffee", "design", "dental", "events",
    "farm", "fitness", "flowers", "garden", "hosting", "hotel", "labs", "law", "media", "motors",
    "music", "optics", "pets", "photo", "pizza", "press", "realty", "shoes", "studio", "tailor",
    "tech", "tours", "toys", "travel", "vets", "wines", "works", "yoga", "zone", "market",
];
/// Words that make IDNs (non-ASCII U-labels).
const IDN_WORDS: &[&str] = &[
    "müller",
    "bäckerei",
    "straße",
    "café",
    "zürich",
    "köln",
    "größe",
    "fähre",
    "übersee",
    "mañana",
    "façade",
    "čaj",
    "日本",
    "москва",
];
const FIRST_NAMES: &[&str] = &[
    "Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hannes", "Ida", "Jonas", "Karla",
    "Lukas", "Mia", "Noah", "Olivia", "Paul", "Rosa", "Simon", "Tara", "Uwe",
];
const LAST_NAMES: &[&str] = &[
    "Bauer",
    "Becker",
    "Fischer",
    "Hoffmann",
    "Klein",
    "Koch",
    "Lange",
    "Meyer",
    "Neumann",
    "Richter",
    "Schmidt",
    "Schneider",
    "Schulz",
    "Wagner",
    "Weber",
    "Wolf",
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("Berlin", "10115", "DE"),
    ("Hamburg", "20095", "DE"),
    ("München", "80331", "DE"),
    ("Wien", "1010", "AT"),
    ("Zürich", "8001", "CH"),
    ("London", "EC1A 1BB", "GB"),
    ("Manchester", "M1 1AE", "GB"),
    ("New York", "10001", "US"),
    ("Austin", "73301", "US"),
    ("Amsterdam", "1011", "NL"),
];

fn rng_for(seed: u64, stream: u64, index: u64) -> ChaCha8Rng {
    // SplitMix-style mixing so neighbouring indices get unrelated streams.
    let mut z = seed
        ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ index.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ChaCha8Rng::seed_from_u64(z ^ (z >> 31))
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ascii digits")
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// Adds whole years, clamping 29 February to the 28th.
pub fn add_years(d: NaiveDate, years: i32) -> NaiveDate {
    let y = d.year() + years;
    NaiveDate::from_ymd_opt(y, d.month(), d.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, d.month(), 28))
        .expect("valid date")
}

impl Portfolio {
    pub const SHOWCASE_BLOCK: usize = 10;

    pub fn new(seed: u64, size: usize, today: NaiveDate) -> Self {
        Self {
            seed,
            size,
            today,
            drift_per_mille: DEFAULT_DRIFT_PER_MILLE,
        }
    }

    /// The same portfolio with another share of drifting domains (capped at 1000 per
    /// thousand); the showcase block always carries every kind.
    pub fn with_drift_per_mille(mut self, per_mille: u16) -> Self {
        self.drift_per_mille = per_mille.min(1000);
        self
    }

    /// Smallest portfolio in which every drift kind appears for every dialect.
    pub fn showcase_len() -> usize {
        Self::SHOWCASE_BLOCK * Drift::ALL.len()
    }

    /// Number of WHMCS clients (the WhmcsBot client comes on top, see [`Self::bot_client_id`]).
    pub fn client_count(&self) -> u64 {
        ((self.size / 8) as u64).clamp(3, 50_000)
    }

    /// Client `client_id`'s paid sign-up invoice: every client of a real WHMCS has invoices
    /// beyond the domain ones the portfolio plants (the order that made them a client,
    /// credit top-ups). Its id is the client id, below every domain invoice id (100 000 +
    /// domain index), so newest-first searches for a domain invoice meet it last.
    pub fn signup_invoice(&self, client_id: u64) -> SeedInvoice {
        let signed_up = self.today - Duration::days(365 * 3);
        SeedInvoice {
            id: client_id,
            item_type: "AddFunds",
            status: InvoiceStatus::Paid,
            amount: dec!(50.00),
            date: signed_up,
            due_date: signed_up,
            date_paid: Some(signed_up),
        }
    }

    pub fn bot_client_id(&self) -> u64 {
        self.client_count() + 1
    }

    pub fn dialect_of(index: usize) -> Dialect {
        match index % 10 {
            0..=6 => Dialect::Cnr,
            7 | 8 => Dialect::Ispapi,
            _ => Dialect::Smartnic,
        }
    }

    /// The WHMCS registrar module name used for a dialect.
    pub fn module_of(dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Cnr => "cnic",
            Dialect::Ispapi => "ispapi",
            Dialect::Smartnic => "smartnic",
        }
    }

    pub fn client(&self, id: u64) -> SeedClient {
        if id == self.bot_client_id() {
            return SeedClient {
                id,
                first_name: "Whmcs".into(),
                last_name: "Bot".into(),
                company: "domwatch".into(),
                email: "whmcsbot@reseller.example".into(),
                address1: "Hauptstraße 1".into(),
                city: "Berlin".into(),
                postcode: "10115".into(),
                country: "DE",
                phone: "+49.301234567".into(),
                currency_id: 1,
                currency: Currency::EUR,
                handle: RESELLER_HANDLE.into(),
                is_bot: true,
            };
        }
        let mut rng = rng_for(self.seed, 1, id);
        let first = *pick(&mut rng, FIRST_NAMES);
        let last = *pick(&mut rng, LAST_NAMES);
        let &(city, postcode, country) = pick(&mut rng, CITIES);
        let (currency_id, currency) = match country {
            "US" => (2, Currency::USD),
            "GB" => (3, Currency::GBP),
            _ => (1, Currency::EUR),
        };
        SeedClient {
            id,
            first_name: first.into(),
            last_name: last.into(),
            company: if rng.gen_bool(0.4) {
                format!("{last} GmbH")
            } else {
                String::new()
            },
            email: format!(
                "{}.{}{}@example.net",
                first.to_lowercase(),
                last.to_lowercase(),
                id
            ),
            address1: format!("{} Street {}", last, rng.gen_range(1..200)),
            city: city.into(),
            postcode: postcode.into(),
            country,
            phone: format!("+49.30{:07}", rng.gen_range(0..10_000_000)),
            currency_id,
            currency,
            handle: format!("P-CL{}", base36(id).to_uppercase()),
            is_bot: false,
        }
    }

    fn drift_of(&self, index: usize, rng: &mut ChaCha8Rng) -> Option<Drift> {
        let block = index / Self::SHOWCASE_BLOCK;
        let drift = if block < Drift::ALL.len() {
            Some(Drift::ALL[block])
        } else if rng.gen_bool(f64::from(self.drift_per_mille) / 1000.0) {
            Some(*pick(rng, &Drift::ALL))
        } else {
            None
        };
        // Smart-NIC has no premium pricing: premium kinds stay clean there.
        drift.filter(|d| !(Self::dialect_of(index) == Dialect::Smartnic && d.is_premium_kind()))
    }

    fn name_of(&self, index: usize, dialect: Dialect, rng: &mut ChaCha8Rng) -> DomainName {
        let zone = match dialect {
            Dialect::Smartnic => *pick(rng, &["de", "de", "de", "com", "eu"]),
            _ => ZONES[rng.gen_range(0..ZONES.len())].0,
        };
        let suffix = base36(index as u64);
        let label = if rng.gen_bool(0.06) {
            format!("{}{}", pick(rng, IDN_WORDS), suffix)
        } else {
            format!("{}-{}{}", pick(rng, ADJECTIVES), pick(rng, NOUNS), suffix)
        };
        DomainName::parse(&format!("{label}.{zone}"))
            .expect("generated names are valid by construction")
    }

    /// Domain number `index` (0-based) of the portfolio, on both sides.
    pub fn domain(&self, index: usize) -> SeedDomain {
        let mut rng = rng_for(self.seed, 0, index as u64);
        let dialect = Self::dialect_of(index);
        let drift = self.drift_of(index, &mut rng);
        let name = self.name_of(index, dialect, &mut rng);
        let mut draft = self.clean_draft(index, dialect, &name, drift, &mut rng);
        if let Some(drift) = drift {
            draft.apply(drift, &name, &mut rng);
        }
        let addon = self.addon_of(index, drift);
        if let Some(addon) = addon {
            draft.apply_addon(addon);
        }
        SeedDomain {
            index,
            name,
            dialect,
            registrar: draft.registrar,
            billing: draft.has_billing.then_some(draft.billing),
            drift,
            addon,
        }
    }

    /// The add-on drift of a domain without drift: block `k` after the drift showcase
    /// carries `AddonDrift::ALL[k]`, past that a few domains carry a random one. Its own
    /// random stream, so nothing else of the domain moves.
    pub fn addon_of(&self, index: usize, drift: Option<Drift>) -> Option<AddonDrift> {
        if drift.is_some() {
            return None;
        }
        let block = index / Self::SHOWCASE_BLOCK;
        match block.checked_sub(Drift::ALL.len()) {
            Some(k) if k < AddonDrift::ALL.len() => Some(AddonDrift::ALL[k]),
            None => None,
            Some(_) => {
                let mut rng = rng_for(self.seed, 11, index as u64);
                rng.gen_bool(f64::from(ADDON_DRIFT_PER_MILLE) / 1000.0)
                    .then(|| *pick(&mut rng, &AddonDrift::ALL))
            }
        }
    }

    /// Both sides of a domain in agreement, as every domain without drift stays. The
    /// draws from `rng` come in a fixed order: the portfolio is a function of the seed.
    fn clean_draft(
        &self,
        index: usize,
        dialect: Dialect,
        name: &DomainName,
        drift: Option<Drift>,
        rng: &mut ChaCha8Rng,
    ) -> Draft {
        let zone = zone_price(name.zone()).expect("every generated zone is priced");
        let client = self.client(rng.gen_range(1..=self.client_count()));
        // Clean domains expire 45..410 days from today so no lifecycle deadline is near.
        let registry_expiry = self.today + Duration::days(rng.gen_range(45..410));
        let age_years = rng.gen_range(1..8);
        let created = add_years(registry_expiry, -age_years);
        // A few legitimately premium domains, consistent on both sides.
        let premium_zone = matches!(zone.zone, "shop" | "online" | "app" | "io");
        let legit_premium = drift.is_none() && premium_zone && rng.gen_bool(0.04);
        let premium_renew = Decimal::from(rng.gen_range(6..60) * 20) + dec!(0.00);
        let premium_class = premium_class_of(index, dialect, &zone);
        let registrar = clean_registrar_side(
            created,
            registry_expiry,
            &zone,
            &client.handle,
            legit_premium.then(|| (premium_class.clone(), premium_renew)),
        );
        let rate = exchange_rates()
            .into_iter()
            .find(|(_, to, _)| *to == client.currency)
            .map(|(_, _, r)| r)
            .unwrap_or(Decimal::ONE);
        let billing = BillingSide {
            premium_cost: legit_premium.then_some((premium_renew, premium_renew)),
            ..clean_billing_side(index, dialect, &client, &registrar, &zone, rate)
        };
        Draft {
            today: self.today,
            dialect,
            zone,
            client_handle: client.handle,
            rate,
            age_years,
            premium_renew,
            premium_class,
            invoice_id: 100_000 + index as u64,
            registrar,
            billing,
            has_billing: true,
        }
    }

    /// All domains, in index order (lazy).
    pub fn domains(&self) -> impl Iterator<Item = SeedDomain> + '_ {
        (0..self.size).map(|i| self.domain(i))
    }

    /// The domains one registrar dialect holds, in index order (lazy).
    pub fn domains_of(&self, dialect: Dialect) -> impl Iterator<Item = SeedDomain> + '_ {
        (0..self.size)
            .filter(move |i| Self::dialect_of(*i) == dialect)
            .map(|i| self.domain(i))
    }
}

/// Index arithmetic for servers that page through one dialect's domains, or look a domain
/// up by name, without materialising the portfolio (a million domains stay free).
impl Portfolio {
    /// The `index % 10` residues that belong to `dialect` (see the module docs).
    fn residues_of(dialect: Dialect) -> &'static [usize] {
        match dialect {
            Dialect::Cnr => &[0, 1, 2, 3, 4, 5, 6],
            Dialect::Ispapi => &[7, 8],
            Dialect::Smartnic => &[9],
        }
    }

    /// How many domains of the portfolio belong to `dialect`, listed at the registrar or
    /// not (same as `domains_of(dialect).count()`, in O(1)).
    pub fn count_of(&self, dialect: Dialect) -> usize {
        let residues = Self::residues_of(dialect);
        let tail = self.size % 10;
        (self.size / 10) * residues.len() + residues.iter().filter(|&&r| r < tail).count()
    }

    /// Portfolio index of the `position`-th (0-based) domain of `dialect`, in index order:
    /// `nth_index_of(d, k) == domains_of(d).nth(k).unwrap().index`.
    pub fn nth_index_of(dialect: Dialect, position: usize) -> usize {
        let residues = Self::residues_of(dialect);
        (position / residues.len()) * 10 + residues[position % residues.len()]
    }

    /// The drift kind of domain `index`, without building the rest of the domain (cheap;
    /// equal to `domain(index).drift`).
    pub fn drift(&self, index: usize) -> Option<Drift> {
        let mut rng = rng_for(self.seed, 0, index as u64);
        self.drift_of(index, &mut rng)
    }

    /// The name of domain `index`, without building the rest of the domain (cheap;
    /// equal to `domain(index).name`).
    pub fn name(&self, index: usize) -> DomainName {
        let mut rng = rng_for(self.seed, 0, index as u64);
        let _drift = self.drift_of(index, &mut rng);
        self.name_of(index, Self::dialect_of(index), &mut rng)
    }

    /// Whether the registrar lists domain `index` in the account (cheap; equal to
    /// `domain(index).registrar.present`).
    pub fn registrar_present(&self, index: usize) -> bool {
        !matches!(
            self.drift(index),
            Some(Drift::GoneAtRegistrar | Drift::TransferFailedPremium)
        )
    }

    /// The index of the portfolio domain called `name`, if there is one. Cheap: generated
    /// labels end in the base-36 index, so only a handful of candidates are built.
    pub fn index_of(&self, name: &DomainName) -> Option<usize> {
        let unicode = name.unicode();
        let label = unicode.split('.').next().unwrap_or_default();
        let tail: Vec<char> = label
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
            .collect();
        (1..=tail.len().min(8)).find_map(|len| {
            let digits: String = tail[..len].iter().rev().collect();
            let index = usize::try_from(u64::from_str_radix(&digits, 36).ok()?).ok()?;
            (index < self.size
                && base36(index as u64) == digits
                && self.domain(index).name == *name)
                .then_some(index)
        })
    }

    /// The client id behind a client contact handle (`P-CL…`), if it is one of this
    /// portfolio's clients (the reseller handle is not).
    pub fn client_id_of_handle(&self, handle: &str) -> Option<u64> {
        let digits = handle.strip_prefix("P-CL")?.to_ascii_lowercase();
        let id = u64::from_str_radix(&digits, 36).ok()?;
        (id >= 1 && id <= self.client_count() && base36(id) == digits).then_some(id)
    }
}

/// The registrar side of a domain without drift; `premium` when the name is
/// legitimately premium (class, renewal and transfer price).
fn clean_registrar_side(
    created: NaiveDate,
    registry_expiry: NaiveDate,
    zone: &ZonePrice,
    owner: &str,
    premium: Option<(PremiumInfo, Decimal)>,
) -> RegistrarSide {
    let price = premium.as_ref().map(|(_, price)| *price);
    RegistrarSide {
        present: true,
        created,
        registry_expiry,
        paid_until: registry_expiry,
        renewal_mode: RenewalMode::AutoRenew,
        status: "ACTIVE",
        premium: premium.map(|(class, _)| class),
        renew_price: price.unwrap_or(zone.renew),
        transfer_price: price.unwrap_or(zone.transfer),
        contacts: ContactHandles {
            owner: Some(owner.to_string()),
            admin: Some(RESELLER_HANDLE.into()),
            tech: Some(RESELLER_HANDLE.into()),
            billing: Some(RESELLER_HANDLE.into()),
        },
        transfer: None,
        failed_renewal: None,
        whois_privacy: false,
        transfer_lock: true,
    }
}

/// The WHMCS side matching `registrar`, priced with the margin in the client's currency
/// (`rate` from EUR).
fn clean_billing_side(
    index: usize,
    dialect: Dialect,
    client: &SeedClient,
    registrar: &RegistrarSide,
    zone: &ZonePrice,
    rate: Decimal,
) -> BillingSide {
    let to_client = |eur: Decimal| (eur * BILLING_MARGIN * rate).round_dp(2);
    BillingSide {
        domain_id: index as u64 + 1,
        client_id: client.id,
        registrar_module: Portfolio::module_of(dialect),
        reg_type: "Register",
        status: BillingStatus::Active,
        registration_date: registrar.created,
        registration_period: 1,
        expiry: registrar.paid_until,
        next_due: registrar.paid_until,
        first_payment: to_client(zone.register),
        recurring_amount: to_client(registrar.renew_price),
        do_not_renew: false,
        is_premium: registrar.premium.is_some(),
        premium_cost: None,
        invoices: Vec::new(),
        id_protection: false,
    }
}

/// The premium class a registrar gives a premium domain of `zone`.
fn premium_class_of(index: usize, dialect: Dialect, zone: &ZonePrice) -> PremiumInfo {
    PremiumInfo {
        class: match dialect {
            Dialect::Ispapi => format!(
                "PREMIUM_{}_Tier {}",
                zone.zone.to_uppercase(),
                rng_tier(index)
            ),
            _ => "premium".to_string(),
        }
        .into(),
    }
}

/// A domain being generated: both sides, and what a drift needs to bend them.
struct Draft {
    today: NaiveDate,
    dialect: Dialect,
    zone: ZonePrice,
    client_handle: String,
    /// EUR to the client's currency.
    rate: Decimal,
    age_years: i32,
    premium_renew: Decimal,
    premium_class: PremiumInfo,
    invoice_id: u64,
    registrar: RegistrarSide,
    billing: BillingSide,
    has_billing: bool,
}

impl Draft {
    /// Bends the two sides apart the way `drift` describes.
    fn apply(&mut self, drift: Drift, name: &DomainName, rng: &mut ChaCha8Rng) {
        match drift {
            Drift::TurnedPremium => self.turn_premium(),
            Drift::PremiumCostMissing => {
                self.turn_premium();
                self.billing.is_premium = true;
                self.billing.recurring_amount = self.to_client(self.premium_renew);
                self.billing.premium_cost = None;
            }
            Drift::UnderpricedRenewal => {
                // The client still pays an old (or discounted) price: 80% of today's cost,
                // no margin. WHMCS's TLD price sync never touches existing domains.
                self.billing.recurring_amount =
                    (self.zone.renew * dec!(0.8) * self.rate).round_dp(2);
            }
            Drift::ExpiryMismatch => {
                self.billing.expiry = add_years(self.registrar.paid_until, -1);
                self.billing.next_due = self.billing.expiry;
            }
            Drift::CancelledButActive => {
                self.billing.status = BillingStatus::Cancelled;
                self.billing.do_not_renew = true;
            }
            Drift::RenewalModeDrift => self.billing.do_not_renew = true,
            Drift::UnpaidRenewalInvoice => self.unpaid_renewal_invoice(name, rng),
            Drift::PaidNotRenewed => self.paid_not_renewed(rng),
            Drift::RenewalFailedPremium => self.renewal_failed_premium(rng),
            Drift::TransferFailedPremium => self.transfer_failed_premium(rng),
            Drift::OrphanAtRegistrar => self.has_billing = false,
            Drift::GoneAtRegistrar => self.registrar.present = false,
            Drift::WrongAdminContact => {
                self.registrar.contacts.admin = Some(self.client_handle.clone());
            }
        }
    }

    fn apply_addon(&mut self, addon: AddonDrift) {
        match addon {
            AddonDrift::PrivacyNotBilled => self.registrar.whois_privacy = true,
            AddonDrift::PrivacyBilledNotActive => self.billing.id_protection = true,
            AddonDrift::LockOff => self.registrar.transfer_lock = false,
        }
    }

    fn to_client(&self, eur: Decimal) -> Decimal {
        (eur * BILLING_MARGIN * self.rate).round_dp(2)
    }

    /// The registry made the name premium; billing still has the standard price.
    fn turn_premium(&mut self) {
        self.registrar.premium = Some(self.premium_class.clone());
        self.registrar.renew_price = self.premium_renew;
        self.registrar.transfer_price = self.premium_renew;
    }

    /// Both sides expire on `expiry`, created `age_years` before it.
    fn expire_on(&mut self, expiry: NaiveDate) {
        self.registrar.registry_expiry = expiry;
        self.registrar.paid_until = expiry;
        self.registrar.created = add_years(expiry, -self.age_years);
        self.billing.registration_date = self.registrar.created;
    }

    /// A renewal invoice of the domain, for `amount`.
    fn invoice(
        &mut self,
        item_type: &'static str,
        status: InvoiceStatus,
        amount: Decimal,
        dates: [NaiveDate; 2],
        paid: Option<NaiveDate>,
    ) {
        self.billing.invoices.push(SeedInvoice {
            id: self.invoice_id,
            item_type,
            status,
            amount,
            date: dates[0],
            due_date: dates[1],
            date_paid: paid,
        });
    }

    fn unpaid_renewal_invoice(&mut self, name: &DomainName, rng: &mut ChaCha8Rng) {
        // Inside the auto delete window of the default notice periods (5 weeks for
        // de/at/ch/eu, 5 days elsewhere, plus 7 days margin) and before the deadline.
        let notice = if matches!(name.zone(), "de" | "at" | "ch" | "eu") {
            35
        } else {
            5
        };
        let expiry = self.today + Duration::days(notice + rng.gen_range(1..7));
        self.expire_on(expiry);
        self.billing.expiry = expiry;
        self.billing.next_due = expiry;
        let amount = self.billing.recurring_amount;
        let dates = [expiry - Duration::days(30), expiry];
        self.invoice("Domain", InvoiceStatus::Unpaid, amount, dates, None);
    }

    /// Paid in WHMCS (next due and expiry a year on), left to expire at the registrar.
    fn paid_but_expiring(&mut self, rng: &mut ChaCha8Rng, paid_days_ago: i64) {
        let expiry = self.today + Duration::days(rng.gen_range(3..12));
        self.expire_on(expiry);
        self.registrar.renewal_mode = RenewalMode::AutoExpire;
        self.billing.expiry = add_years(expiry, 1);
        self.billing.next_due = add_years(expiry, 1);
        let amount = self.billing.recurring_amount;
        let dates = [expiry - Duration::days(21), expiry];
        let paid = Some(self.today - Duration::days(paid_days_ago));
        self.invoice("Domain", InvoiceStatus::Paid, amount, dates, paid);
    }

    fn paid_not_renewed(&mut self, rng: &mut ChaCha8Rng) {
        self.paid_but_expiring(rng, 2);
    }

    fn renewal_failed_premium(&mut self, rng: &mut ChaCha8Rng) {
        self.paid_but_expiring(rng, 1);
        self.turn_premium();
        self.registrar.failed_renewal = Some(match self.dialect {
            Dialect::Ispapi => format!(
                "Missing required attribute; CLASS={}",
                self.premium_class.class
            ),
            _ => "Missing required attribute; premium domain name. please provide required parameters".into(),
        });
    }

    fn transfer_failed_premium(&mut self, rng: &mut ChaCha8Rng) {
        let requested = self.today - Duration::days(rng.gen_range(2..9));
        self.registrar.present = false;
        self.turn_premium();
        self.registrar.transfer = Some(TransferState::Failed {
            requested,
            reason: "premium domain: transfer fee not accepted".into(),
        });
        self.billing.reg_type = "Transfer";
        self.billing.status = BillingStatus::PendingTransfer;
        self.billing.registration_date = requested;
        let amount = self.to_client(self.zone.transfer);
        let dates = [requested, requested];
        self.invoice(
            "DomainTransfer",
            InvoiceStatus::Paid,
            amount,
            dates,
            Some(requested),
        );
    }
}

fn rng_tier(index: usize) -> char {
    (b'A' + (index % 4) as u8) as char
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn same_seed_same_portfolio_other_seed_other_names() {
        let a = Portfolio::new(7, 300, today());
        let b = Portfolio::new(7, 300, today());
        let c = Portfolio::new(8, 300, today());
        assert_eq!(a.domain(150), b.domain(150));
        assert_ne!(a.domain(150).name, c.domain(150).name);
    }

    #[test]
    fn drift_share_is_configurable_and_names_do_not_change() {
        let default = Portfolio::new(4, 20_000, today());
        let drifting = |p: Portfolio| {
            p.domains()
                .skip(Portfolio::showcase_len())
                .filter(|d| d.drift.is_some())
                .count()
        };
        let n = drifting(default);
        // 4% of the portfolio, less the premium kinds Smart-NIC leaves clean.
        assert!((600..=850).contains(&n), "{n} drifting domains");
        assert_eq!(default.with_drift_per_mille(40), default);
        let calm = default.with_drift_per_mille(5);
        let m = drifting(calm);
        // The same draws decide both shares, so the calm one is a subset of the default one.
        assert!(
            (60..=140).contains(&m),
            "{m} drifting domains at 0.5% ({n} at 4%)"
        );
        assert_eq!(drifting(default.with_drift_per_mille(0)), 0);
        assert_eq!(calm.domain(12_345).name, default.domain(12_345).name);
        // The showcase keeps every kind whatever the share.
        assert_eq!(calm.domain(0).drift, default.domain(0).drift);
    }

    #[test]
    fn names_are_unique_and_some_are_idns() {
        let p = Portfolio::new(1, 5_000, today());
        let names: Vec<_> = p.domains().map(|d| d.name).collect();
        let unique: HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        let idns = names.iter().filter(|n| n.is_idn()).count();
        assert!(idns > 100, "expected ~6% IDNs, got {idns}");
    }

    #[test]
    fn showcase_has_every_drift_kind_for_every_dialect() {
        let p = Portfolio::new(42, Portfolio::showcase_len(), today());
        for dialect in [Dialect::Cnr, Dialect::Ispapi, Dialect::Smartnic] {
            let kinds: HashSet<_> = p.domains_of(dialect).filter_map(|d| d.drift).collect();
            let expected: HashSet<_> = Drift::ALL
                .iter()
                .copied()
                .filter(|d| dialect != Dialect::Smartnic || !d.is_premium_kind())
                .collect();
            assert_eq!(kinds, expected, "dialect {dialect}");
        }
    }

    #[test]
    fn drift_kinds_have_their_evidence() {
        let p = Portfolio::new(42, Portfolio::showcase_len(), today());
        for d in p.domains() {
            let r = &d.registrar;
            match d.drift {
                Some(Drift::TurnedPremium) => {
                    let b = d.billing.as_ref().unwrap();
                    assert!(r.premium.is_some() && !b.is_premium);
                }
                Some(Drift::UnderpricedRenewal) => {
                    let b = d.billing.as_ref().unwrap();
                    // Even in GBP (rate < 1) the client pays less than the cost in EUR * rate.
                    assert!(b.recurring_amount < r.renew_price * dec!(1.0825));
                }
                Some(Drift::OrphanAtRegistrar) => assert!(d.billing.is_none()),
                Some(Drift::GoneAtRegistrar) => assert!(!r.present),
                Some(Drift::UnpaidRenewalInvoice) => {
                    let b = d.billing.as_ref().unwrap();
                    assert_eq!(b.invoices[0].status, InvoiceStatus::Unpaid);
                    assert!(r.paid_until <= today() + Duration::days(42));
                    assert!(r.paid_until > today() + Duration::days(5));
                }
                Some(Drift::WrongAdminContact) => {
                    assert_ne!(r.contacts.admin.as_deref(), Some(RESELLER_HANDLE))
                }
                _ => {}
            }
        }
    }

    #[test]
    fn clean_domains_agree_on_both_sides() {
        let p = Portfolio::new(3, 2_000, today());
        for d in p.domains().filter(|d| d.drift.is_none()) {
            let b = d.billing.as_ref().expect("clean domains are billed");
            assert!(d.registrar.present);
            assert_eq!(b.expiry, d.registrar.paid_until);
            assert_eq!(b.is_premium, d.registrar.premium.is_some());
            assert!(d.registrar.paid_until >= today() + Duration::days(45));
        }
    }

    #[test]
    fn index_helpers_agree_with_the_full_domains() {
        let p = Portfolio::new(9, 1_003, today());
        for dialect in [Dialect::Cnr, Dialect::Ispapi, Dialect::Smartnic] {
            let indices: Vec<usize> = p.domains_of(dialect).map(|d| d.index).collect();
            assert_eq!(p.count_of(dialect), indices.len(), "{dialect}");
            for (k, &index) in indices.iter().enumerate() {
                assert_eq!(Portfolio::nth_index_of(dialect, k), index);
            }
        }
        for d in p.domains() {
            assert_eq!(p.drift(d.index), d.drift);
            assert_eq!(p.name(d.index), d.name);
            assert_eq!(p.registrar_present(d.index), d.registrar.present);
            assert_eq!(p.index_of(&d.name), Some(d.index), "{}", d.name);
        }
        let stranger = DomainName::parse("not-in-portfolio-zz.com").unwrap();
        assert_eq!(p.index_of(&stranger), None);
        let client = p.client(3);
        assert_eq!(p.client_id_of_handle(&client.handle), Some(3));
        assert_eq!(p.client_id_of_handle(RESELLER_HANDLE), None);
    }

    #[test]
    fn bot_client_is_separate() {
        let p = Portfolio::new(1, 100, today());
        assert!(p.client(p.bot_client_id()).is_bot);
        assert!(!p.client(1).is_bot);
    }
}
