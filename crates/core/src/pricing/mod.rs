//! Pricing intelligence (issue #12), pure: WHMCS's TLD sell prices against the mapped
//! registrar's costs, converted with exchange rates and judged by a WHMCS-style margin
//! rule. The engine reads the lists (GetTLDPricing, registrar price lists, exchange
//! rates); this module only compares them.
//!
//! - [`Tld`]: a price-list key, A-label, no leading dot, second-level zones allowed.
//! - [`SellPrices`], [`RegistrarCosts`]: the two lists; a disabled WHMCS term is
//!   [`SellPrice::NotOffered`], never a price of zero.
//! - [`ExchangeRates`]: configured rates before the registrar's, optional FX surcharge.
//! - [`PricingRule`]: markup, [`Rounding`], minimum margin.
//! - [`compare`]: one [`PriceFinding`] per (TLD, operation, currency) with a problem.

mod compare;
mod list;
mod rates;
mod rule;
mod term;
mod tld;

pub use compare::{
    case_key, compare, PriceFinding, PriceFindingKind, PriceProposal, PriceReport, ProposedSell,
    ProposedTerm, Registrars, SkippedTld, TermRow, TermStatus,
};
pub use list::{CostBasis, PriceError, RegistrarCosts, SellPrice, SellPrices};
pub use rates::{Converted, ExchangeRates, RateCache, RateSource};
pub use rule::{FixedAmounts, PricingRule, Rounding, RuleError};
pub use term::{BadTerm, PriceOperation, Terms, Years, TBLPRICING_COLUMNS};
pub use tld::{Tld, TldError};
