//! GetClientsDomains pages read straight into rows (see [`crate::listing`]): a listing of
//! a million domains is the largest answer domwatch reads.

use crate::api::{parse_response, ParsedPage};
use crate::client_domain::ClientDomain;
use crate::error::WhmcsError;
use crate::listing;
use std::borrow::Cow;

/// A row as read from a page, its text borrowed from the page where possible.
pub(crate) type PageRow<'a> = ClientDomain<Cow<'a, str>>;

listing::text_entry! {
    /// The fields of one entry that [`ClientDomain`] reads.
    Entry in "domains"."domain" {
        id, userid, orderid, regtype, domainname, registrar, regperiod, firstpaymentamount,
        recurringamount, regdate, expirydate, nextduedate, status, donotrenew, idprotection,
    }
}

/// Decodes one GetClientsDomains answer into rows. Anything that is not a plain success
/// page (errors, HTML, unexpected shapes) goes through the generic reader, so every
/// error is reported exactly as for other actions.
pub(crate) fn decode<T>(
    action: &str,
    status: u16,
    body: &[u8],
    row: impl Fn(PageRow<'_>) -> T,
) -> Result<ParsedPage<T>, WhmcsError> {
    let mut items = Vec::new();
    let mut unreadable = false;
    let page = listing::read_page(status, body, |entry: Entry| {
        if unreadable {
            return;
        }
        match ClientDomain::from_fields(|key| entry.field(key)) {
            Ok(domain) => items.push(row(domain)),
            Err(_) => unreadable = true,
        }
    });
    match page {
        Some(page) if !unreadable => Ok(ParsedPage {
            items,
            total: page.total,
            returned: page.returned,
        }),
        // Reported as the generic reader reports it (with the entry, for a bad one).
        _ => generic(action, status, body, row),
    }
}

fn generic<T>(
    action: &str,
    status: u16,
    body: &[u8],
    row: impl Fn(PageRow<'_>) -> T,
) -> Result<ParsedPage<T>, WhmcsError> {
    let answer = parse_response(action, status, body)?;
    let total = crate::json::u64_opt(&answer, "totalresults")
        .map_err(|d| crate::api::protocol(action, d, &answer))?;
    let returned = crate::json::u64_opt(&answer, "numreturned")
        .map_err(|d| crate::api::protocol(action, d, &answer))?;
    let items = crate::json::nested_list_ref(&answer, "domains", "domain")
        .map_err(|d| crate::api::protocol(action, d, &answer))?
        .into_iter()
        .map(|entry| {
            ClientDomain::from_entry(entry)
                .map(&row)
                .map_err(|d| crate::api::protocol(action, d, entry))
        })
        .collect::<Result<Vec<T>, WhmcsError>>()?;
    Ok(ParsedPage {
        items,
        total,
        returned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(body: &str) -> Result<ParsedPage<ClientDomain>, WhmcsError> {
        decode("GetClientsDomains", 200, body.as_bytes(), |row| {
            row.into_owned()
        })
    }

    #[test]
    fn typed_rows_match_the_generic_reader() {
        let body = r#"{"result":"success","totalresults":"2","numreturned":2,"domains":{"domain":[
            {"id":1,"userid":"7","orderid":"","regtype":"Register","domainname":"m\u00fcller.de","registrar":"cnic","regperiod":"1","firstpaymentamount":"9.50","recurringamount":12.5,"regdate":"2020-01-01","expirydate":"0000-00-00","nextduedate":"2027-01-01 00:00:00","status":"Active","donotrenew":"1","idprotection":1,"notes":"x"},
            {"id":"2","userid":7,"domainname":"b.com","recurringamount":"3","donotrenew":false,"status":"Pending Transfer"}]}}"#;
        let typed = rows(body).unwrap();
        let answer = parse_response("GetClientsDomains", 200, body.as_bytes()).unwrap();
        let generic: Vec<ClientDomain> = crate::json::nested_list(&answer, "domains", "domain")
            .unwrap()
            .iter()
            .map(|e| ClientDomain::parse(e).unwrap())
            .collect();
        assert_eq!(typed.items, generic);
        assert_eq!(typed.total, Some(2));
        assert_eq!(typed.items[0].domain, "müller.de");
        assert!(typed.items[0].do_not_renew && !typed.items[1].do_not_renew);
        assert_eq!(typed.items[0].expiry, None);
        // Given: on; left out: unknown, never "off".
        assert_eq!(typed.items[0].id_protection, Some(true));
        assert_eq!(typed.items[1].id_protection, None);
    }

    #[test]
    fn a_body_that_is_not_utf8_reads_as_the_generic_reader_reads_it() {
        let mut body = br#"{"result":"success","totalresults":1,"domains":{"domain":[{"id":"4","userid":"1","domainname":"m"#.to_vec();
        body.push(0xfc); // Latin-1 "ü"
        body.extend_from_slice(br#"ller.de"}]}}"#);
        let typed = decode("GetClientsDomains", 200, &body, |row| row.into_owned());
        let generic = generic("GetClientsDomains", 200, &body, |row| row.into_owned());
        assert!(typed.is_err(), "{typed:?}");
        assert_eq!(format!("{typed:?}"), format!("{generic:?}"));
    }

    #[test]
    fn empty_shapes_and_errors() {
        for body in [
            r#"{"result":"success","totalresults":0,"domains":""}"#,
            r#"{"result":"success","totalresults":0}"#,
            r#"{"result":"success","totalresults":0,"domains":[]}"#,
            r#"{"result":"success","totalresults":0,"domains":{}}"#,
        ] {
            assert!(rows(body).unwrap().items.is_empty(), "{body}");
        }
        let single = rows(r#"{"result":"success","totalresults":1,"domains":{"domain":{"id":"4","userid":"1","domainname":"a.com"}}}"#).unwrap();
        assert_eq!(single.items[0].id, 4);
        let err = rows(r#"{"result":"error","message":"Authentication Failed"}"#).unwrap_err();
        assert!(matches!(err, WhmcsError::Auth { .. }), "{err:?}");
        let err =
            rows(r#"{"result":"success","totalresults":3,"domains":{"domain":[{"id":"three"}]}}"#)
                .unwrap_err();
        assert!(err.to_string().contains("whole number"), "{err}");
    }
}
