//! GetClientsDomains pages read straight into rows. A listing of a million domains is the
//! largest answer domwatch reads; building a JSON tree per row first (a map of 22 owned
//! keys and values) cost more than everything else the client does with it. Fields are
//! borrowed from the body where they need no unescaping, and read with the same lenient
//! rules as [`crate::json`] (numbers as strings or numbers, `""` for an empty list).

use crate::api::{parse_response, ParsedPage};
use crate::client_domain::ClientDomain;
use crate::error::WhmcsError;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// A scalar as text, the way [`crate::json::text`] renders it.
#[derive(Debug)]
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                )))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(if v { "1" } else { "0" })))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// The fields of one entry that [`ClientDomain`] reads; the others are skipped.
#[derive(Debug, Deserialize)]
struct Entry<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    userid: Option<Text<'a>>,
    #[serde(borrow)]
    orderid: Option<Text<'a>>,
    #[serde(borrow)]
    regtype: Option<Text<'a>>,
    #[serde(borrow)]
    domainname: Option<Text<'a>>,
    #[serde(borrow)]
    registrar: Option<Text<'a>>,
    #[serde(borrow)]
    regperiod: Option<Text<'a>>,
    #[serde(borrow)]
    firstpaymentamount: Option<Text<'a>>,
    #[serde(borrow)]
    recurringamount: Option<Text<'a>>,
    #[serde(borrow)]
    regdate: Option<Text<'a>>,
    #[serde(borrow)]
    expirydate: Option<Text<'a>>,
    #[serde(borrow)]
    nextduedate: Option<Text<'a>>,
    #[serde(borrow)]
    status: Option<Text<'a>>,
    #[serde(borrow)]
    donotrenew: Option<Text<'a>>,
    #[serde(borrow)]
    idprotection: Option<Text<'a>>,
}

impl Entry<'_> {
    fn field(&self, key: &str) -> Option<Cow<'_, str>> {
        let value = match key {
            "id" => &self.id,
            "userid" => &self.userid,
            "orderid" => &self.orderid,
            "regtype" => &self.regtype,
            "domainname" => &self.domainname,
            "registrar" => &self.registrar,
            "regperiod" => &self.regperiod,
            "firstpaymentamount" => &self.firstpaymentamount,
            "recurringamount" => &self.recurringamount,
            "regdate" => &self.regdate,
            "expirydate" => &self.expirydate,
            "nextduedate" => &self.nextduedate,
            "status" => &self.status,
            "donotrenew" => &self.donotrenew,
            "idprotection" => &self.idprotection,
            _ => &None,
        };
        value.as_ref().map(|t| Cow::Borrowed(t.0.as_ref()))
    }
}

/// `domains`: `""` or `[]` when empty, else `{"domain": [entries]}` or one entry object.
#[derive(Debug, Default)]
struct Entries<'a>(Vec<Entry<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Outer;
        impl<'de> Visitor<'de> for Outer {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object with `domain`, or an empty string or list")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v.trim().is_empty() {
                    Ok(Entries::default())
                } else {
                    Err(E::custom(
                        "`domains` is a string, expected an object with `domain`",
                    ))
                }
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Entries::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(serde::de::Error::custom(
                        "`domains` is a list, expected an object with `domain`",
                    ));
                }
                Ok(Entries::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Entries::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "domain" {
                        entries = map.next_value::<OneOrMany<'de>>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(entries)
            }
        }
        deserializer.deserialize_any(Outer)
    }
}

/// `domains.domain`: a list of entries, or a single entry object.
struct OneOrMany<'a>(Entries<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for OneOrMany<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Inner;
        impl<'de> Visitor<'de> for Inner {
            type Value = OneOrMany<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of domain entries")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(OneOrMany(Entries::default()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(entry) = seq.next_element::<Entry<'de>>()? {
                    entries.push(entry);
                }
                Ok(OneOrMany(Entries(entries)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let entry = Entry::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(OneOrMany(Entries(vec![entry])))
            }
        }
        deserializer.deserialize_any(Inner)
    }
}

#[derive(Debug, Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    result: Option<Text<'a>>,
    #[serde(borrow)]
    totalresults: Option<Text<'a>>,
    #[serde(borrow)]
    numreturned: Option<Text<'a>>,
    #[serde(borrow, default)]
    domains: Entries<'a>,
}

/// Decodes one GetClientsDomains answer into rows. Anything that is not a plain success
/// page (errors, HTML, unexpected shapes) goes through the generic reader, so every
/// error is reported exactly as for other actions.
pub(crate) fn decode<T>(
    action: &str,
    status: u16,
    body: &[u8],
    row: impl Fn(ClientDomain) -> T,
) -> Result<ParsedPage<T>, WhmcsError> {
    let page = match serde_json::from_slice::<Page>(body) {
        Ok(page)
            if (200..300).contains(&status)
                && page.result.as_ref().is_some_and(|r| r.0 == "success") =>
        {
            page
        }
        _ => return generic(action, status, body, row),
    };
    let total = crate::json::u64_of(
        "totalresults",
        page.totalresults.as_ref().map(|t| t.0.as_ref()),
    );
    let Ok(total) = total else {
        return generic(action, status, body, row);
    };
    let returned = crate::json::u64_of(
        "numreturned",
        page.numreturned.as_ref().map(|t| t.0.as_ref()),
    );
    let Ok(returned) = returned else {
        return generic(action, status, body, row);
    };
    let mut items = Vec::with_capacity(page.domains.0.len());
    for entry in &page.domains.0 {
        match ClientDomain::from_fields(|key| entry.field(key)) {
            Ok(domain) => items.push(row(domain)),
            // Reported with the entry, as the generic reader does.
            Err(_) => return generic(action, status, body, row),
        }
    }
    Ok(ParsedPage {
        items,
        total,
        returned,
    })
}

fn generic<T>(
    action: &str,
    status: u16,
    body: &[u8],
    row: impl Fn(ClientDomain) -> T,
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
            ClientDomain::parse(entry)
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
        decode("GetClientsDomains", 200, body.as_bytes(), |d| d)
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
