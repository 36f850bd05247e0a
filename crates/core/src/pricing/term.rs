//! What a price is for: an operation and a term of 1..=10 years (WHMCS's ten price
//! columns per operation), and a small fixed table indexed by term.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The four prices WHMCS's TLD sync shows per TLD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceOperation {
    Register,
    Renew,
    Transfer,
    /// Restore out of redemption (WHMCS "Redemption" fee, CNR `RESTOREDOMAIN`,
    /// Smart-NIC `restore`). One fee, kept as a 1-year term.
    Restore,
}

impl PriceOperation {
    pub const ALL: [PriceOperation; 4] = [
        PriceOperation::Register,
        PriceOperation::Renew,
        PriceOperation::Transfer,
        PriceOperation::Restore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PriceOperation::Register => "register",
            PriceOperation::Renew => "renew",
            PriceOperation::Transfer => "transfer",
            PriceOperation::Restore => "restore",
        }
    }

    /// Accepts our names, WHMCS's (`domainregister`, `redemption`) and CNR's
    /// `DomainPrice TYPE=` values (`ADDDOMAIN`, `RENEWDOMAIN`, ...).
    pub fn parse(s: &str) -> Option<PriceOperation> {
        let lower = s.trim().to_ascii_lowercase();
        let bare = lower.strip_prefix("domain").unwrap_or(&lower);
        match bare {
            "register" | "registration" | "adddomain" | "add" | "create" => {
                Some(PriceOperation::Register)
            }
            "renew" | "renewal" | "renewdomain" => Some(PriceOperation::Renew),
            "transfer" | "transferdomain" => Some(PriceOperation::Transfer),
            "restore" | "redemption" | "restoredomain" => Some(PriceOperation::Restore),
            _ => None,
        }
    }
}

impl fmt::Display for PriceOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// WHMCS `tblpricing` columns holding the domain prices of 1..=10 years, in order.
pub const TBLPRICING_COLUMNS: [&str; 10] = [
    "msetupfee",
    "qsetupfee",
    "ssetupfee",
    "asetupfee",
    "bsetupfee",
    "monthly",
    "quarterly",
    "semiannually",
    "annually",
    "biennially",
];

/// A term length in whole years, 1..=10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Years(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} years is not a price term: WHMCS and the registrars price terms of 1 to 10 years")]
pub struct BadTerm(pub u32);

impl Years {
    pub const ONE: Years = Years(1);
    pub const MAX: u8 = 10;

    pub fn new(years: u32) -> Result<Years, BadTerm> {
        if (1..=u32::from(Self::MAX)).contains(&years) {
            Ok(Years(years as u8))
        } else {
            Err(BadTerm(years))
        }
    }

    pub fn get(self) -> u32 {
        u32::from(self.0)
    }

    /// Every term, 1 to 10 years.
    pub fn all() -> impl Iterator<Item = Years> {
        (1..=Self::MAX).map(Years)
    }

    /// The `tblpricing` column that holds this term for domain prices
    /// (msetupfee = 1 year ... biennially = 10 years).
    pub fn tblpricing_column(self) -> &'static str {
        TBLPRICING_COLUMNS[self.index()]
    }

    /// The term a `tblpricing` column holds for domain prices; `None` for other columns
    /// (`tsetupfee` is the client group, not a term).
    pub fn from_tblpricing_column(column: &str) -> Option<Years> {
        let c = column.trim().to_ascii_lowercase();
        TBLPRICING_COLUMNS
            .iter()
            .position(|name| *name == c)
            .map(|i| Years(i as u8 + 1))
    }

    fn index(self) -> usize {
        usize::from(self.0 - 1)
    }
}

impl TryFrom<u32> for Years {
    type Error = BadTerm;
    fn try_from(y: u32) -> Result<Self, Self::Error> {
        Years::new(y)
    }
}

impl From<Years> for u32 {
    fn from(y: Years) -> Self {
        y.get()
    }
}

impl fmt::Display for Years {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}y", self.0)
    }
}

/// One optional value per term: a fixed array, so a lookup is an index, not a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms<T>([Option<T>; 10]);

impl<T> Default for Terms<T> {
    fn default() -> Self {
        Terms(Default::default())
    }
}

impl<T> Terms<T> {
    pub fn get(&self, years: Years) -> Option<&T> {
        self.0[years.index()].as_ref()
    }

    pub fn set(&mut self, years: Years, value: T) {
        self.0[years.index()] = Some(value);
    }

    pub fn clear(&mut self, years: Years) {
        self.0[years.index()] = None;
    }

    /// The terms that hold a value, shortest first.
    pub fn iter(&self) -> impl Iterator<Item = (Years, &T)> {
        Years::all().filter_map(|y| self.get(y).map(|v| (y, v)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_one_to_ten_years() {
        assert!(Years::new(0).is_err());
        assert_eq!(Years::new(10).unwrap().get(), 10);
        let err = Years::new(11).unwrap_err().to_string();
        assert!(err.contains("11 years") && err.contains("1 to 10"), "{err}");
        assert_eq!(Years::all().count(), 10);
        assert!(serde_json::from_str::<Years>("0").is_err());
        assert_eq!(serde_json::from_str::<Years>("3").unwrap().get(), 3);
    }

    #[test]
    fn tblpricing_columns_map_to_terms() {
        assert_eq!(Years::from_tblpricing_column("msetupfee"), Some(Years::ONE));
        assert_eq!(
            Years::from_tblpricing_column("BIENNIALLY").unwrap().get(),
            10
        );
        assert_eq!(Years::from_tblpricing_column("monthly").unwrap().get(), 6);
        assert_eq!(Years::from_tblpricing_column("tsetupfee"), None);
        for y in Years::all() {
            assert_eq!(
                Years::from_tblpricing_column(y.tblpricing_column()),
                Some(y)
            );
        }
    }

    #[test]
    fn operations_parse_every_spelling() {
        assert_eq!(
            PriceOperation::parse("ADDDOMAIN"),
            Some(PriceOperation::Register)
        );
        assert_eq!(
            PriceOperation::parse("domainrenew"),
            Some(PriceOperation::Renew)
        );
        assert_eq!(
            PriceOperation::parse("TRANSFERDOMAIN"),
            Some(PriceOperation::Transfer)
        );
        assert_eq!(
            PriceOperation::parse("Redemption"),
            Some(PriceOperation::Restore)
        );
        assert_eq!(PriceOperation::parse("trade"), None);
        for op in PriceOperation::ALL {
            assert_eq!(PriceOperation::parse(op.as_str()), Some(op));
        }
    }

    #[test]
    fn terms_table_indexes_by_years() {
        let mut t = Terms::default();
        assert!(t.is_empty());
        t.set(Years::new(2).unwrap(), "two");
        t.set(Years::ONE, "one");
        let got: Vec<_> = t.iter().map(|(y, v)| (y.get(), *v)).collect();
        assert_eq!(got, vec![(1, "one"), (2, "two")]);
        assert_eq!(t.get(Years::new(3).unwrap()), None);
    }
}
