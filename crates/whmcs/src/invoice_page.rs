//! GetInvoices pages as the invoice walk reads them: straight into list entries with
//! borrowed fields (see [`crate::listing`]), or through the generic reader for any other
//! shape, so every error reads the same.

use crate::actions::InvoiceSummary;
use crate::api::{parse_response, protocol, ParsedPage};
use crate::error::WhmcsError;
use crate::json::{self, Object};
use crate::listing;
use std::borrow::Cow;

/// Fields of a GetInvoices entry that change when an invoice is edited, paid, cancelled
/// or re-dated. `updated_at` (WHMCS 8) changes with every save of the invoice; 7.8 does
/// not send it, then the amounts, status and dates stand in for it.
const FINGERPRINT_FIELDS: [&str; 11] = [
    "status",
    "date",
    "duedate",
    "datepaid",
    "subtotal",
    "credit",
    "tax",
    "tax2",
    "total",
    "userid",
    "updated_at",
];

/// A GetInvoices entry as the walk reads it.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) summary: InvoiceSummary,
    /// The fingerprint fields' text joined by `|`.
    pub(crate) fingerprint: String,
}

impl Listed {
    fn from_fields<'a>(field: impl Fn(&str) -> Option<Cow<'a, str>>) -> Result<Self, String> {
        let summary = InvoiceSummary::from_fields(&field)?;
        let mut fingerprint = String::new();
        for (i, key) in FINGERPRINT_FIELDS.iter().enumerate() {
            if i > 0 {
                fingerprint.push('|');
            }
            if let Some(value) = field(key) {
                fingerprint.push_str(&value);
            }
        }
        Ok(Self {
            summary,
            fingerprint,
        })
    }

    fn parse(entry: &Object) -> Result<Self, String> {
        Self::from_fields(|key| json::text(entry, key).map(Cow::Owned))
    }
}

listing::text_entry! {
    /// The fields of one entry that [`Listed`] reads.
    Entry in "invoices"."invoice" {
        id, userid, status, date, duedate, datepaid, subtotal, credit, tax, tax2, total,
        updated_at, currencycode,
    }
}

/// One GetInvoices page of a newest-first walk. A page that is not a plain success page
/// with `totalresults`, readable entries in descending id order goes through the generic
/// reader, which reports what is wrong with it.
pub(crate) fn decode(
    action: &str,
    status: u16,
    body: &[u8],
) -> Result<ParsedPage<Listed>, WhmcsError> {
    if let Some((page, entries)) = listing::read_page_entries::<Entry>(status, body) {
        let items: Result<Vec<Listed>, String> = entries
            .iter()
            .map(|entry| Listed::from_fields(|key| entry.field(key)))
            .collect();
        if let (Ok(items), Some(total)) = (items, page.total) {
            if newest_first(&items) {
                return Ok(ParsedPage {
                    items,
                    total: Some(total),
                    returned: page.returned,
                });
            }
        }
    }
    generic(action, status, body)
}

fn newest_first(items: &[Listed]) -> bool {
    items.windows(2).all(|w| w[0].summary.id > w[1].summary.id)
}

fn generic(action: &str, status: u16, body: &[u8]) -> Result<ParsedPage<Listed>, WhmcsError> {
    let answer = parse_response(action, status, body)?;
    let number = |key| json::u64_opt(&answer, key).map_err(|d| protocol(action, d, &answer));
    let total = number("totalresults")?
        .ok_or_else(|| protocol(action, "`totalresults` is missing".into(), &answer))?;
    let returned = number("numreturned")?;
    let items = json::nested_list_ref(&answer, "invoices", "invoice")
        .map_err(|d| protocol(action, d, &answer))?
        .into_iter()
        .map(|entry| Listed::parse(entry).map_err(|d| protocol(action, d, entry)))
        .collect::<Result<Vec<_>, _>>()?;
    if !newest_first(&items) {
        return Err(protocol(
            action,
            "invoices are not ordered newest first although orderby=id and order=desc \
             were asked (WHMCS before 7.7 ignores them); update WHMCS"
                .into(),
            &answer,
        ));
    }
    Ok(ParsedPage {
        items,
        total: Some(total),
        returned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(body: &str) -> (Vec<Listed>, Vec<Listed>) {
        let typed = match listing::read_page_entries::<Entry>(200, body.as_bytes()) {
            Some((_, entries)) => entries
                .iter()
                .map(|e| Listed::from_fields(|k| e.field(k)).unwrap())
                .collect(),
            None => panic!("a plain page reads typed: {body}"),
        };
        let generic = generic("GetInvoices", 200, body.as_bytes()).unwrap().items;
        (typed, generic)
    }

    #[test]
    fn typed_entries_match_the_generic_reader() {
        let body = r#"{"result":"success","totalresults":"3","startnumber":0,"numreturned":2,
            "invoices":{"invoice":[
            {"id":"12","userid":"7","firstname":"J\u00fcrgen","date":"2026-11-20","duedate":"2026-12-01","datepaid":"0000-00-00 00:00:00","updated_at":"2026-11-20 10:00:00","subtotal":"12.50","credit":"0.00","tax":0,"tax2":"0.00","total":12.5,"status":"Unpaid","currencycode":"EUR"},
            {"id":9,"userid":7,"date":"2026-11-01","total":"3","status":"Paid"}]}}"#;
        let (typed, generic) = both(body);
        assert_eq!(typed.len(), 2);
        for (t, g) in typed.iter().zip(&generic) {
            assert_eq!(t.summary, g.summary);
            assert_eq!(t.fingerprint, g.fingerprint);
        }
        assert_eq!(
            typed[0].fingerprint,
            "Unpaid|2026-11-20|2026-12-01|0000-00-00 00:00:00|12.50|0.00|0|0.00|12.5|7|2026-11-20 10:00:00"
        );
        assert_eq!(typed[0].summary.currency_code.as_deref(), Some("EUR"));
        assert_eq!(typed[1].summary.date_paid, None);
    }

    #[test]
    fn other_shapes_read_as_before() {
        let empty = decode(
            "GetInvoices",
            200,
            br#"{"result":"success","totalresults":0,"numreturned":0,"invoices":""}"#,
        )
        .unwrap();
        assert!(empty.items.is_empty());
        let single = decode(
            "GetInvoices",
            200,
            br#"{"result":"success","totalresults":1,"invoices":{"invoice":{"id":"4","userid":"1"}}}"#,
        )
        .unwrap();
        assert_eq!(single.items[0].summary.id, 4);
        let failed = |body: &str| decode("GetInvoices", 200, body.as_bytes()).unwrap_err();
        let err = failed(r#"{"result":"error","message":"Authentication Failed"}"#);
        assert!(matches!(err, WhmcsError::Auth { .. }), "{err:?}");
        for (body, says) in [
            (r#"{"result":"success","invoices":""}"#, "totalresults"),
            (
                r#"{"result":"success","totalresults":2,"invoices":{"invoice":[{"id":1},{"id":2}]}}"#,
                "newest first",
            ),
            (
                r#"{"result":"success","totalresults":1,"invoices":{"invoice":[{"id":"x"}]}}"#,
                "whole number",
            ),
        ] {
            let err = failed(body).to_string();
            assert!(err.contains(says), "{body}: {err}");
        }
    }
}
