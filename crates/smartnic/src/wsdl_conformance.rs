//! Every operation the client sends, every request field it writes and every answer field
//! it reads exists in the WSDL (`wsdl/smartnic-soap.wsdl`, read here with quick-xml).

use crate::dates::StartDateFormat;
use crate::operations::{
    self as request, op, DomainExtension, DomainSettings, Kind, Request, LIST_FIELDS,
};
use crate::xml::{body_element, parse, Node, Value};
use domwatch_core::model::ContactHandles;
use domwatch_core::ports::ContactDetails;
use domwatch_core::DomainName;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::collections::BTreeMap;

const WSDL: &str = include_str!("../wsdl/smartnic-soap.wsdl");

/// What the WSDL declares.
#[derive(Default)]
struct Wsdl {
    /// complexType → its elements (name, type without prefix).
    types: BTreeMap<String, Vec<(String, String)>>,
    /// message → its parts (name, type without prefix).
    messages: BTreeMap<String, Vec<(String, String)>>,
    /// portType operation → input message (without prefix).
    inputs: BTreeMap<String, String>,
    /// binding operation → soapAction.
    actions: BTreeMap<String, String>,
    /// binding operation → `use` of its input body.
    body_use: BTreeMap<String, String>,
    /// complexType → its elements that are not nillable (the ones a write must send).
    required: BTreeMap<String, Vec<String>>,
}

fn attr(start: &BytesStart<'_>, name: &str) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name.as_bytes())
        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
}

fn unprefixed(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_string()
}

fn read_wsdl() -> Wsdl {
    let mut wsdl = Wsdl::default();
    let mut reader = Reader::from_str(WSDL);
    let mut path: Vec<String> = Vec::new();
    let mut complex_type: Option<String> = None;
    let mut message: Option<String> = None;
    let mut operation: Option<String> = None;
    loop {
        let event = reader.read_event().expect("the WSDL is well-formed XML");
        let (start, empty) = match &event {
            Event::Start(s) => (Some(s.clone()), false),
            Event::Empty(s) => (Some(s.clone()), true),
            Event::End(_) => {
                let closed = path.pop().unwrap_or_default();
                match closed.as_str() {
                    "complexType" => complex_type = None,
                    "message" => message = None,
                    "operation" => operation = None,
                    _ => {}
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let start = start.expect("start or empty");
        let local = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        let parent = path.last().map(String::as_str).unwrap_or("");
        let in_binding = path.iter().any(|p| p == "binding");
        let in_port_type = path.iter().any(|p| p == "portType");
        match local.as_str() {
            "complexType" => {
                complex_type = attr(&start, "name");
                if let Some(name) = &complex_type {
                    wsdl.types.entry(name.clone()).or_default();
                }
            }
            "element" => {
                if let (Some(ty), Some(name)) = (&complex_type, attr(&start, "name")) {
                    let declared = attr(&start, "type")
                        .map(|t| unprefixed(&t))
                        .unwrap_or_default();
                    if attr(&start, "nillable").as_deref() != Some("true")
                        && attr(&start, "minOccurs").as_deref() != Some("0")
                    {
                        wsdl.required
                            .entry(ty.clone())
                            .or_default()
                            .push(name.clone());
                    }
                    wsdl.types
                        .entry(ty.clone())
                        .or_default()
                        .push((name, declared));
                }
            }
            "message" => {
                message = attr(&start, "name");
                if let Some(name) = &message {
                    wsdl.messages.entry(name.clone()).or_default();
                }
            }
            "part" => {
                if let (Some(m), Some(name)) = (&message, attr(&start, "name")) {
                    let declared = attr(&start, "type")
                        .map(|t| unprefixed(&t))
                        .unwrap_or_default();
                    wsdl.messages
                        .entry(m.clone())
                        .or_default()
                        .push((name, declared));
                }
            }
            "operation" if parent == "portType" || parent == "binding" => {
                operation = attr(&start, "name");
            }
            "operation" if in_binding => {
                if let (Some(o), Some(action)) = (&operation, attr(&start, "soapAction")) {
                    wsdl.actions.insert(o.clone(), action);
                }
            }
            "input" if in_port_type => {
                if let (Some(o), Some(m)) = (&operation, attr(&start, "message")) {
                    wsdl.inputs.insert(o.clone(), unprefixed(&m));
                }
            }
            "body" if in_binding && parent == "input" => {
                if let (Some(o), Some(u)) = (&operation, attr(&start, "use")) {
                    wsdl.body_use.insert(o.clone(), u);
                }
            }
            _ => {}
        }
        if !empty {
            path.push(local);
        }
    }
    wsdl
}

impl Wsdl {
    fn declared(&self, ty: &str, element: &str) -> Option<&str> {
        self.types
            .get(ty)?
            .iter()
            .find(|(name, _)| name == element)
            .map(|(_, t)| t.as_str())
    }

    /// Checks `node` (declared as `ty`) and everything below it against the schema.
    fn check_node(&self, context: &str, ty: &str, node: &Node) {
        if ty.is_empty() || !self.types.contains_key(ty) {
            assert!(
                node.children.is_empty(),
                "{context}: <{}> is a simple {ty} but has children",
                node.name
            );
            return;
        }
        for child in &node.children {
            let declared = self.declared(ty, &child.name).unwrap_or_else(|| {
                panic!(
                    "{context}: <{}> is not an element of {ty} in the WSDL ({:?})",
                    child.name, self.types[ty]
                )
            });
            self.check_node(&format!("{context}/{}", child.name), declared, child);
        }
    }
}

fn name(text: &str) -> DomainName {
    DomainName::parse(text).unwrap()
}

fn full_contact() -> ContactDetails {
    ContactDetails {
        first_name: "Anna".into(),
        last_name: "Beispiel".into(),
        organization: Some("Beispiel GmbH".into()),
        street: vec!["Hauptstr. 1".into()],
        city: "Berlin".into(),
        state: Some("BE".into()),
        zip: "10115".into(),
        country: "de".into(),
        phone: "+49.301234567".into(),
        email: "anna@example.net".into(),
    }
}

/// A domain with every setting domainInfo can report.
fn settings() -> DomainSettings {
    let record = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    DomainSettings {
        contacts: ContactHandles {
            owner: Some("O".into()),
            admin: Some("A".into()),
            tech: Some("T".into()),
            billing: Some("Z".into()),
        },
        nameservers: vec!["ns1.example.de".into(), "ns2.example.net".into()],
        ns_entries: vec!["ns1.example.de 192.0.2.1".into()],
        remarks: "Kunde 4711".into(),
        notify: "n@example.net".into(),
        extension: Some(DomainExtension {
            wpp: [Some("1".into()), None, None, None],
            dnssec_keys: vec![record(&[
                ("keyFlag", "257"),
                ("digestType", "2"),
                ("algorithm", "13"),
                ("key", "AwEAAb"),
            ])],
            dnssec_ds: vec![record(&[
                ("keyTag", "12345"),
                ("algorithm", "13"),
                ("digestType", "2"),
                ("digest", "ABCDEF"),
            ])],
        }),
    }
}

/// Elements the WSDL requires that a write may leave out, with the reason.
const LEFT_OUT_ON_PURPOSE: [(&str, &str, &str); 4] = [
    // domainInfo does not report a domain's trustee services: an empty value would end
    // them whichever way the server reads it; left out, a friendly server keeps them.
    (
        "DomainUpdateRequestExtension",
        "adminCTrustee",
        "unreadable",
    ),
    (
        "DomainUpdateRequestExtension",
        "ownerCTrustee",
        "unreadable",
    ),
    ("DomainUpdateRequestExtension", "techCTrustee", "unreadable"),
    ("DomainUpdateRequestExtension", "zoneCTrustee", "unreadable"),
];

/// Every request the client can build, with every optional field present.
fn every_request() -> Vec<Request> {
    let idn = name("müller.de");
    let day = chrono::NaiveDate::from_ymd_opt(2027, 1, 1);
    let all_roles = ContactHandles {
        owner: Some("A".into()),
        admin: Some("B".into()),
        tech: Some("C".into()),
        billing: Some("D".into()),
    };
    vec![
        request::domain_info(&idn),
        request::domain_list(10, 20),
        request::domain_list_extended(10, 20, &[("tld".into(), "de".into())]),
        request::domain_list_extended(10, 20, &[]),
        request::domain_delete(&idn, day, "n@example.net", StartDateFormat::UnixTimestamp),
        request::domain_revoke(&idn),
        request::domain_transit(&idn, day, StartDateFormat::IsoDate),
        request::domain_restore(&idn),
        request::domain_update_contacts(&idn, &all_roles, Some("n@example.net")),
        request::domain_update(&idn, &settings(), &all_roles, Some("n@example.net")),
        request::handle_create(&full_contact(), true),
        request::handle_info("AB1234567@HANDLES.DE"),
        request::handle_list(10, 0),
        request::handle_update("AB1234567@HANDLES.DE", &full_contact(), &Node::default()),
        request::price_domain_list(),
    ]
}

#[test]
fn every_operation_is_an_rpc_encoded_wsdl_operation_with_its_part_and_action() {
    let wsdl = read_wsdl();
    assert!(wsdl.types.len() > 100, "the WSDL types were read");
    for o in op::ALL {
        let input = wsdl
            .inputs
            .get(o.name)
            .unwrap_or_else(|| panic!("{} is not an operation of the WSDL", o.name));
        assert_eq!(input, &format!("{}In", o.name));
        let parts = &wsdl.messages[input];
        assert_eq!(
            parts,
            &vec![(o.part.to_string(), o.request_type())],
            "{}: message part",
            o.name
        );
        assert_eq!(
            format!("\"{}\"", wsdl.actions[o.name]),
            o.soap_action(),
            "{}: SOAPAction",
            o.name
        );
        assert_eq!(wsdl.body_use[o.name], "encoded", "{}", o.name);
        let response = &wsdl.messages[&format!("{}Out", o.name)];
        assert_eq!(response[0].0, "return", "{}: the answer's part", o.name);
    }
}

#[test]
fn every_request_field_the_client_writes_is_declared() {
    let wsdl = read_wsdl();
    let mut covered: Vec<&str> = Vec::new();
    for request in every_request() {
        let mut fields = request.fields.clone();
        fields.push(("clientTRID", Value::text("t")));
        fields.push(("forReseller", Value::text("sub")));
        let xml = request.operation.envelope(&fields);
        let tree = parse(&xml).expect("the envelope parses");
        let element = body_element(&tree).unwrap();
        assert_eq!(element.name, request.operation.name);
        assert_eq!(element.children.len(), 1, "one part");
        let part = &element.children[0];
        assert_eq!(part.name, request.operation.part);
        wsdl.check_node(
            request.operation.name,
            &request.operation.request_type(),
            part,
        );
        covered.push(request.operation.name);
    }
    for o in op::ALL {
        assert!(
            covered.contains(&o.name),
            "{} has no request checked",
            o.name
        );
    }
}

impl Wsdl {
    /// Every required element of `ty` is in `node`, recursively; returns what is missing.
    fn missing(&self, context: &str, ty: &str, node: &Node, out: &mut Vec<String>) {
        for element in self.required.get(ty).into_iter().flatten() {
            let on_purpose = LEFT_OUT_ON_PURPOSE
                .iter()
                .any(|(t, e, _)| *t == ty && e == element);
            if node.child(element).is_none() && !on_purpose {
                out.push(format!("{context}/{element}"));
            }
        }
        for child in node.children.iter().filter(|c| !c.nil) {
            if let Some(declared) = self.declared(ty, &child.name) {
                let path = format!("{context}/{}", child.name);
                self.missing(&path, declared, child, out);
            }
        }
    }
}

/// The pessimistic reading of a write: whatever it leaves out may be emptied. So every
/// write sends every element the WSDL requires (the partial domainUpdate aside, which the
/// client never sends; see `domain_update_contacts`).
#[test]
fn every_write_sends_every_element_the_wsdl_requires() {
    let wsdl = read_wsdl();
    let mut checked = Vec::new();
    for request in every_request() {
        let partial_update =
            request.operation == op::DOMAIN_UPDATE && request.field("nameserver").is_none();
        if request.operation.kind != Kind::Write || partial_update {
            continue;
        }
        let mut fields = request.fields.clone();
        fields.push(("clientTRID", Value::text("t")));
        let xml = request.operation.envelope(&fields);
        let tree = parse(&xml).unwrap();
        let part = &body_element(&tree).unwrap().children[0];
        let mut missing = Vec::new();
        wsdl.missing(
            request.operation.name,
            &request.operation.request_type(),
            part,
            &mut missing,
        );
        assert!(missing.is_empty(), "required but not sent: {missing:?}");
        checked.push(request.operation.name);
    }
    for o in op::ALL.iter().filter(|o| o.kind == Kind::Write) {
        assert!(checked.contains(&o.name), "{} was not checked", o.name);
    }
    // The partial update the client used to send would not pass.
    let partial = request::domain_update_contacts(
        &name("example.de"),
        &ContactHandles {
            admin: Some("A".into()),
            ..ContactHandles::default()
        },
        None,
    );
    let mut fields = partial.fields.clone();
    fields.push(("clientTRID", Value::text("t")));
    let tree = parse(&op::DOMAIN_UPDATE.envelope(&fields)).unwrap();
    let mut missing = Vec::new();
    wsdl.missing(
        "domainUpdate",
        "DomainUpdateRequestObject",
        &body_element(&tree).unwrap().children[0],
        &mut missing,
    );
    for element in [
        "remarks",
        "nameserver",
        "nsEntry",
        "ownerC",
        "quoting",
        "notify",
    ] {
        assert!(
            missing.contains(&format!("domainUpdate/{element}")),
            "{element}: {missing:?}"
        );
    }
}

#[test]
fn every_answer_field_the_client_reads_is_declared() {
    let wsdl = read_wsdl();
    // `DomainInfoDomains` fields are read with the list's mapping: `LIST_FIELDS` below.
    let reads: [(&str, &[&str]); 9] = [
        ("DomainInfoResponseObject", &["domainsList"]),
        ("DomainListResponseObject", &["domainsList"]),
        ("DomainListDomains", &["domainName"]),
        ("DomainListExtendedResponseObject", &["domainInfo"]),
        ("DomainInfo", &["domainInfoItem"]),
        ("DomainInfoItem", &["key", "value"]),
        (
            "HandleInfoResponseObject",
            &[
                "firstname",
                "lastname",
                "company",
                "street",
                "pcode",
                "city",
                "country",
                "phone",
                "email",
            ],
        ),
        (
            "HandleListHandles",
            &["handleId", "firstname", "lastname", "company"],
        ),
        (
            "PriceDomainList",
            &["tld", "sld", "activated", "annually", "annually_currency"],
        ),
    ];
    for (ty, fields) in reads {
        for f in fields {
            assert!(wsdl.declared(ty, f).is_some(), "{ty} has no {f}");
        }
    }
    for f in LIST_FIELDS {
        assert!(
            wsdl.declared("DomainInfoDomains", f).is_some(),
            "list field {f} is not a domainInfo field"
        );
    }
    assert_eq!(
        wsdl.declared("HandleCreateResponseObject", "handleId"),
        Some("string")
    );
    for o in op::ALL {
        let response_type = &wsdl.messages[&format!("{}Out", o.name)][0].1;
        for f in [
            "returnCode",
            "returnSubCode",
            "returnMessage",
            "clientTRID",
            "serverTRID",
        ] {
            assert!(
                wsdl.declared(response_type, f).is_some(),
                "{response_type} has no {f}"
            );
        }
    }
}

#[test]
fn an_undeclared_field_is_caught() {
    let wsdl = read_wsdl();
    let xml = op::DOMAIN_DELETE.envelope(&[
        ("domainName", Value::text("a.de")),
        ("deleteDate", Value::text("x")),
    ]);
    let tree = parse(&xml).unwrap();
    let part = &body_element(&tree).unwrap().children[0];
    let caught = std::panic::catch_unwind(|| {
        wsdl.check_node("domainDelete", "DomainDeleteRequestObject", part)
    });
    assert!(caught.is_err(), "deleteDate is not a WSDL field");
}
