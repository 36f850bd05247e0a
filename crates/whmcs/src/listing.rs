//! Pages of WHMCS list actions read straight into entries whose fields borrow from the
//! body (GetClientsDomains, GetInvoices). Building a JSON tree per entry first (a map of
//! owned keys and values) cost more than everything else done with a large listing.
//! Fields are read with the same lenient rules as [`crate::json`] (numbers as strings or
//! numbers, `""` or `[]` for an empty list). A page of another shape gives `None`: the
//! caller then reads it with the generic reader, so every error reads the same.

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A scalar as text, the way [`crate::json::text`] renders it.
#[derive(Debug)]
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

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

/// The text of an optional field, borrowed.
pub(crate) fn text<'t>(value: &'t Option<Text<'_>>) -> Option<Cow<'t, str>> {
    value.as_ref().map(|t| Cow::Borrowed(t.0.as_ref()))
}

/// One entry of a list page: `{"<OUTER>": {"<INNER>": [entries]}}`.
pub(crate) trait ListEntry<'de>: Deserialize<'de> {
    /// The list's key in the answer (`domains`).
    const OUTER: &'static str;
    /// The entries' key inside it (`domain`).
    const INNER: &'static str;
}

/// Declares a list entry: a struct whose fields are read as borrowed [`Text`] (others in
/// the answer are skipped), `field(key)` by the same names, and where the list stands in
/// the answer (`OUTER.INNER`).
macro_rules! text_entry {
    ($(#[$meta:meta])* $name:ident in $outer:literal . $inner:literal { $($field:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize)]
        struct $name<'a> {
            $(#[serde(borrow)] $field: Option<$crate::listing::Text<'a>>,)+
        }

        impl $name<'_> {
            fn field(&self, key: &str) -> Option<std::borrow::Cow<'_, str>> {
                match key {
                    $(stringify!($field) => $crate::listing::text(&self.$field),)+
                    _ => None,
                }
            }
        }

        impl<'de: 'a, 'a> $crate::listing::ListEntry<'de> for $name<'a> {
            const OUTER: &'static str = $outer;
            const INNER: &'static str = $inner;
        }
    };
}
pub(crate) use text_entry;

/// The list: `""`, `[]` or missing when empty, else `{INNER: [entries]}` or one entry
/// object.
struct Entries<E>(Vec<E>);

impl<'de, E: ListEntry<'de>> Deserialize<'de> for Entries<E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Outer<E>(PhantomData<E>);
        impl<'de, E: ListEntry<'de>> Visitor<'de> for Outer<E> {
            type Value = Entries<E>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "an object with `{}`, or an empty string or list",
                    E::INNER
                )
            }
            fn visit_str<Er: serde::de::Error>(self, v: &str) -> Result<Self::Value, Er> {
                if v.trim().is_empty() {
                    Ok(Entries(Vec::new()))
                } else {
                    Err(Er::custom("the list is a string"))
                }
            }
            fn visit_unit<Er>(self) -> Result<Self::Value, Er> {
                Ok(Entries(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(serde::de::Error::custom("the list is a JSON list"));
                }
                Ok(Entries(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Entries(Vec::new());
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == E::INNER {
                        entries = map.next_value::<OneOrMany<E>>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(entries)
            }
        }
        deserializer.deserialize_any(Outer(PhantomData))
    }
}

/// `OUTER.INNER`: a list of entries, or a single entry object.
struct OneOrMany<E>(Entries<E>);

impl<'de, E: ListEntry<'de>> Deserialize<'de> for OneOrMany<E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Inner<E>(PhantomData<E>);
        impl<'de, E: ListEntry<'de>> Visitor<'de> for Inner<E> {
            type Value = OneOrMany<E>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of entries")
            }
            fn visit_unit<Er>(self) -> Result<Self::Value, Er> {
                Ok(OneOrMany(Entries(Vec::new())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(entry) = seq.next_element::<E>()? {
                    entries.push(entry);
                }
                Ok(OneOrMany(Entries(entries)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let entry = E::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(OneOrMany(Entries(vec![entry])))
            }
        }
        deserializer.deserialize_any(Inner(PhantomData))
    }
}

/// A plain success page: its counts and its entries.
pub(crate) struct ListPage<E> {
    pub(crate) total: Option<u64>,
    pub(crate) returned: Option<u64>,
    pub(crate) entries: Vec<E>,
}

/// The head fields and the list of an answer, other keys skipped.
struct Head<'a, E> {
    result: Option<Text<'a>>,
    total: Option<Text<'a>>,
    returned: Option<Text<'a>>,
    entries: Vec<E>,
}

impl<'de: 'a, 'a, E: ListEntry<'de>> Deserialize<'de> for Head<'a, E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadVisitor<'a, E>(PhantomData<(&'a (), E)>);
        impl<'de: 'a, 'a, E: ListEntry<'de>> Visitor<'de> for HeadVisitor<'a, E> {
            type Value = Head<'a, E>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a WHMCS answer object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut head = Head {
                    result: None,
                    total: None,
                    returned: None,
                    entries: Vec::new(),
                };
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "result" => head.result = map.next_value()?,
                        "totalresults" => head.total = map.next_value()?,
                        "numreturned" => head.returned = map.next_value()?,
                        k if k == E::OUTER => head.entries = map.next_value::<Entries<E>>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(head)
            }
        }
        deserializer.deserialize_map(HeadVisitor(PhantomData))
    }
}

/// The page when `body` is a plain success page of entries `E` (HTTP success,
/// `"result": "success"`, readable counts); `None` for anything else.
///
/// The body is checked as UTF-8 once, as a whole: read from bytes, serde_json would check
/// every string on its own, which cost more than the rest of reading a string.
pub(crate) fn read_page<'a, E: ListEntry<'a>>(status: u16, body: &'a [u8]) -> Option<ListPage<E>> {
    let body = std::str::from_utf8(body).ok()?;
    let head = serde_json::from_str::<Head<E>>(body).ok()?;
    if !(200..300).contains(&status) || head.result.as_ref().is_none_or(|r| r.0 != "success") {
        return None;
    }
    let count = |key, value: &Option<Text>| crate::json::u64_of(key, text(value).as_deref());
    Some(ListPage {
        total: count("totalresults", &head.total).ok()?,
        returned: count("numreturned", &head.returned).ok()?,
        entries: head.entries,
    })
}
