//! SendAdminEmail, LogActivity and the to-do list (GetToDoItems, UpdateToDoItem).
use crate::whmcs::call::valid_date;
use crate::whmcs::call::{obj, ymd, Answer, Fail, Filter, Params};
use crate::whmcs::schema::ADMINS;
use crate::whmcs::store::Val;
use crate::whmcs::AdminEmail;
use crate::whmcs::State;
use serde_json::{json, Map, Value};

/// Admin-type e-mail templates the sandbox knows by name.
pub(super) const ADMIN_TEMPLATES: &[&str] = &[
    "Domain Renewal Failed",
    "Domain Registration Failed",
    "Domain Transfer Failed",
];

pub(super) async fn send_admin_email(state: &State, p: &Params) -> Answer {
    let (subject, message) = if let Some(template) = p.nonempty("messagename") {
        if !ADMIN_TEMPLATES.contains(&template) {
            return Err(Fail::new("Email Template not found"));
        }
        (template.to_string(), String::new())
    } else {
        match (p.nonempty("customsubject"), p.nonempty("custommessage")) {
            (Some(subject), Some(message)) => (subject.to_string(), message.to_string()),
            _ => return Err(Fail::new("Email Template not found")),
        }
    };
    let kind = match p.get("type") {
        Some(kind @ ("system" | "account" | "support")) => kind.to_string(),
        _ => "system".to_string(),
    };
    state
        .admin_emails
        .lock()
        .expect("admin e-mail log")
        .push(AdminEmail {
            subject,
            message,
            kind,
        });
    Ok(Map::new())
}

pub(super) async fn log_activity(state: &State, p: &Params) -> Answer {
    let description = p
        .nonempty("description")
        .ok_or_else(|| Fail::new("Description is required"))?;
    let client = p.int("clientid").or_else(|| p.int("userid")).unwrap_or(0);
    state
        .store
        .execute(
            "INSERT INTO tblactivitylog (date, description, user, userid) VALUES (?, ?, 'API', ?)",
            &[
                Val::text(ymd(state.today)),
                Val::text(description),
                Val::Int(client),
            ],
        )
        .await?;
    Ok(Map::new())
}

pub(super) fn strip_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

pub(super) async fn get_todo_items(state: &State, p: &Params) -> Answer {
    let (start, num) = p.paging();
    let mut filter = Filter::default();
    match p.nonempty("status") {
        Some("Incomplete") => filter.add("status <> 'Completed'", []),
        Some(status) => filter.add("status = ?", [Val::text(status)]),
        None => {}
    }
    let (total, rows) = filter
        .page(
            &state.store,
            "*",
            "tbltodolist",
            "duedate DESC, id DESC",
            start,
            num,
        )
        .await?;
    let mut out = obj(json!({
        "totalresults": total,
        "startnumber": start,
        "numreturned": rows.len(),
    }));
    // WHMCS omits `items` entirely when there are none.
    if !rows.is_empty() {
        let items: Vec<Value> = rows
            .iter()
            .map(|t| {
                json!({
                    "id": t.int("id"),
                    "date": t.date("date"),
                    "title": t.text("title"),
                    "description": strip_html(&t.text("description")),
                    "admin": t.int("admin"),
                    "status": t.text("status"),
                    "duedate": t.date("duedate"),
                })
            })
            .collect();
        out.insert("items".into(), json!({ "item": items }));
    }
    Ok(out)
}

pub(super) async fn update_todo_item(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let Some(item) = p.int("itemid").filter(|i| *i > 0) else {
        return Err(Fail::new("TODO Item ID Not Found"));
    };
    let admin = p.int("adminid").unwrap_or(0);
    if !ADMINS.iter().any(|(id, _)| *id == admin) {
        return Err(Fail::new("Admin ID Not Found"));
    }
    let mut sets: Vec<(&str, Val)> = vec![("admin", Val::Int(admin))];
    for field in ["status", "title", "description"] {
        if let Some(value) = p.nonempty(field) {
            sets.push((field, Val::text(value)));
        }
    }
    for field in ["date", "duedate"] {
        if let Some(value) = p.nonempty(field) {
            sets.push((field, Val::text(valid_date(value)?)));
        }
    }
    let assignments: Vec<String> = sets.iter().map(|(c, _)| format!("{c} = ?")).collect();
    let mut params: Vec<Val> = sets.into_iter().map(|(_, v)| v).collect();
    params.push(Val::Int(item));
    // Like WHMCS, an id that does not exist updates nothing and still answers success.
    state
        .store
        .execute(
            &format!(
                "UPDATE tbltodolist SET {} WHERE id = ?",
                assignments.join(", ")
            ),
            &params,
        )
        .await?;
    Ok(obj(json!({ "itemid": item })))
}

/// WhmcsDetails (8.0+): the version, as `whmcs.version` and `whmcs.canonicalversion`.
pub(super) fn whmcs_details(state: &State) -> Answer {
    let major: u32 = state
        .version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 8 {
        return Err(Fail::new("Command Not Found"));
    }
    Ok(obj(json!({
        "whmcs": {
            "version": state.version,
            "canonicalversion": format!("{}-release.1", state.version),
        }
    })))
}

/// GetConfigurationValue: `Version` and the few settings domwatch might read; any other
/// setting answers an empty value.
pub(super) fn get_configuration_value(state: &State, p: &Params) -> Answer {
    let setting = p
        .nonempty("setting")
        .ok_or_else(|| Fail::new("Parameter setting is required"))?;
    let value = match setting {
        "Version" => state.version.clone(),
        "PremiumDomains" => "1".into(),
        _ => String::new(),
    };
    Ok(obj(json!({ "setting": setting, "value": value })))
}
