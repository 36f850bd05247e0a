//! The operations domwatch sends, each with the WSDL message part its request object is
//! sent as, and pure builders for their request fields. Keeping the builders free of I/O
//! lets the WSDL conformance test check every field the client can write.

use crate::dates::{format_start_date, StartDateFormat};
use crate::xml::{Node, Value};
use chrono::NaiveDate;
use domwatch_core::model::ContactHandles;
use domwatch_core::ports::ContactDetails;
use domwatch_core::DomainName;

/// Whether an operation changes something. Only reads are retried: repeating a write
/// whose answer was lost could place an order twice.
pub use domwatch_core::retry::Access as Kind;

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
        crate::xml::request_type(self.name)
    }

    /// The request envelope of this operation with `fields`, in order.
    pub fn envelope(&self, fields: &[(&str, Value)]) -> String {
        crate::xml::envelope(self.name, self.part, fields)
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

/// The partial contact update: only the roles given, every other element left out.
/// **Never sent by the client** (see [`domain_update`]): under a server that reads a missing
/// element as empty it would wipe nameservers, remarks and the other roles. Kept to show
/// that the sandbox's pessimistic reading catches such a write.
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

/// One DNSSEC record of a domain as domainInfo reports it: its elements and their text.
pub type DnssecItem = Vec<(String, String)>;

/// What a domain has now, as read by domainInfo just before a domainUpdate: everything
/// the update sends back unchanged, so the result is the same whether the server keeps
/// or empties an element that is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainSettings {
    pub contacts: ContactHandles,
    /// Host names, in order.
    pub nameservers: Vec<String>,
    /// `host ipv4 ipv6` for every nameserver with glue addresses.
    pub ns_entries: Vec<String>,
    pub remarks: String,
    /// `notifyEmail`; empty when none.
    pub notify: String,
    /// The domain's `extension`; `None` when domainInfo reported none.
    pub extension: Option<DomainExtension>,
}

/// The part of a domain's `extension` domainInfo reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainExtension {
    /// `ownerCWPP`, `adminCWPP`, `techCWPP`, `zoneCWPP` (WHOIS privacy per role).
    pub wpp: [Option<String>; 4],
    pub dnssec_keys: Vec<DnssecItem>,
    pub dnssec_ds: Vec<DnssecItem>,
}

/// The WPP flags of the extension, in [`DomainExtension::wpp`] order.
pub const WPP_FIELDS: [&str; 4] = ["ownerCWPP", "adminCWPP", "techCWPP", "zoneCWPP"];

/// `domainUpdate` setting the contact roles in `change` (`billing` is the zone contact)
/// and sending every other element the WSDL requires with its current value: the roles
/// not changed, `nameserver`, `nsEntry`, `remarks`, `quoting`, `notify` and `extension`.
/// `notify` defaults to the domain's own address. `quoting` is not reported by
/// domainInfo and is sent empty; the extension's trustee fields are not reported either
/// and are left out (an empty value would end a trustee service in both readings).
pub fn domain_update(
    name: &DomainName,
    current: &DomainSettings,
    change: &ContactHandles,
    notify: Option<&str>,
) -> Request {
    let role = |new: &Option<String>, now: &Option<String>| {
        new.as_deref().or(now.as_deref()).unwrap_or("").to_string()
    };
    let (c, now) = (change, &current.contacts);
    Request::new(op::DOMAIN_UPDATE)
        .domain(name)
        .text("ownerC", role(&c.owner, &now.owner))
        .text("adminC", role(&c.admin, &now.admin))
        .text("techC", role(&c.tech, &now.tech))
        .text("zoneC", role(&c.billing, &now.billing))
        .with("nameserver", Value::Strings(current.nameservers.clone()))
        .with("nsEntry", Value::Strings(current.ns_entries.clone()))
        .text("remarks", current.remarks.as_str())
        .text("quoting", "")
        .text("notify", notify.unwrap_or(&current.notify))
        .with(
            "extension",
            current
                .extension
                .as_ref()
                .map_or(Value::Nil, update_extension),
        )
}

/// The `DomainUpdateRequestExtension` that changes nothing: no status flags added or
/// removed, the WPP flags and DNSSEC data as they are.
fn update_extension(ext: &DomainExtension) -> Value {
    let dnssec = |array, item, items: &[DnssecItem]| Value::Structs {
        array,
        item,
        items: items
            .iter()
            .map(|i| i.iter().map(|(k, v)| (k.clone(), Value::text(v))).collect())
            .collect(),
    };
    let mut fields: Vec<(String, Value)> = vec![
        ("addStatusFlag".into(), Value::Strings(Vec::new())),
        ("removeStatusFlag".into(), Value::Strings(Vec::new())),
    ];
    for (field, flag) in WPP_FIELDS.iter().zip(&ext.wpp) {
        let value = flag.as_deref().map_or(Value::Nil, Value::text);
        fields.push((field.to_string(), value));
    }
    fields.extend([
        (
            "asiaCEDHandle".into(),
            Value::Struct("CEDHandleType", Vec::new()),
        ),
        (
            "dnsSecKeyData".into(),
            dnssec(
                "ArrayOfDnsseckeydataitem",
                "dnsSecKeyDataItem",
                &ext.dnssec_keys,
            ),
        ),
        (
            "dnsSecDSData".into(),
            dnssec(
                "ArrayOfDnssecdsdataitem",
                "dnsSecDSDataItem",
                &ext.dnssec_ds,
            ),
        ),
    ]);
    Value::Struct("DomainUpdateRequestExtension", fields)
}

/// The elements of `HandleCreateRequestExtension` / `HandleUpdateRequestExtension` (the
/// same set, all required).
pub const HANDLE_EXTENSION_FIELDS: [&str; 16] = [
    "vatId",
    "companyId",
    "personId",
    "trademarkId",
    "birthplace",
    "birthdate",
    "state",
    "atDiscloseVoice",
    "atDiscloseFax",
    "atDiscloseMail",
    "idAuthority",
    "companyUrl",
    "companyType",
    "personJobTitle",
    "dunsId",
    "xxxId",
];

/// A handle extension with every element: `value(field)`, empty when `None`.
fn handle_extension(ty: &'static str, value: impl Fn(&str) -> Option<String>) -> Value {
    Value::Struct(
        ty,
        HANDLE_EXTENSION_FIELDS
            .iter()
            .map(|f| (f.to_string(), Value::Text(value(f).unwrap_or_default())))
            .collect(),
    )
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
        .with(
            "extension",
            handle_extension("HandleCreateRequestExtension", |field| match field {
                "state" => contact.state.clone(),
                _ => None,
            }),
        )
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
/// name fields here: a new holder is a new handle). `current` is the handle's handleInfo
/// answer: `fax` and the extension are sent back as they are.
pub fn handle_update(handle: &str, contact: &ContactDetails, current: &Node) -> Request {
    let now = |field: &str| current.text_of(field).map(str::to_string);
    let ext = current.child("extension");
    Request::new(op::HANDLE_UPDATE)
        .text("handle", handle)
        .text("street", street_line(&contact.street))
        .text("pcode", contact.zip.as_str())
        .text("city", contact.city.as_str())
        .text("country", contact.country.to_ascii_uppercase())
        .text("phone", contact.phone.as_str())
        .text("fax", now("fax").unwrap_or_default())
        .text("email", contact.email.as_str())
        .text("company", contact.organization.as_deref().unwrap_or(""))
        .with(
            "extension",
            handle_extension("HandleUpdateRequestExtension", |field| {
                let now = ext.and_then(|e| e.text_of(field)).map(str::to_string);
                match field {
                    "state" => contact.state.clone().or(now),
                    _ => now,
                }
            }),
        )
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
