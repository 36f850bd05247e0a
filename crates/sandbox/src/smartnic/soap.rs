//! The SOAP side of the sandbox: reading a request envelope, writing answers the way the
//! WSDL binds them (`<ns1:{op}Response><return xsi:type="ns1:{Op}ResponseObject">`), and
//! SOAP Faults for what a PHP SoapServer would refuse before any operation runs.

use domwatch_smartnic::xml::{body_element, escape, fault_envelope, parse, Node, NAMESPACE};
use std::fmt::Write;

/// A request that reached an operation: its name and the request object (the part).
#[derive(Debug, Clone)]
pub struct SoapRequest {
    pub operation: String,
    /// The part element (`{op}Request`), empty when the body element had none.
    pub part: Node,
    pub part_name: String,
}

/// Reads a request envelope. `Err` is a SOAP Fault envelope (malformed XML, no Envelope,
/// a SOAPAction that names another operation).
pub fn read_request(body: &[u8], soap_action: Option<&str>) -> Result<SoapRequest, String> {
    let text = String::from_utf8_lossy(body);
    let tree = parse(&text).map_err(|e| fault_envelope("Client", &format!("Bad Request: {e}")))?;
    let element =
        body_element(&tree).map_err(|e| fault_envelope("Client", &format!("Bad Request: {e}")))?;
    let operation = element.name.clone();
    if let Some(action) = soap_action
        .map(|a| a.trim().trim_matches('"'))
        .filter(|a| !a.is_empty())
    {
        // SOAP 1.1 lets clients send an empty SOAPAction (the exporter does); a non-empty
        // one must name the operation in the body.
        let named = action.rsplit_once('#').map(|(_, op)| op).unwrap_or(action);
        if named != operation {
            return Err(fault_envelope(
                "Client",
                &format!(
                    "SOAPAction `{action}` does not match the operation <{operation}> in the body"
                ),
            ));
        }
    }
    let part = element.children.first().cloned().unwrap_or_default();
    Ok(SoapRequest {
        operation,
        part_name: part.name.clone(),
        part,
    })
}

/// Whether the WSDL declares `operation` (a PHP SoapServer knows exactly these).
pub fn in_wsdl(operation: &str) -> bool {
    static OPERATIONS: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    OPERATIONS
        .get_or_init(|| {
            domwatch_smartnic::WSDL
                .split("<operation name=\"")
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .map(str::to_string)
                .collect()
        })
        .contains(operation)
}

/// The fault a PHP SoapServer answers for an operation its WSDL does not declare
/// (sent with HTTP 500).
pub fn unknown_operation_fault(operation: &str) -> String {
    fault_envelope("Server", &format!("Procedure '{operation}' not present"))
}

/// `DomainInfoResponseObject` for `domainInfo`.
fn response_type(operation: &str) -> String {
    let mut chars = operation.chars();
    let mut name: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    name.extend(chars);
    name.push_str("ResponseObject");
    name
}

/// The answer envelope: `inner` (the operation's own elements) then the return fields.
pub fn response(
    operation: &str,
    inner: &str,
    code: i64,
    message: &str,
    client_trid: &str,
    server_trid: &str,
) -> String {
    let mut out = String::with_capacity(inner.len() + 900);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\" xmlns:ns1=\"{NAMESPACE}\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         SOAP-ENV:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><SOAP-ENV:Body>\
         <ns1:{operation}Response><return xsi:type=\"ns1:{}\">{inner}\
         <returnCode xsi:type=\"xsd:int\">{code}</returnCode>\
         <returnSubCode xsi:type=\"xsd:int\">0</returnSubCode>{}{}{}\
         </return></ns1:{operation}Response></SOAP-ENV:Body></SOAP-ENV:Envelope>",
        response_type(operation),
        string("returnMessage", message),
        string("clientTRID", client_trid),
        string("serverTRID", server_trid),
    );
    out
}

/// `<name xsi:type="xsd:string">text</name>`.
pub fn string(name: &str, text: &str) -> String {
    format!("<{name} xsi:type=\"xsd:string\">{}</{name}>", escape(text))
}

/// A nillable string: `xsi:nil` when empty.
pub fn nillable(name: &str, text: &str) -> String {
    if text.is_empty() {
        format!("<{name} xsi:nil=\"true\"/>")
    } else {
        string(name, text)
    }
}

/// A `tns:ArrayOfString`.
pub fn strings(name: &str, items: &[String]) -> String {
    let mut out = format!("<{name} xsi:type=\"ns1:ArrayOfString\">");
    for item in items {
        out.push_str(&string("item", item));
    }
    let _ = write!(out, "</{name}>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_reads_back_with_the_client_parser() {
        let xml = response(
            "domainInfo",
            &string("x", "a<b"),
            1000,
            "ok & fine",
            "c-1",
            "s-1",
        );
        let tree = parse(&xml).unwrap();
        let body = body_element(&tree).unwrap();
        assert_eq!(body.name, "domainInfoResponse");
        let ret = body.child("return").unwrap();
        assert_eq!(ret.text_of("x"), Some("a<b"));
        assert_eq!(ret.text_of("returnCode"), Some("1000"));
        assert_eq!(ret.text_of("returnMessage"), Some("ok & fine"));
        assert_eq!(ret.text_of("serverTRID"), Some("s-1"));
        assert!(xml.contains("xsi:type=\"ns1:DomainInfoResponseObject\""));
    }

    #[test]
    fn only_wsdl_operations_are_known() {
        assert!(in_wsdl("domainInfo"));
        assert!(in_wsdl("domainCreate"));
        assert!(!in_wsdl("domainFly"));
        let tree = parse(&unknown_operation_fault("domainFly")).unwrap();
        let fault = domwatch_smartnic::xml::Fault::from_body(body_element(&tree).unwrap()).unwrap();
        assert_eq!(fault.code, "Server");
        assert_eq!(fault.message, "Procedure 'domainFly' not present");
    }

    #[test]
    fn soap_action_must_name_the_body_operation_when_given() {
        let body = b"<e:Envelope xmlns:e=\"x\"><e:Body><n:domainInfo xmlns:n=\"y\"><domainInfoRequest/></n:domainInfo></e:Body></e:Envelope>";
        let ok = read_request(
            body,
            Some("\"http://soap.domain-bestellsystem.de/soap/1.1/#domainInfo\""),
        )
        .unwrap();
        assert_eq!(ok.operation, "domainInfo");
        assert_eq!(ok.part_name, "domainInfoRequest");
        assert!(read_request(body, Some("\"\"")).is_ok());
        assert!(read_request(body, None).is_ok());
        let wrong = read_request(
            body,
            Some("http://soap.domain-bestellsystem.de/soap/1.1/#domainDelete"),
        )
        .unwrap_err();
        assert!(wrong.contains("does not match"), "{wrong}");
        let garbage = read_request(b"not xml <", None).unwrap_err();
        assert!(garbage.contains("Client"), "{garbage}");
    }
}
