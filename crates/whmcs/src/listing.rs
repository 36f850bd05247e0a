//! Pages of WHMCS list actions read straight into entries whose fields borrow from the
//! body (GetClientsDomains, GetInvoices). Building a JSON tree per entry first (a map of
//! owned keys and values) cost more than everything else done with a large listing.
//! Fields are read with the same lenient rules as [`crate::json`] (numbers as strings or
//! numbers, `""` or `[]` for an empty list). A page of another shape gives `None`: the
//! caller then reads it with the generic reader, so every error reads the same.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
/// object. Each entry goes to `each` as soon as it is read: no list of entries is kept.
struct Entries<'f, E, F> {
    each: &'f mut F,
    entry: PhantomData<E>,
}

impl<'de, E: ListEntry<'de>, F: FnMut(E)> DeserializeSeed<'de> for Entries<'_, E, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, E: ListEntry<'de>, F: FnMut(E)> Visitor<'de> for Entries<'_, E, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "an object with `{}`, or an empty string or list",
            E::INNER
        )
    }
    fn visit_str<Er: serde::de::Error>(self, v: &str) -> Result<(), Er> {
        if v.trim().is_empty() {
            Ok(())
        } else {
            Err(Er::custom("the list is a string"))
        }
    }
    fn visit_unit<Er>(self) -> Result<(), Er> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(serde::de::Error::custom("the list is a JSON list"));
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == E::INNER {
                map.next_value_seed(OneOrMany {
                    each: &mut *self.each,
                    entry: PhantomData,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `OUTER.INNER`: a list of entries, or a single entry object.
struct OneOrMany<'f, E, F> {
    each: &'f mut F,
    entry: PhantomData<E>,
}

impl<'de, E: ListEntry<'de>, F: FnMut(E)> DeserializeSeed<'de> for OneOrMany<'_, E, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, E: ListEntry<'de>, F: FnMut(E)> Visitor<'de> for OneOrMany<'_, E, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of entries")
    }
    fn visit_unit<Er>(self) -> Result<(), Er> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<E>()? {
            (self.each)(entry);
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        (self.each)(E::deserialize(
            serde::de::value::MapAccessDeserializer::new(map),
        )?);
        Ok(())
    }
}

/// A plain success page's counts (its entries went to the caller one by one).
pub(crate) struct ListPage {
    pub(crate) total: Option<u64>,
    pub(crate) returned: Option<u64>,
}

/// The head fields of an answer; the list's entries go to `each`, other keys are skipped.
struct Head<'a, 'f, E, F> {
    each: &'f mut F,
    entry: PhantomData<(&'a (), E)>,
}

#[derive(Default)]
struct HeadFields<'a> {
    result: Option<Text<'a>>,
    total: Option<Text<'a>>,
    returned: Option<Text<'a>>,
}

impl<'de: 'a, 'a, E: ListEntry<'de>, F: FnMut(E)> DeserializeSeed<'de> for Head<'a, '_, E, F> {
    type Value = HeadFields<'a>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de: 'a, 'a, E: ListEntry<'de>, F: FnMut(E)> Visitor<'de> for Head<'a, '_, E, F> {
    type Value = HeadFields<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a WHMCS answer object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut head = HeadFields::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "result" => head.result = map.next_value()?,
                "totalresults" => head.total = map.next_value()?,
                "numreturned" => head.returned = map.next_value()?,
                k if k == E::OUTER => map.next_value_seed(Entries {
                    each: &mut *self.each,
                    entry: PhantomData,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(head)
    }
}

/// Reads `body` and hands each entry to `each` as it is read; the page's counts when it
/// is a plain success page of entries `E` (HTTP success, `"result": "success"`, readable
/// counts), `None` for anything else — the entries handed on are then to be dropped.
///
/// The body is checked as UTF-8 once, as a whole: read from bytes, serde_json would check
/// every string on its own, which cost more than the rest of reading a string.
pub(crate) fn read_page<'a, E: ListEntry<'a>>(
    status: u16,
    body: &'a [u8],
    mut each: impl FnMut(E),
) -> Option<ListPage> {
    let body = std::str::from_utf8(body).ok()?;
    let mut reader = serde_json::Deserializer::from_str(body);
    let head = Head {
        each: &mut each,
        entry: PhantomData,
    }
    .deserialize(&mut reader)
    .ok()?;
    reader.end().ok()?;
    if !(200..300).contains(&status) || head.result.as_ref().is_none_or(|r| r.0 != "success") {
        return None;
    }
    let count = |key, value: &Option<Text>| crate::json::u64_of(key, text(value).as_deref());
    Some(ListPage {
        total: count("totalresults", &head.total).ok()?,
        returned: count("numreturned", &head.returned).ok()?,
    })
}

/// [`read_page`] with the entries collected, for short pages.
pub(crate) fn read_page_entries<'a, E: ListEntry<'a>>(
    status: u16,
    body: &'a [u8],
) -> Option<(ListPage, Vec<E>)> {
    let mut entries = Vec::new();
    let page = read_page(status, body, |entry| entries.push(entry))?;
    Some((page, entries))
}
