//! AddContact, StatusContact and QueryContactList.

use super::*;

/// The attributes `AddContact` accepts.
const CONTACT_ATTRIBUTES: &[&str] = &[
    "FIRSTNAME",
    "MIDDLENAME",
    "LASTNAME",
    "ORGANIZATION",
    "STREET",
    "STREET#",
    "CITY",
    "STATE",
    "ZIP",
    "COUNTRY",
    "PHONE",
    "FAX",
    "EMAIL",
    "NEW",
    "PREVERIFY",
    "AUTODELETE",
    "VALIDATION",
    "CHECKONLY",
    "TITLE",
    "X-*",
];

pub(super) fn add_contact(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(state, cmd, CONTACT_ATTRIBUTES)?;
    let details = contact_details(state, cmd)?;
    let (contact, created) = state.add_contact(details, flag(cmd, "NEW"));
    Ok(contact_reply(state, &contact, created))
}

/// The contact a command describes; every required field must be there and well formed.
fn contact_details(state: &State, cmd: &Command) -> Result<Contact, Reply> {
    let field = |key: &str| {
        cmd.get(key)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let street = cmd
        .get("STREET")
        .or_else(|| cmd.get("STREET0"))
        .unwrap_or_default()
        .trim()
        .to_string();
    let details = Contact {
        handle: String::new(),
        first_name: field("FIRSTNAME"),
        last_name: field("LASTNAME"),
        organization: field("ORGANIZATION"),
        street,
        city: field("CITY"),
        zip: field("ZIP"),
        country: field("COUNTRY").to_ascii_uppercase(),
        phone: field("PHONE"),
        email: field("EMAIL"),
        created: state.now(),
    };
    for (key, value) in [
        ("FIRSTNAME", &details.first_name),
        ("LASTNAME", &details.last_name),
        ("STREET", &details.street),
        ("CITY", &details.city),
        ("ZIP", &details.zip),
        ("COUNTRY", &details.country),
        ("PHONE", &details.phone),
        ("EMAIL", &details.email),
    ] {
        if value.is_empty() {
            return Err(missing(key));
        }
    }
    if details.country.len() != 2 {
        return Err(bad_syntax("COUNTRY"));
    }
    if !details.email.contains('@') {
        return Err(bad_syntax("EMAIL"));
    }
    Ok(details)
}

/// "Contact created" (or found, for a duplicate without `NEW=1`) in the dialect's words.
fn contact_reply(state: &State, contact: &Contact, created: bool) -> Reply {
    let mut r = Reply::ok();
    match state.dialect {
        Dialect::Cnr => {
            let handle_number = contact
                .handle
                .bytes()
                .fold(0u64, |n, b| n.wrapping_mul(31).wrapping_add(b as u64));
            r.push(
                "auth",
                crate::registrar::state::token(state.portfolio.seed, 11, handle_number, 10),
            );
            r.push("contact", &contact.handle);
            r.push(
                "created date",
                contact.created.format("%Y-%m-%d %H:%M:%S").to_string(),
            );
            r.push(
                "roid",
                format!("{}_CONTACT-KEYSYS", contact.handle.trim_start_matches("P-")),
            );
            r.push("validated", 1);
            r.push("verified", 1);
        }
        _ => {
            r.push("contact", &contact.handle);
            r.push("new", created as u8);
            r.push("status", "ACTIVE");
        }
    }
    r
}

pub(super) fn status_contact(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(state, cmd, &["CONTACT", "AUTH"])?;
    let handle = cmd.get("CONTACT").ok_or_else(|| missing("CONTACT"))?;
    let contact = state
        .contact(handle.trim())
        .ok_or_else(|| not_found(state))?;
    let created = contact.created.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut r = Reply::ok();
    match state.dialect {
        Dialect::Cnr => {
            r.push("contact", &contact.handle);
            r.push("first name", &contact.first_name);
            r.push("last name", &contact.last_name);
            r.push("organization", &contact.organization);
            r.push("street", &contact.street);
            r.push("city", &contact.city);
            r.push("zip", &contact.zip);
            r.push("country", &contact.country);
            r.push("phone", &contact.phone);
            r.push("email", &contact.email);
            r.push("created date", &created);
            r.push("updated date", &created);
            r.push("validated", 1);
            r.push("verified", 1);
        }
        _ => {
            r.push("id", &contact.handle);
            r.push("class", "CONTACT");
            r.push("firstname", &contact.first_name);
            r.push("lastname", &contact.last_name);
            r.push(
                "name",
                format!("{} {}", contact.first_name, contact.last_name),
            );
            r.push("organization", &contact.organization);
            r.push("street", &contact.street);
            r.push("city", &contact.city);
            r.push("zip", &contact.zip);
            r.push("country", &contact.country);
            r.push("phone", &contact.phone);
            r.push("email", &contact.email);
            r.push("status", "ACTIVE");
            r.push("createddate", &created);
            r.push("updateddate", &created);
        }
    }
    Ok(r)
}

pub(super) fn query_contact_list(state: &mut State, cmd: &Command) -> Outcome {
    check_attributes(state, cmd, &["FIRST", "LIMIT", "WIDE", "ORDER", "ORDERBY"])?;
    let (first, limit) = paging(cmd)?;
    let wide = flag(cmd, "WIDE") && state.dialect != Dialect::Cnr;
    let total = state.contact_total();
    let page: Vec<Contact> = (first..total.min(first.saturating_add(limit)))
        .filter_map(|p| state.contact_at(p))
        .collect();
    let mut r = Reply::ok();
    push_columns(state, &mut r, &["contact"]);
    r.declare("contact");
    for c in &page {
        r.push("contact", &c.handle);
        if wide {
            r.push("contactfirstname", &c.first_name);
            r.push("contactlastname", &c.last_name);
            r.push("contactorganization", &c.organization);
            r.push("contactemail", &c.email);
            r.push("contactcity", &c.city);
            r.push("contactcountry", &c.country);
        }
    }
    push_paging(&mut r, first, page.len(), limit, total);
    Ok(r)
}
