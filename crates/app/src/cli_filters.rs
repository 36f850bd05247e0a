//! The case filters `domwatch cases` and `domwatch fix --kind` share, checked by the same
//! rules as the dashboard's list filters and named in the CLI's words in errors.

use clap::Args;
use domwatch_store::CaseQuery;

/// Which cases: the dashboard's list filters as flags.
#[derive(Debug, Args, Default)]
pub struct CaseFilters {
    /// Only cases of this registrar account.
    #[arg(long)]
    pub account: Option<String>,
    /// Only this zone (`co.uk`), or a TLD with the zones under it (`uk`); Unicode or A-label.
    #[arg(long)]
    pub tld: Option<String>,
    /// Only this WHMCS client id.
    #[arg(long)]
    pub client: Option<String>,
    /// Only cases whose money at stake is in this currency (EUR, USD, …).
    #[arg(long)]
    pub currency: Option<String>,
    /// Only cases with at least this much at stake.
    #[arg(long, value_name = "AMOUNT")]
    pub min_at_stake: Option<String>,
    /// Only domains whose name contains this (Unicode or A-label).
    #[arg(long)]
    pub search: Option<String>,
}

impl CaseFilters {
    /// True when any filter is given.
    pub fn any(&self) -> bool {
        self.pairs().next().is_some()
    }

    /// The case query of `kinds` (each may be comma-separated), these filters and `extra`
    /// list parameters (`state`, `sort`, …).
    pub fn query(&self, kinds: &[String], extra: &[(&str, String)]) -> anyhow::Result<CaseQuery> {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !kinds.is_empty() {
            pairs.push(("kind", kinds.join(",")));
        }
        pairs.extend(self.pairs().map(|(k, v)| (k as &str, v)));
        pairs.extend(extra.iter().cloned());
        domwatch_web::query_from_pairs(&pairs).map_err(|e| anyhow::anyhow!(flag_names(&e)))
    }

    fn pairs(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        [
            ("account", &self.account),
            ("tld", &self.tld),
            ("client", &self.client),
            ("currency", &self.currency),
            ("min_at_stake", &self.min_at_stake),
            ("q", &self.search),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v.clone())))
    }
}

/// The list filters' error in the CLI's words (`--min-at-stake` for `min_at_stake`).
fn flag_names(message: &str) -> String {
    let message = message.replace("query parameter `q`", "--search");
    let message = message.replace("query parameter `", "--");
    message
        .replacen('`', "", 1)
        .replace("min_at_stake", "min-at-stake")
        .replace("per_page", "limit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use domwatch_core::detect::CaseKind;
    use domwatch_store::{CaseSort, CaseState};

    #[test]
    fn filters_kinds_and_list_parameters_make_one_query() {
        let filters = CaseFilters {
            tld: Some(".DE".into()),
            min_at_stake: Some("10".into()),
            ..CaseFilters::default()
        };
        assert!(filters.any());
        let q = filters
            .query(
                &["turned_premium,paid_not_renewed".into()],
                &[("state", "all".into()), ("sort", "at_stake".into())],
            )
            .unwrap();
        assert_eq!(
            q.kinds,
            vec![CaseKind::TurnedPremium, CaseKind::PaidNotRenewed]
        );
        assert_eq!(q.tld.as_deref(), Some("de"));
        assert_eq!(q.state, None);
        assert_eq!(q.sort, CaseSort::AtStake);
        assert!(q.min_at_stake.is_some());
        let open = CaseFilters::default().query(&[], &[]).unwrap();
        assert_eq!(open.state, Some(CaseState::Open));
        assert!(!CaseFilters::default().any());
    }

    #[test]
    fn errors_name_the_flag() {
        let bad = CaseFilters {
            min_at_stake: Some("lots".into()),
            ..CaseFilters::default()
        };
        let e = bad.query(&[], &[]).unwrap_err().to_string();
        assert!(e.contains("--min-at-stake"), "{e}");
        let e = CaseFilters::default()
            .query(&["no_such_kind".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--kind") && e.contains("turned_premium"), "{e}");
    }
}
