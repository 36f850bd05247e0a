//! `domainListExtended` answers read straight from the XML into domains. A list page is
//! the largest answer domwatch reads from Smart-NIC; as an element tree it costs a few
//! allocations per element, some forty per domain. This reader borrows the cells from
//! the answer instead, and takes only the usual shape of a successful page: anything
//! else (a fault, another return code, an escaped or nil cell where it matters, markup
//! it does not expect) gives `None`, and the caller reads the answer as a tree, which
//! says what is wrong with it. So both ways give the same page, or this one gives none.

use crate::ops::{ListPage, PageRows};
use crate::xml::is_nil;
use quick_xml::events::Event;
use quick_xml::Reader;
use std::borrow::Cow;

/// What an open element is to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Envelope,
    Body,
    Response,
    Return,
    /// `domainInfo`: the rows.
    List,
    Row,
    /// `domainInfoItem`: the row's cells.
    Cells,
    Cell,
    Key,
    Value,
    ReturnCode,
    ServerTrid,
    /// An element whose content does not matter to the page.
    Ignored,
}

/// A successful `domainListExtended` page and its `serverTRID`, or `None` when the answer
/// must be read as a tree.
pub fn read_list_page(xml: &str) -> Option<(ListPage, String)> {
    let mut reader = Reader::from_str(xml);
    let mut state = State::default();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => state.open(e.local_name().as_ref(), is_nil(&e))?,
            Event::Empty(e) => {
                state.open(e.local_name().as_ref(), is_nil(&e))?;
                state.close()?;
            }
            Event::End(_) => state.close()?,
            Event::Text(text) => state.text(text.into_inner())?,
            Event::CData(_) => return None,
            Event::Eof => break,
            _ => {}
        }
    }
    state.finish()
}

/// The reader's state: the open elements and what they hold so far.
#[derive(Default)]
struct State<'a> {
    /// Open elements, each with whether it is `xsi:nil`.
    open: Vec<(At, bool)>,
    /// Elements that may appear once where the tree reads the first (a second one makes
    /// the answer one for the tree).
    seen: Seen,
    return_code: Option<&'a str>,
    server_trid: Option<&'a str>,
    cells: Vec<(&'a str, Option<&'a str>)>,
    key: Option<&'a str>,
    value: Option<&'a str>,
    page: PageRows<'a>,
}

#[derive(Default)]
struct Seen {
    root: bool,
    body: bool,
    response: bool,
    ret: bool,
    list: bool,
    return_code: bool,
    server_trid: bool,
    cells: bool,
    key: bool,
    value: bool,
}

/// Marks `flag`; `None` when it was marked already.
fn once(flag: &mut bool) -> Option<()> {
    (!std::mem::replace(flag, true)).then_some(())
}

impl<'a> State<'a> {
    fn open(&mut self, name: &[u8], nil: bool) -> Option<()> {
        let parent = self.open.last().map(|(at, _)| *at);
        let seen = &mut self.seen;
        let at = match (parent, name) {
            (None, b"Envelope") => once(&mut seen.root).map(|_| At::Envelope)?,
            (None, _) => return None,
            (Some(At::Envelope), b"Body") => once(&mut seen.body).map(|_| At::Body)?,
            (Some(At::Envelope), _) => At::Ignored,
            // A Fault or any other answer is for the tree to tell.
            (Some(At::Body), b"domainListExtendedResponse") => {
                once(&mut seen.response).map(|_| At::Response)?
            }
            (Some(At::Body), _) => return None,
            (Some(At::Response), b"return") => once(&mut seen.ret).map(|_| At::Return)?,
            (Some(At::Response), _) => At::Ignored,
            (Some(At::Return), b"domainInfo") if !nil => once(&mut seen.list).map(|_| At::List)?,
            (Some(At::Return), b"returnCode") => {
                once(&mut seen.return_code).map(|_| At::ReturnCode)?
            }
            (Some(At::Return), b"serverTRID") => {
                once(&mut seen.server_trid).map(|_| At::ServerTrid)?
            }
            (Some(At::Return), b"domainInfo") => return None,
            (Some(At::Return), _) => At::Ignored,
            (Some(At::List), _) => {
                self.cells.clear();
                seen.cells = false;
                At::Row
            }
            (Some(At::Row), b"domainInfoItem") if !nil => {
                once(&mut seen.cells).map(|_| At::Cells)?
            }
            (Some(At::Row), b"domainInfoItem") => return None,
            (Some(At::Row), _) => At::Ignored,
            (Some(At::Cells), _) => {
                (self.key, self.value) = (None, None);
                (seen.key, seen.value) = (false, false);
                At::Cell
            }
            (Some(At::Cell), b"key") => once(&mut seen.key).map(|_| At::Key)?,
            (Some(At::Cell), b"value") => once(&mut seen.value).map(|_| At::Value)?,
            (Some(At::Cell), _) => At::Ignored,
            // Markup inside a text the page needs.
            (Some(At::Key | At::Value | At::ReturnCode | At::ServerTrid), _) => return None,
            (Some(_), _) => At::Ignored,
        };
        self.open.push((at, nil));
        Some(())
    }

    fn close(&mut self) -> Option<()> {
        match self.open.pop()?.0 {
            At::Cell => {
                if let Some(key) = self.key {
                    self.cells.push((key, self.value));
                }
            }
            At::Row => self.page.row(&self.cells),
            _ => {}
        }
        Some(())
    }

    /// Text of the open element: kept where the page needs it, as a trimmed slice of the
    /// answer (empty is none, as in the tree).
    fn text(&mut self, raw: Cow<'a, [u8]>) -> Option<()> {
        let Some(&(at, nil)) = self.open.last() else {
            return Some(());
        };
        let slot = match at {
            At::Key => &mut self.key,
            At::Value => &mut self.value,
            At::ReturnCode => &mut self.return_code,
            At::ServerTrid => &mut self.server_trid,
            _ => return Some(()),
        };
        if nil {
            return Some(());
        }
        // Escaped text would need a copy of its own, and a text in pieces joining.
        let Cow::Borrowed(bytes) = raw else {
            return None;
        };
        if bytes.contains(&b'&') || slot.is_some() {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?.trim();
        *slot = (!text.is_empty()).then_some(text);
        Some(())
    }

    fn finish(self) -> Option<(ListPage, String)> {
        let complete = self.seen.root && self.open.is_empty() && self.seen.ret;
        (complete && self.return_code == Some("1000")).then(|| {
            (
                self.page.finish(),
                self.server_trid.unwrap_or("").to_string(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{list_answer as answer, list_page_from};
    use crate::xml::{body_element, parse};

    /// The page as the tree reads it: the `return` object of the body element.
    fn tree_page(xml: &str) -> ListPage {
        let tree = parse(xml).unwrap();
        let element = body_element(&tree).unwrap();
        list_page_from(element.child("return").unwrap_or(element))
    }

    const OK: &str = "<returnCode>1000</returnCode><serverTRID>s-1</serverTRID>";

    const ROWS: &[&[(&str, &str)]] = &[
        &[
            ("domainName", "eins.de"),
            ("paidUntilDate", "1798758000"),
            ("domainStatus", "connect"),
            ("ownerC", "OO1@HANDLES.DE"),
            ("zoneC", " ZZ1@HANDLES.DE "),
        ],
        &[("domainName", "not a domain")],
        &[
            ("domainName", "zwei.eu"),
            ("toBeDeletedDate", ""),
            ("domainStatus", "connect"),
            ("ownerC", "OO1@HANDLES.DE"),
            ("zoneC", "ZZ1@HANDLES.DE"),
            ("domainName", "ignored-second.de"),
        ],
    ];

    #[test]
    fn the_usual_page_reads_as_the_tree_reads_it() {
        let xml = answer(ROWS, OK);
        let (page, server_trid) = read_list_page(&xml).expect("the usual shape");
        assert_eq!(page, tree_page(&xml));
        assert_eq!((page.rows, page.domains.len()), (3, 2));
        assert_eq!(server_trid, "s-1");
        assert_eq!(page.domains[1].name.ascii(), "zwei.eu");
        assert!(std::sync::Arc::ptr_eq(
            &page.domains[0].contacts,
            &page.domains[1].contacts
        ));
    }

    #[test]
    fn an_empty_or_missing_list_is_no_domains() {
        for xml in [
            answer(&[], OK),
            answer(&[], OK).replace("<domainInfo xsi:type=\"ns1:A\"></domainInfo>", ""),
        ] {
            let (page, _) = read_list_page(&xml).expect("a page without rows");
            assert_eq!(page, tree_page(&xml));
            assert_eq!(page.rows, 0);
        }
    }

    #[test]
    fn every_other_answer_is_left_to_the_tree() {
        let usual = answer(ROWS, OK);
        let others = [
            // Not a success, or not this answer.
            answer(ROWS, "<returnCode>1001</returnCode>"),
            answer(ROWS, "<returnCode>2400</returnCode>"),
            answer(ROWS, ""),
            usual.replace("domainListExtendedResponse", "domainInfoResponse"),
            "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">\
             <SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode>\
             <faultstring>busy</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
                .to_string(),
            // Cut off, or not XML.
            usual[..usual.len() / 2].to_string(),
            usual[..usual.len() - 30].to_string(),
            "not xml at all".to_string(),
            String::new(),
            // Cells that need copying or joining, and markup where text belongs.
            usual.replace("OO1@HANDLES.DE", "O&amp;O"),
            usual.replace("connect", "<![CDATA[connect]]>"),
            usual.replace("connect", "con<!-- x -->nect"),
            usual.replace(">domainName</key>", "><b>domainName</b></key>"),
            // A second element where the tree reads the first.
            usual.replace("</return>", "<returnCode>1000</returnCode></return>"),
            usual.replace("<domainInfo ", "<domainInfo/><domainInfo "),
            usual.replace("</domainInfoItem>", "</domainInfoItem><domainInfoItem/>"),
            usual.replace(">domainName</key>", ">domainName</key><key>x</key>"),
            // A nil list.
            answer(&[], OK).replace(
                "<domainInfo xsi:type=\"ns1:A\"></domainInfo>",
                "<domainInfo xsi:nil=\"true\"/>",
            ),
        ];
        for xml in others {
            assert!(read_list_page(&xml).is_none(), "read fast: {xml}");
        }
    }

    #[test]
    fn headers_and_unknown_elements_are_skipped_as_the_tree_skips_them() {
        let xml = answer(ROWS, OK)
            .replace(
                "<SOAP-ENV:Body>",
                "<SOAP-ENV:Header><h><key>x</key></h></SOAP-ENV:Header><SOAP-ENV:Body>",
            )
            .replace(
                "<domainInfo ",
                "<returnMessage>ok <i>x</i></returnMessage><domainInfo ",
            )
            .replace(
                "<domainInfoItem>",
                "<note><key>n</key></note><domainInfoItem>",
            );
        let (page, _) = read_list_page(&xml).expect("extra elements are not the page");
        assert_eq!(page, tree_page(&xml));
        assert_eq!(page.domains.len(), 2);
    }
}
