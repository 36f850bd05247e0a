//! How bulk lists are walked: page sizes, list options, and the cache of premium renewal
//! prices that later listings of the same account reuse. The client holds them, the
//! operations use them; both import this module, not each other.

use domwatch_core::name::DomainName;
use domwatch_core::ports::PremiumCheck;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Maps over keys a list repeats per row (cells, names): hashed by foldhash, not SipHash,
/// since a million-domain listing hashes a few per domain. Seeded per process.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// Default page size of bulk lists.
pub const DEFAULT_PAGE_SIZE: u32 = 1000;
/// Largest page size domwatch asks for.
pub const MAX_PAGE_SIZE: u32 = 10_000;

/// How `list_domains` walks the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOptions {
    /// Rows per page, 1..=10 000 (default 1000).
    pub page_size: u32,
    /// CNR only: add `TYPE=ALL` to get status and contacts in the list. Off by default
    /// because it also returns every domain's auth code in bulk.
    pub cnr_type_all: bool,
    /// CNR only: join premium names and zone prices to fill renewal prices (three more
    /// bulk commands). Off gives dates, modes and names only.
    pub cnr_prices: bool,
    /// CNR only: how long a premium name's renewal price (`CheckDomains` X-FEE, 30 names
    /// per call) is reused by later listings of the same client before it is checked
    /// again. Each name expires somewhere between half of this and all of it, so the
    /// re-checks spread over many cycles instead of all falling due at once. Names that
    /// newly appear in the premium list are always checked; zero turns reuse off.
    pub premium_fee_max_age: Duration,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            page_size: DEFAULT_PAGE_SIZE,
            cnr_type_all: false,
            cnr_prices: true,
            premium_fee_max_age: DEFAULT_PREMIUM_FEE_MAX_AGE,
        }
    }
}

/// Default of [`ListOptions::premium_fee_max_age`]: registries announce premium price
/// changes ahead, so a daily re-check keeps renewal costs current.
pub const DEFAULT_PREMIUM_FEE_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Premium renewal prices from earlier listings of one CNR account.
#[derive(Debug, Default)]
pub(crate) struct PremiumFeeCache {
    checked: HashMap<DomainName, (PremiumCheck, Instant)>,
}

impl PremiumFeeCache {
    /// The cached checks of `names` still young enough, and the names to check again.
    pub(crate) fn split(
        &self,
        names: &[DomainName],
        now: Instant,
        max_age: Duration,
    ) -> (Vec<PremiumCheck>, Vec<DomainName>) {
        let mut fresh = Vec::new();
        let mut due = Vec::new();
        for name in names {
            match self.checked.get(name) {
                Some((check, at)) if now.duration_since(*at) < staggered_age(name, max_age) => {
                    fresh.push(check.clone())
                }
                _ => due.push(name.clone()),
            }
        }
        (fresh, due)
    }

    /// Keeps `checks` and drops every name that is no longer premium in the account.
    pub(crate) fn update(
        &mut self,
        checks: &[PremiumCheck],
        premium: &FastSet<DomainName>,
        now: Instant,
    ) {
        self.checked.retain(|name, _| premium.contains(name));
        for check in checks {
            self.checked
                .insert(check.name.clone(), (check.clone(), now));
        }
    }
}

/// Between half of `max_age` and all of it, fixed per name (FNV-1a of the A-label).
fn staggered_age(name: &DomainName, max_age: Duration) -> Duration {
    let hash = name.ascii().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    max_age / 2 + max_age.mul_f64((hash % 1000) as f64 / 2000.0)
}
