//! Every operation the client sends, and every field it writes, exists in the WSDL.

use std::collections::BTreeMap;

const WSDL: &str = include_str!("../wsdl/smartnic-soap.wsdl");

/// Element names per complexType of the WSDL (which must be well-formed XML).
fn types() -> BTreeMap<String, Vec<String>> {
    crate::xml::parse(WSDL).expect("the WSDL parses");
    let mut out = BTreeMap::new();
    // The element tree keeps no attributes, so names are read from the declarations.
    let mut current: Option<String> = None;
    for line in WSDL.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("<xsd:complexType name=\"") {
            current = rest.split('"').next().map(str::to_string);
            out.insert(current.clone().unwrap(), Vec::new());
        } else if let (Some(ty), Some(rest)) = (&current, line.strip_prefix("<xsd:element name=\""))
        {
            if let Some(name) = rest.split('"').next() {
                out.get_mut(ty).unwrap().push(name.to_string());
            }
        } else if line.starts_with("</xsd:complexType") {
            current = None;
        }
    }
    out
}

/// Builds the request the client would send and checks its fields against the type.
fn check(op: &str, fields: &[&str]) {
    let types = types();
    let mut type_name = op.to_string();
    type_name[0..1].make_ascii_uppercase();
    let declared = types
        .get(&format!("{type_name}RequestObject"))
        .unwrap_or_else(|| panic!("{op} has no request type in the WSDL"));
    for f in fields {
        assert!(
            declared.iter().any(|d| d == f),
            "{op}: `{f}` is not in the WSDL ({declared:?})"
        );
    }
    assert!(
        WSDL.contains(&format!(
            "soapAction=\"http://soap.domain-bestellsystem.de/soap/1.1/#{op}\""
        )),
        "{op} has no SOAPAction"
    );
}

#[test]
fn operations_and_fields_exist_in_the_wsdl() {
    let name = ["domainName", "domainNameAce", "clientTRID", "forReseller"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        name.iter().copied().chain(extra.iter().copied()).collect()
    };
    check("domainInfo", &with(&[]));
    check("domainDelete", &with(&["notify", "startDate"]));
    check("domainRevoke", &with(&["action"]));
    check("domainTransit", &with(&["transitType", "startDate"]));
    check("domainRestore", &with(&[]));
    check(
        "domainUpdate",
        &with(&["ownerC", "adminC", "techC", "zoneC", "notify"]),
    );
    check(
        "domainListExtended",
        &[
            "level",
            "limit",
            "offset",
            "filter",
            "fields",
            "clientTRID",
            "forReseller",
        ],
    );
    check("domainList", &["level", "limit", "offset", "clientTRID"]);
    let contact = [
        "firstname",
        "lastname",
        "company",
        "street",
        "pcode",
        "city",
        "country",
        "phone",
        "fax",
        "email",
        "clientTRID",
    ];
    let mut create: Vec<&str> = contact.to_vec();
    create.push("forceNew");
    check("handleCreate", &create);
    check("handleInfo", &["handle", "clientTRID"]);
    check("handleList", &["level", "limit", "offset", "clientTRID"]);
    let update: Vec<&str> = ["handle"]
        .into_iter()
        .chain(
            contact
                .into_iter()
                .filter(|f| !matches!(*f, "firstname" | "lastname")),
        )
        .collect();
    check("handleUpdate", &update);
    // The list fields the client reads are DomainInfoDomains fields.
    let info = &types()["DomainInfoDomains"];
    for f in crate::LIST_FIELDS {
        assert!(
            info.iter().any(|d| d == f),
            "list field {f} is not a domainInfo field"
        );
    }
}
