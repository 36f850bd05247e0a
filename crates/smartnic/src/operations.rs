//! The operations domwatch sends, each with the WSDL message part its request object is
//! sent as, and pure builders for their request fields. Keeping the builders free of I/O
//! lets the WSDL conformance test check every field the client can write.

use crate::dates::{format_start_date, StartDateFormat};
use crate::xml::Value;
use chrono::NaiveDate;
use domwatch_core::model::ContactHandles;
use domwatch_core::ports::ContactDetails;
use domwatch_core::DomainName;

/// Whether an operation changes something. Only reads are retried: repeating a write
/// whose answer was lost could place an order twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
}

/// One SOAP operation of the WSDL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The operation (and body element) name, e.g. `domainInfo`.
    pub name: &'static str,
    /// The name of the `{op}In` message's part: the request object's element.
    pub part: &'static str,
    pub kind: Kind,
}

impl Operation {
    /// `DomainInfoRequestObject` for `domainInfo`: every request type of the WSDL is named so.
    pub fn request_type(&self) -> String {
        let mut name = String::with_capacity(self.name.len() + 13);
        let mut chars = self.name.chars();
        if let Some(first) = chars.next() {
            name.extend(first.to_uppercase());
        }
        name.extend(chars);
        name.push_str("RequestObject");
        name
    }

    /// The `SOAPAction` header value (quoted, as SOAP 1.1 wants it).
    pub fn soap_action(&self) -> String {
        format!("\"{}#{}\"", crate::xml::NAMESPACE, self.name)
    }
}

/// The operations domwatch uses (part names as in the WSDL's `message` definitions).
pub mod op {
    use super::{Kind, Operation};

    const fn read(name: &'static str, part: &'static str) -> Operation {
        Operation {
            name,
            part,
            kind: Kind::Read,
        }
    }
    const fn write(name: &'static str, part: &'static str) -> Operation {
        Operation {
            name,
            part,
            kind: Kind::Write,
        }
    }

    pub const DOMAIN_INFO: Operation = read("domainInfo", "domainInfoRequest");
    pub const DOMAIN_LIST: Operation = read("domainList", "domainListRequest");
    pub const DOMAIN_LIST_EXTENDED: Operation =
        read("domainListExtended", "domainListExtendedRequest");
    pub const DOMAIN_DELETE: Operation = write("domainDelete", "domainDeleteRequest");
    pub const DOMAIN_REVOKE: Operation = write("domainRevoke", "domainRevokeRequest");
    pub const DOMAIN_TRANSIT: Operation = write("domainTransit", "domainTransitRequest");
    pub const DOMAIN_RESTORE: Operation = write("domainRestore", "domainRestoreRequest");
    pub const DOMAIN_UPDATE: Operation = write("domainUpdate", "domainUpdateRequest");
    pub const HANDLE_CREATE: Operation = write("handleCreate", "handleCreateRequest");
    pub const HANDLE_INFO: Operation = read("handleInfo", "handleInfoRequest");
    pub const HANDLE_LIST: Operation = read("handleList", "handleListRequest");
    pub const HANDLE_UPDATE: Operation = write("handleUpdate", "handleUpdateRequest");
    pub const PRICE_DOMAIN_LIST: Operation = read("priceDomainList", "priceDomainListRequest");

    /// Every operation above.
    pub const ALL: [Operation; 13] = [
        DOMAIN_INFO,
        DOMAIN_LIST,
        DOMAIN_LIST_EXTENDED,
        DOMAIN_DELETE,
        DOMAIN_REVOKE,
        DOMAIN_TRANSIT,
        DOMAIN_RESTORE,
        DOMAIN_UPDATE,
        HANDLE_CREATE,
        HANDLE_INFO,
        HANDLE_LIST,
        HANDLE_UPDATE,
        PRICE_DOMAIN_LIST,
    ];

    /// The operation called `name`, if domwatch uses it.
    pub fn by_name(name: &str) -> Option<Operation> {
        ALL.into_iter().find(|o| o.name == name)
    }
}

/// An operation with its fields, before `clientTRID` and `forReseller` are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub operation: Operation,
    pub fields: Vec<(&'static str, Value)>,
}

impl Request {
    fn new(operation: Operation) -> Self {
        Request {
            operation,
            fields: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, value: Value) -> Self {
        self.fields.push((name, value));
        self
    }

    fn text(self, name: &'static str, value: impl Into<String>) -> Self {
        self.with(name, Value::Text(value.into()))
    }

    /// `domainName` in Unicode; `domainNameAce` (the A-label form) only for IDNs, so a
    /// plain name is sent exactly once.
    fn domain(self, name: &DomainName) -> Self {
        let request = self.text("domainName", name.unicode());
        if name.is_idn() {
            request.text("domainNameAce", name.ascii())
        } else {
            request
        }
    }

    /// The value of field `name` as text (tests and logs).
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

/// Which domains the list operations return: the account's own (not its sub-resellers').
pub const LIST_LEVEL: &str = "own";

/// The fields `domainListExtended` is asked for: the exporter's set that domwatch maps,
/// plus `paidUntilDate` (a `DomainInfoDomains` field the exporter does not ask for).
pub const LIST_FIELDS: [&str; 12] = [
    "domainName",
    "domainStatus",
    "status",
    "regType",
    "ownerC",
    "adminC",
    "techC",
    "zoneC",
    "systemInDate",
    "orderDate",
    "paidUntilDate",
    "toBeDeletedDate",
];

pub fn domain_info(name: &DomainName) -> Request {
    Request::new(op::DOMAIN_INFO).domain(name)
}

pub fn domain_list(limit: u32, offset: u64) -> Request {
    Request::new(op::DOMAIN_LIST)
        .text("level", LIST_LEVEL)
        .text("limit", limit.to_string())
        .text("offset", offset.to_string())
}

/// One page of the bulk list. With no filters, one empty filter item is sent: the shape
/// the Smart-NIC exporter runs against the live service.
pub fn domain_list_extended(limit: u32, offset: u64, filters: &[(String, String)]) -> Request {
    let filters = if filters.is_empty() {
        vec![(String::new(), String::new())]
    } else {
        filters.to_vec()
    };
    Request::new(op::DOMAIN_LIST_EXTENDED)
        .text("level", LIST_LEVEL)
        .text("limit", limit.to_string())
        .text("offset", offset.to_string())
        .with("filter", Value::Filters(filters))
        .with(
            "fields",
            Value::Strings(LIST_FIELDS.iter().map(|f| f.to_string()).collect()),
        )
}

/// The cancellation ("Kündigung"): deletion at `start` (the registrar picks the date when
/// `None`). `notify` is required by the WSDL; an empty one means no address.
pub fn domain_delete(
    name: &DomainName,
    start: Option<NaiveDate>,
    notify: &str,
    format: StartDateFormat,
) -> Request {
    let request = Request::new(op::DOMAIN_DELETE)
        .domain(name)
        .text("notify", notify);
    match start {
        Some(date) => request.text("startDate", format_start_date(date, format)),
        None => request,
    }
}

/// Withdraws the pending order (here: the cancellation). `action` is left out: its values
/// are undocumented.
pub fn domain_revoke(name: &DomainName) -> Request {
    Request::new(op::DOMAIN_REVOKE).domain(name)
}

/// Hands a .de domain to DENIC TRANSIT at `start`. `transitType` is left out (undocumented).
pub fn domain_transit(
    name: &DomainName,
    start: Option<NaiveDate>,
    format: StartDateFormat,
) -> Request {
    let request = Request::new(op::DOMAIN_TRANSIT).domain(name);
    match start {
        Some(date) => request.text("startDate", format_start_date(date, format)),
        None => request,
    }
}

pub fn domain_restore(name: &DomainName) -> Request {
    Request::new(op::DOMAIN_RESTORE).domain(name)
}

/// Sets the given contact roles only (`billing` is the zone contact); every other field
/// of the domain (nameservers, remarks …) is left out, so it stays as it is.
pub fn domain_update_contacts(
    name: &DomainName,
    contacts: &ContactHandles,
    notify: Option<&str>,
) -> Request {
    let mut request = Request::new(op::DOMAIN_UPDATE).domain(name);
    for (field, handle) in [
        ("ownerC", &contacts.owner),
        ("adminC", &contacts.admin),
        ("techC", &contacts.tech),
        ("zoneC", &contacts.billing),
    ] {
        if let Some(handle) = handle {
            request = request.text(field, handle.as_str());
        }
    }
    match notify {
        Some(notify) => request.text("notify", notify),
        None => request,
    }
}

/// A new handle. Smart-NIC has one street line, so the lines are joined with ", ".
/// `forceNew = false` lets Smart-NIC hand back an identical handle it already has.
pub fn handle_create(contact: &ContactDetails, force_new: bool) -> Request {
    Request::new(op::HANDLE_CREATE)
        .text("firstname", contact.first_name.as_str())
        .text("lastname", contact.last_name.as_str())
        .text("company", contact.organization.as_deref().unwrap_or(""))
        .text("street", street_line(&contact.street))
        .text("pcode", contact.zip.as_str())
        .text("city", contact.city.as_str())
        .text("country", contact.country.to_ascii_uppercase())
        .text("phone", contact.phone.as_str())
        .text("fax", "")
        .text("email", contact.email.as_str())
        .with("forceNew", Value::Bool(force_new))
}

pub fn handle_info(handle: &str) -> Request {
    Request::new(op::HANDLE_INFO).text("handle", handle)
}

pub fn handle_list(limit: u32, offset: u64) -> Request {
    Request::new(op::HANDLE_LIST)
        .text("level", LIST_LEVEL)
        .text("limit", limit.to_string())
        .text("offset", offset.to_string())
}

/// Updates a handle's address and reachability; names cannot change (the WSDL has no
/// name fields here: a new holder is a new handle).
pub fn handle_update(handle: &str, contact: &ContactDetails) -> Request {
    Request::new(op::HANDLE_UPDATE)
        .text("handle", handle)
        .text("street", street_line(&contact.street))
        .text("pcode", contact.zip.as_str())
        .text("city", contact.city.as_str())
        .text("country", contact.country.to_ascii_uppercase())
        .text("phone", contact.phone.as_str())
        .text("fax", "")
        .text("email", contact.email.as_str())
        .text("company", contact.organization.as_deref().unwrap_or(""))
}

pub fn price_domain_list() -> Request {
    Request::new(op::PRICE_DOMAIN_LIST)
}

/// Smart-NIC's single street line.
pub fn street_line(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> DomainName {
        DomainName::parse(text).unwrap()
    }

    #[test]
    fn request_types_and_actions_follow_the_operation_name() {
        assert_eq!(op::DOMAIN_INFO.request_type(), "DomainInfoRequestObject");
        assert_eq!(
            op::DOMAIN_LIST_EXTENDED.soap_action(),
            "\"http://soap.domain-bestellsystem.de/soap/1.1/#domainListExtended\""
        );
        assert_eq!(op::by_name("handleInfo"), Some(op::HANDLE_INFO));
        assert_eq!(op::by_name("domainCreate"), None);
        let reads: Vec<&str> = op::ALL
            .iter()
            .filter(|o| o.kind == Kind::Read)
            .map(|o| o.name)
            .collect();
        assert_eq!(
            reads,
            [
                "domainInfo",
                "domainList",
                "domainListExtended",
                "handleInfo",
                "handleList",
                "priceDomainList"
            ]
        );
    }

    #[test]
    fn idns_carry_both_forms_plain_names_one() {
        let idn = domain_info(&name("müller.de"));
        assert_eq!(idn.field("domainName"), Some(&Value::text("müller.de")));
        assert_eq!(
            idn.field("domainNameAce"),
            Some(&Value::text("xn--mller-kva.de"))
        );
        let plain = domain_info(&name("example.de"));
        assert_eq!(plain.field("domainNameAce"), None);
    }

    #[test]
    fn a_contact_update_sends_only_the_roles_given() {
        let request = domain_update_contacts(
            &name("example.de"),
            &ContactHandles {
                admin: Some("AB1234567@HANDLES.DE".into()),
                billing: Some("ZZ7654321@HANDLES.DE".into()),
                ..ContactHandles::default()
            },
            None,
        );
        let names: Vec<&str> = request.fields.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["domainName", "adminC", "zoneC"]);
    }

    #[test]
    fn a_deletion_without_a_date_leaves_the_date_to_the_registrar() {
        let request = domain_delete(&name("example.de"), None, "", StartDateFormat::default());
        assert_eq!(request.field("startDate"), None);
        assert_eq!(request.field("notify"), Some(&Value::text("")));
    }

    #[test]
    fn street_lines_become_one() {
        assert_eq!(
            street_line(&[" Hauptstr. 1 ".into(), String::new(), "Hinterhaus".into()]),
            "Hauptstr. 1, Hinterhaus"
        );
    }
}
