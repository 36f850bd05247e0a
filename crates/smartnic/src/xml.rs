//! SOAP 1.1 RPC/encoded on the wire: writing request envelopes and reading any SOAP
//! message into a small element tree (namespace prefixes dropped, `xsi:nil` kept).

use quick_xml::events::Event;
use quick_xml::Reader;
use std::fmt::Write;

/// The service namespace (also the SOAPAction prefix).
pub const NAMESPACE: &str = "http://soap.domain-bestellsystem.de/soap/1.1/";

/// A request field value, typed the way the WSDL declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Bool(bool),
    /// `xsi:nil="true"`: an optional element sent empty.
    Nil,
    /// `tns:ArrayOfString`.
    Strings(Vec<String>),
    /// An array of `{key, value}` items (`tns:ArrayOfFilteritem`).
    Pairs(Vec<(String, String)>),
}

/// The operation's request object: the element is `<{op}Request>` of type
/// `ns1:{Op}RequestObject`, as every message of the WSDL names it.
pub fn envelope(operation: &str, fields: &[(&str, Value)]) -> String {
    let mut type_name = operation.to_string();
    if let Some(first) = type_name.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    let mut body = String::with_capacity(512);
    let _ = write!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:ns1=\"{NAMESPACE}\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\" \
         SOAP-ENV:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">\
         <SOAP-ENV:Body><ns1:{operation}><{operation}Request xsi:type=\"ns1:{type_name}RequestObject\">"
    );
    for (name, value) in fields {
        match value {
            Value::Text(text) => {
                let _ = write!(
                    body,
                    "<{name} xsi:type=\"xsd:string\">{}</{name}>",
                    escape(text)
                );
            }
            Value::Bool(b) => {
                let _ = write!(body, "<{name} xsi:type=\"xsd:boolean\">{b}</{name}>");
            }
            Value::Nil => {
                let _ = write!(body, "<{name} xsi:nil=\"true\"/>");
            }
            Value::Strings(items) => {
                let _ = write!(
                    body,
                    "<{name} SOAP-ENC:arrayType=\"xsd:string[{}]\" xsi:type=\"ns1:ArrayOfString\">",
                    items.len()
                );
                for item in items {
                    let _ = write!(
                        body,
                        "<item xsi:type=\"xsd:string\">{}</item>",
                        escape(item)
                    );
                }
                let _ = write!(body, "</{name}>");
            }
            Value::Pairs(pairs) => {
                let _ = write!(
                    body,
                    "<{name} SOAP-ENC:arrayType=\"ns1:FilterItem[{}]\" xsi:type=\"ns1:ArrayOfFilteritem\">",
                    pairs.len()
                );
                for (k, v) in pairs {
                    let _ = write!(
                        body,
                        "<item xsi:type=\"ns1:FilterItem\"><key xsi:type=\"xsd:string\">{}</key><value xsi:type=\"xsd:string\">{}</value></item>",
                        escape(k),
                        escape(v)
                    );
                }
                let _ = write!(body, "</{name}>");
            }
        }
    }
    let _ = write!(
        body,
        "</{operation}Request></ns1:{operation}></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    );
    body
}

/// XML text escaping for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// One element: local name, text content, children, and whether it was `xsi:nil`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub text: String,
    pub nil: bool,
    pub children: Vec<Node>,
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The trimmed text of a child; `None` when missing, nil or empty.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .filter(|c| !c.nil)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }

    /// The first element called `name` anywhere below (depth first).
    pub fn find(&self, name: &str) -> Option<&Node> {
        for c in &self.children {
            if c.name == name {
                return Some(c);
            }
            if let Some(found) = c.find(name) {
                return Some(found);
            }
        }
        None
    }
}

fn local(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    match name.rsplit_once(':') {
        Some((_, local)) => local.to_string(),
        None => name.into_owned(),
    }
}

fn is_nil(start: &quick_xml::events::BytesStart<'_>) -> bool {
    start
        .attributes()
        .flatten()
        .any(|a| local(a.key.as_ref()) == "nil" && matches!(a.value.as_ref(), b"true" | b"1"))
}

/// Parses a whole XML document into its root element.
pub fn parse(xml: &str) -> Result<Node, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => stack.push(Node {
                name: local(start.name().as_ref()),
                nil: is_nil(&start),
                ..Node::default()
            }),
            Ok(Event::Empty(start)) => {
                let node = Node {
                    name: local(start.name().as_ref()),
                    nil: is_nil(&start),
                    ..Node::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Ok(Event::Text(text)) => {
                if let Some(node) = stack.last_mut() {
                    let text = text.unescape().map_err(|e| {
                        format!("bad text at byte {}: {e}", reader.buffer_position())
                    })?;
                    node.text.push_str(&text);
                }
            }
            Ok(Event::CData(data)) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&String::from_utf8_lossy(&data));
                }
            }
            Ok(Event::End(_)) => {
                let node = stack.pop().ok_or("closing tag without an opening one")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                let at = reader.buffer_position() as usize;
                let cut_off = matches!(e, quick_xml::Error::Syntax(_)) && at >= xml.len();
                return Err(if cut_off {
                    format!("the document ends in the middle of a tag (truncated?): {e}")
                } else {
                    format!("not well-formed XML at byte {at}: {e}")
                });
            }
        }
    }
    if !stack.is_empty() {
        return Err(format!(
            "the document ends inside <{}> (truncated?)",
            stack.last().map(|n| n.name.as_str()).unwrap_or("")
        ));
    }
    root.ok_or_else(|| "no XML element in the answer".to_string())
}

/// The operation element inside `Envelope/Body` (`{op}` in a request, `{op}Response` in an
/// answer, or `Fault`).
pub fn body_element(envelope: &Node) -> Result<&Node, String> {
    if envelope.name != "Envelope" {
        return Err(format!("expected a SOAP Envelope, got <{}>", envelope.name));
    }
    let body = envelope
        .child("Body")
        .ok_or("the SOAP Envelope has no Body")?;
    body.children
        .first()
        .ok_or_else(|| "the SOAP Body is empty".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_is_rpc_encoded_with_escaped_text() {
        let xml = envelope(
            "domainInfo",
            &[
                ("domainName", Value::Text("a&b<c>.de".into())),
                ("domainNameAce", Value::Nil),
                ("clientTRID", Value::Text("t-1".into())),
            ],
        );
        assert!(xml.contains(
            "<ns1:domainInfo><domainInfoRequest xsi:type=\"ns1:DomainInfoRequestObject\">"
        ));
        assert!(
            xml.contains("<domainName xsi:type=\"xsd:string\">a&amp;b&lt;c&gt;.de</domainName>")
        );
        assert!(xml.contains("<domainNameAce xsi:nil=\"true\"/>"));
        let tree = parse(&xml).unwrap();
        let op = body_element(&tree).unwrap();
        assert_eq!(op.name, "domainInfo");
        let request = op.child("domainInfoRequest").unwrap();
        assert_eq!(request.text_of("domainName"), Some("a&b<c>.de"));
        assert!(request.child("domainNameAce").unwrap().nil);
        assert_eq!(request.text_of("domainNameAce"), None);
    }

    #[test]
    fn arrays_round_trip() {
        let xml = envelope(
            "domainListExtended",
            &[
                (
                    "fields",
                    Value::Strings(vec!["domainName".into(), "paidUntilDate".into()]),
                ),
                ("filter", Value::Pairs(vec![("tld".into(), "de".into())])),
            ],
        );
        let tree = parse(&xml).unwrap();
        let request = tree.find("domainListExtendedRequest").unwrap();
        let fields: Vec<&str> = request
            .child("fields")
            .unwrap()
            .children
            .iter()
            .map(|i| i.text.as_str())
            .collect();
        assert_eq!(fields, ["domainName", "paidUntilDate"]);
        let filter = &request.child("filter").unwrap().children[0];
        assert_eq!(filter.text_of("key"), Some("tld"));
    }

    #[test]
    fn broken_documents_say_what_is_wrong() {
        assert!(parse("<a><b></a>").unwrap_err().contains("not well-formed"));
        assert!(parse("<a><b>").unwrap_err().contains("truncated"));
        assert!(parse("<a><b x=\"1\"").unwrap_err().contains("truncated"));
        assert!(parse("").unwrap_err().contains("no XML element"));
        let not_soap = parse("<html><body>502</body></html>").unwrap();
        assert!(body_element(&not_soap)
            .unwrap_err()
            .contains("expected a SOAP Envelope"));
    }
}
