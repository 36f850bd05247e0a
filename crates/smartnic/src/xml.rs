//! SOAP 1.1 RPC/encoded on the wire: writing request envelopes and reading any SOAP
//! message into a small element tree (namespace prefixes dropped, `xsi:nil` kept).

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::fmt::Write;

/// The service namespace (also the SOAPAction prefix).
pub const NAMESPACE: &str = "http://soap.domain-bestellsystem.de/soap/1.1/";
/// `SOAP-ENV`.
pub const ENVELOPE_NAMESPACE: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// `SOAP-ENC`, the RPC/encoded encoding style every binding of the WSDL uses.
pub const ENCODING_NAMESPACE: &str = "http://schemas.xmlsoap.org/soap/encoding/";

/// A request field value, typed the way the WSDL declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Bool(bool),
    /// `xsi:nil="true"`: a nillable element sent empty on purpose.
    Nil,
    /// `tns:ArrayOfString` (`<item xsi:type="xsd:string">` per entry).
    Strings(Vec<String>),
    /// `tns:ArrayOfFilteritem`: `{key, value}` items.
    Filters(Vec<(String, String)>),
    /// A structure typed `ns1:{type}`: its elements in order.
    Struct(&'static str, Vec<(String, Value)>),
    /// An array of structures typed `ns1:{array}`, each `<item xsi:type="ns1:{item}">`.
    Structs {
        array: &'static str,
        item: &'static str,
        items: Vec<Vec<(String, Value)>>,
    },
}

impl Value {
    pub fn text(value: impl Into<String>) -> Value {
        Value::Text(value.into())
    }
}

/// The request envelope of operation `name`: `<ns1:{name}><{part} xsi:type="ns1:{Type}">`
/// (the type as [`request_type`] names it) with one element per field, in order. All
/// text is escaped.
pub fn envelope(name: &str, part: &str, fields: &[(&str, Value)]) -> String {
    let mut body = String::with_capacity(640 + fields.len() * 64);
    let _ = write!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"{ENVELOPE_NAMESPACE}\" \
         xmlns:ns1=\"{NAMESPACE}\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:SOAP-ENC=\"{ENCODING_NAMESPACE}\" \
         SOAP-ENV:encodingStyle=\"{ENCODING_NAMESPACE}\">\
         <SOAP-ENV:Body><ns1:{name}><{part} xsi:type=\"ns1:{request_type}\">",
        request_type = request_type(name),
    );
    for (field, value) in fields {
        write_field(&mut body, field, value);
    }
    let _ = write!(
        body,
        "</{part}></ns1:{name}></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    );
    body
}

/// `DomainInfoRequestObject` for `domainInfo`: every request type of the WSDL is named so.
pub fn request_type(operation: &str) -> String {
    let mut name = String::with_capacity(operation.len() + 13);
    let mut chars = operation.chars();
    if let Some(first) = chars.next() {
        name.extend(first.to_uppercase());
    }
    name.extend(chars);
    name.push_str("RequestObject");
    name
}

fn write_field(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Text(text) => {
            let _ = write!(
                out,
                "<{name} xsi:type=\"xsd:string\">{}</{name}>",
                escape(text)
            );
        }
        Value::Bool(b) => {
            let _ = write!(out, "<{name} xsi:type=\"xsd:boolean\">{b}</{name}>");
        }
        Value::Nil => {
            let _ = write!(out, "<{name} xsi:nil=\"true\"/>");
        }
        Value::Strings(items) => {
            let _ = write!(out, "<{name} xsi:type=\"ns1:ArrayOfString\">");
            for item in items {
                let _ = write!(out, "<item xsi:type=\"xsd:string\">{}</item>", escape(item));
            }
            let _ = write!(out, "</{name}>");
        }
        Value::Filters(pairs) => {
            let _ = write!(out, "<{name} xsi:type=\"ns1:ArrayOfFilteritem\">");
            for (key, value) in pairs {
                let _ = write!(
                    out,
                    "<item xsi:type=\"ns1:FilterItem\"><key xsi:type=\"xsd:string\">{}</key>\
                     <value xsi:type=\"xsd:string\">{}</value></item>",
                    escape(key),
                    escape(value)
                );
            }
            let _ = write!(out, "</{name}>");
        }
        Value::Struct(ty, fields) => {
            let _ = write!(out, "<{name} xsi:type=\"ns1:{ty}\">");
            write_fields(out, fields);
            let _ = write!(out, "</{name}>");
        }
        Value::Structs { array, item, items } => {
            let _ = write!(out, "<{name} xsi:type=\"ns1:{array}\">");
            for fields in items {
                let _ = write!(out, "<item xsi:type=\"ns1:{item}\">");
                write_fields(out, fields);
                out.push_str("</item>");
            }
            let _ = write!(out, "</{name}>");
        }
    }
}

fn write_fields(out: &mut String, fields: &[(String, Value)]) {
    for (name, value) in fields {
        write_field(out, name, value);
    }
}

/// XML escaping for element content and attribute values. Characters XML 1.0 cannot
/// carry at all (control characters other than tab, CR, LF) are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
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

    /// Moves the first child called `name` out of this element.
    pub fn take_child(&mut self, name: &str) -> Option<Node> {
        let at = self.children.iter().position(|c| c.name == name)?;
        Some(self.children.remove(at))
    }

    /// The trimmed text of a child; `None` when missing, nil or empty.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .filter(|c| !c.nil)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }

    /// The entries of an array child (`SOAP-ENC:Array` or a WSDL `ArrayOf…` sequence):
    /// its element children whatever they are called (`item` as a rule). Missing or nil
    /// arrays are empty.
    pub fn items(&self, name: &str) -> &[Node] {
        self.child(name)
            .filter(|c| !c.nil)
            .map(|c| c.children.as_slice())
            .unwrap_or(&[])
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
    String::from_utf8_lossy(local_part(name)).into_owned()
}

/// The name without its namespace prefix, not copied.
fn local_part(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

pub(crate) fn is_nil(start: &BytesStart<'_>) -> bool {
    start
        .attributes()
        .flatten()
        .any(|a| local_part(a.key.as_ref()) == b"nil" && matches!(a.value.as_ref(), b"true" | b"1"))
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The document stops in the middle (a connection cut off, a body cut short).
    Truncated(String),
    /// Not XML, or not well-formed.
    Malformed(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Truncated(m) => write!(f, "the XML is cut off: {m}"),
            ParseError::Malformed(m) => write!(f, "not well-formed XML: {m}"),
        }
    }
}

/// Parses a whole XML document into its root element.
pub fn parse(xml: &str) -> Result<Node, ParseError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let at = reader.buffer_position();
                // quick-xml's syntax errors all mean "the input ended before … was closed".
                return Err(match e {
                    quick_xml::Error::Syntax(_) => {
                        ParseError::Truncated(format!("ends in the middle of markup ({e})"))
                    }
                    _ => ParseError::Malformed(format!("at byte {at}: {e}")),
                });
            }
        };
        match event {
            Event::Start(start) => stack.push(Node {
                name: local(start.name().as_ref()),
                nil: is_nil(&start),
                ..Node::default()
            }),
            Event::Empty(start) => {
                let node = Node {
                    name: local(start.name().as_ref()),
                    nil: is_nil(&start),
                    ..Node::default()
                };
                attach(&mut stack, &mut root, node)?;
            }
            Event::Text(text) => {
                if let Some(node) = stack.last_mut() {
                    let text = text.unescape().map_err(|e| {
                        ParseError::Malformed(format!(
                            "bad text near byte {}: {e}",
                            reader.buffer_position()
                        ))
                    })?;
                    node.text.push_str(&text);
                }
            }
            Event::CData(data) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&String::from_utf8_lossy(&data));
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or_else(|| {
                    ParseError::Malformed("a closing tag without an opening one".into())
                })?;
                attach(&mut stack, &mut root, node)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(ParseError::Truncated(format!(
            "the document ends inside <{}>",
            open.name
        )));
    }
    root.ok_or_else(|| ParseError::Malformed("no XML element in the answer".into()))
}

fn attach(stack: &mut [Node], root: &mut Option<Node>, node: Node) -> Result<(), ParseError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None if root.is_none() => *root = Some(node),
        None => {
            return Err(ParseError::Malformed(format!(
                "a second root element <{}>",
                node.name
            )))
        }
    }
    Ok(())
}

/// The element inside `Envelope/Body`: `{op}` in a request, `{op}Response` in an answer,
/// or `Fault`.
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

/// [`body_element`], moved out of the envelope instead of borrowed (a list page is most
/// of its answer); `None` where [`body_element`] gives an error.
pub fn into_body_element(mut envelope: Node) -> Option<Node> {
    if envelope.name != "Envelope" {
        return None;
    }
    let mut body = envelope.take_child("Body")?;
    (!body.children.is_empty()).then(|| body.children.remove(0))
}

/// A SOAP 1.1 Fault (`faultcode` `Client` or `Server`, `faultstring`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: String,
    pub message: String,
}

impl Fault {
    /// Reads a `Fault` body element; `None` for anything else.
    pub fn from_body(element: &Node) -> Option<Fault> {
        (element.name == "Fault").then(|| Fault {
            code: local(element.text_of("faultcode").unwrap_or("Server").as_bytes()),
            message: element
                .text_of("faultstring")
                .unwrap_or("no faultstring")
                .to_string(),
        })
    }

    /// `Client` faults blame the request: sending it again cannot help.
    pub fn blames_the_request(&self) -> bool {
        self.code.starts_with("Client")
    }
}

/// A SOAP Fault envelope (for servers and tests).
pub fn fault_envelope(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"{ENVELOPE_NAMESPACE}\"><SOAP-ENV:Body>\
         <SOAP-ENV:Fault><faultcode>SOAP-ENV:{}</faultcode><faultstring>{}</faultstring>\
         </SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>",
        escape(code),
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_rpc_encoded_with_the_wsdl_part_and_escaped_text() {
        let xml = envelope(
            "domainInfo",
            "domainInfoRequest",
            &[
                ("domainName", Value::text("a&b<c>\"d'.de")),
                ("domainNameAce", Value::Nil),
                ("clientTRID", Value::text("t-1")),
            ],
        );
        let golden = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
            <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
            xmlns:ns1=\"http://soap.domain-bestellsystem.de/soap/1.1/\" \
            xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
            xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
            xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\" \
            SOAP-ENV:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">\
            <SOAP-ENV:Body><ns1:domainInfo>\
            <domainInfoRequest xsi:type=\"ns1:DomainInfoRequestObject\">\
            <domainName xsi:type=\"xsd:string\">a&amp;b&lt;c&gt;&quot;d&apos;.de</domainName>\
            <domainNameAce xsi:nil=\"true\"/>\
            <clientTRID xsi:type=\"xsd:string\">t-1</clientTRID>\
            </domainInfoRequest></ns1:domainInfo></SOAP-ENV:Body></SOAP-ENV:Envelope>";
        assert_eq!(xml, golden);

        let tree = parse(&xml).unwrap();
        let request = &body_element(&tree).unwrap().children[0];
        assert_eq!(request.text_of("domainName"), Some("a&b<c>\"d'.de"));
        assert!(request.child("domainNameAce").unwrap().nil);
        assert_eq!(request.text_of("domainNameAce"), None);
    }

    #[test]
    fn arrays_are_written_as_the_wsdl_types_them() {
        let xml = envelope(
            "domainListExtended",
            "domainListExtendedRequest",
            &[
                (
                    "fields",
                    Value::Strings(vec!["domainName".into(), "paidUntilDate".into()]),
                ),
                ("filter", Value::Filters(vec![("tld".into(), "de".into())])),
            ],
        );
        assert!(xml.contains(
            "<fields xsi:type=\"ns1:ArrayOfString\"><item xsi:type=\"xsd:string\">domainName</item>"
        ));
        assert!(xml.contains(
            "<filter xsi:type=\"ns1:ArrayOfFilteritem\"><item xsi:type=\"ns1:FilterItem\">\
             <key xsi:type=\"xsd:string\">tld</key><value xsi:type=\"xsd:string\">de</value></item></filter>"
        ));
        let tree = parse(&xml).unwrap();
        let request = tree.find("domainListExtendedRequest").unwrap();
        let fields: Vec<&str> = request
            .items("fields")
            .iter()
            .map(|i| i.text.as_str())
            .collect();
        assert_eq!(fields, ["domainName", "paidUntilDate"]);
        assert_eq!(request.items("filter")[0].text_of("value"), Some("de"));
    }

    #[test]
    fn structures_nest_with_their_wsdl_types() {
        let xml = envelope(
            "domainUpdate",
            "domainUpdateRequest",
            &[(
                "extension",
                Value::Struct(
                    "DomainUpdateRequestExtension",
                    vec![
                        ("ownerCWPP".into(), Value::Nil),
                        (
                            "dnsSecDSData".into(),
                            Value::Structs {
                                array: "ArrayOfDnssecdsdataitem",
                                item: "dnsSecDSDataItem",
                                items: vec![vec![("keyTag".into(), Value::text("1&2"))]],
                            },
                        ),
                    ],
                ),
            )],
        );
        assert!(xml.contains(
            "<extension xsi:type=\"ns1:DomainUpdateRequestExtension\"><ownerCWPP xsi:nil=\"true\"/>\
             <dnsSecDSData xsi:type=\"ns1:ArrayOfDnssecdsdataitem\"><item xsi:type=\"ns1:dnsSecDSDataItem\">\
             <keyTag xsi:type=\"xsd:string\">1&amp;2</keyTag></item></dnsSecDSData></extension>"
        ));
        let tree = parse(&xml).unwrap();
        let ext = tree.find("extension").unwrap();
        assert_eq!(ext.items("dnsSecDSData")[0].text_of("keyTag"), Some("1&2"));
    }

    #[test]
    fn the_body_element_moves_out_of_the_envelope_as_body_element_reads_it() {
        let xml = envelope(
            "domainInfo",
            "domainInfoRequest",
            &[("a", Value::text("1"))],
        );
        let tree = parse(&xml).unwrap();
        let borrowed = body_element(&tree).unwrap().clone();
        let mut moved = into_body_element(tree).unwrap();
        assert_eq!(moved, borrowed);
        let part = moved.take_child("domainInfoRequest").unwrap();
        assert_eq!(part.text_of("a"), Some("1"));
        assert!(moved.take_child("domainInfoRequest").is_none());
        let not_soap = parse("<Other><Body><x/></Body></Other>").unwrap();
        assert!(body_element(&not_soap).is_err());
        assert!(into_body_element(not_soap).is_none());
        let empty = parse("<Envelope><Body/></Envelope>").unwrap();
        assert!(into_body_element(empty).is_none());
    }

    #[test]
    fn control_characters_never_reach_the_wire() {
        assert_eq!(escape("a\u{1}b\tc\u{1f}"), "ab\tc");
    }

    #[test]
    fn any_prefix_nil_and_soap_enc_arrays_are_read() {
        let xml = r#"<?xml version="1.0"?>
            <env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"
                xmlns:enc="http://schemas.xmlsoap.org/soap/encoding/"
                xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
              <env:Body><x:handleListResponse xmlns:x="urn:x"><return>
                <handleList enc:arrayType="x:HandleListHandles[2]" i:type="enc:Array">
                  <item><handleId>A</handleId></item>
                  <entry><handleId><![CDATA[B&C]]></handleId></entry>
                </handleList>
                <gone i:nil="1">ignored</gone>
                <missingArray i:nil="true"/>
              </return></x:handleListResponse></env:Body></env:Envelope>"#;
        let tree = parse(xml).unwrap();
        let ret = body_element(&tree).unwrap().child("return").unwrap();
        let ids: Vec<_> = ret
            .items("handleList")
            .iter()
            .filter_map(|i| i.text_of("handleId"))
            .collect();
        assert_eq!(ids, ["A", "B&C"]);
        assert_eq!(ret.text_of("gone"), None);
        assert!(ret.items("missingArray").is_empty());
        assert!(ret.items("notThere").is_empty());
    }

    #[test]
    fn broken_documents_say_what_is_wrong() {
        assert!(matches!(parse("<a><b></a>"), Err(ParseError::Malformed(_))));
        assert!(matches!(parse("<a><b>"), Err(ParseError::Truncated(_))));
        assert!(matches!(
            parse("<a><b x=\"1\""),
            Err(ParseError::Truncated(_))
        ));
        assert!(matches!(parse(""), Err(ParseError::Malformed(_))));
        assert!(matches!(parse("<a/><b/>"), Err(ParseError::Malformed(_))));
        let not_soap = parse("<html><body>502</body></html>").unwrap();
        assert!(body_element(&not_soap)
            .unwrap_err()
            .contains("expected a SOAP Envelope"));
    }

    #[test]
    fn faults_are_recognised_with_their_code() {
        let tree = parse(&fault_envelope("Client", "Procedure 'x' not present")).unwrap();
        let fault = Fault::from_body(body_element(&tree).unwrap()).unwrap();
        assert_eq!(fault.code, "Client");
        assert_eq!(fault.message, "Procedure 'x' not present");
        assert!(fault.blames_the_request());
    }
}
