//! OpenTicket, GetTickets and AddTicketReply.
use crate::whmcs::call::{obj, ymd, Answer, Fail, Filter, Params};
use crate::whmcs::schema::DEPARTMENTS;
use crate::whmcs::store::Val;
use crate::whmcs::State;
use serde_json::{json, Map, Value};

/// Deterministic public ticket number and access code for a ticket id.
pub(super) fn ticket_numbers(id: i64) -> (String, String) {
    let tid = format!("{:06}", (id * 7_919 + 104_729) % 900_000 + 100_000);
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut n = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let code: String = (0..8)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect();
    (tid, code)
}

pub(super) async fn open_ticket(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let department = p.int("deptid").unwrap_or(0);
    if !DEPARTMENTS.iter().any(|(id, _)| *id == department) {
        return Err(Fail::new("Department ID not found"));
    }
    let subject = p
        .nonempty("subject")
        .ok_or_else(|| Fail::new("Subject is required"))?;
    let message = p
        .nonempty("message")
        .ok_or_else(|| Fail::new("Message is required"))?;
    let (client_id, name, email) = ticket_author(state, p).await?;
    let service = ticket_service(state, p, client_id).await?;
    let priority = p
        .get("priority")
        .filter(|prio| matches!(*prio, "Low" | "Medium" | "High"))
        .unwrap_or("Low");
    let today = Val::text(ymd(state.today));
    let written = state
        .store
        .execute(
            "INSERT INTO tbltickets (tid, did, userid, contactid, name, email, c, date, title, message, status, urgency, admin, lastreply, service) \
             VALUES ('', ?, ?, 0, ?, ?, '', ?, ?, ?, 'Open', ?, '', ?, ?)",
            &[Val::Int(department), Val::Int(client_id), Val::text(name), Val::text(email), today.clone(), Val::text(subject), Val::text(message), Val::text(priority), today, Val::text(service)],
        )
        .await?;
    let id = written.last_id;
    let (tid, code) = ticket_numbers(id);
    state
        .store
        .execute(
            "UPDATE tbltickets SET tid = ?, c = ? WHERE id = ?",
            &[
                Val::text(tid.clone()),
                Val::text(code.clone()),
                Val::Int(id),
            ],
        )
        .await?;
    Ok(obj(json!({ "id": id, "tid": tid, "c": code })))
}

/// Who opens the ticket: a client (by `clientid`), or a guest with `name` and `email`.
async fn ticket_author(state: &State, p: &Params) -> Result<(i64, String, String), Fail> {
    if let Some(client) = p.int("clientid").filter(|c| *c > 0) {
        let row = state
            .store
            .query_one("SELECT * FROM tblclients WHERE id = ?", &[Val::Int(client)])
            .await?
            .ok_or_else(|| Fail::new("Client ID Not Found"))?;
        Ok((
            client,
            format!("{} {}", row.text("firstname"), row.text("lastname")),
            row.text("email"),
        ))
    } else {
        match (p.nonempty("name"), p.nonempty("email")) {
            (Some(name), Some(email)) => Ok((0, name.to_string(), email.to_string())),
            _ => Err(Fail::new(
                "Name and email address are required if not a client",
            )),
        }
    }
}

/// The ticket's related service (`D<domain id>`), a domain that must be the client's.
async fn ticket_service(state: &State, p: &Params, client_id: i64) -> Result<String, Fail> {
    if let Some(domain_id) = p.int("domainid").filter(|d| *d > 0) {
        // The domain must belong to the ticket's client.
        let owned = state
            .store
            .count(
                "SELECT COUNT(*) AS n FROM tbldomains WHERE id = ? AND userid = ?",
                &[Val::Int(domain_id), Val::Int(client_id)],
            )
            .await?;
        if owned == 0 {
            return Err(Fail::new("Domain ID Not Found"));
        }
        return Ok(format!("D{domain_id}"));
    }
    Ok(String::new())
}

pub(super) async fn get_tickets(state: &State, p: &Params) -> Answer {
    let (start, num) = p.paging();
    let mut filter = Filter::default();
    if let Some(id) = p.nonempty("deptid") {
        filter.add("did = ?", [Val::text(id)]);
    }
    if let Some(id) = p.nonempty("clientid") {
        filter.add("userid = ?", [Val::text(id)]);
    }
    if let Some(email) = p.nonempty("email") {
        filter.add("email = ?", [Val::text(email)]);
    }
    match p.nonempty("status") {
        Some("All Active Tickets") => filter.add("status <> 'Closed'", []),
        Some("Awaiting Reply") => filter.add("status IN ('Open', 'Customer-Reply')", []),
        Some("My Flagged Tickets") => filter.add("1 = 0", []),
        Some(status) => filter.add("status = ?", [Val::text(status)]),
        None => {}
    }
    if let Some(subject) = p.nonempty("subject") {
        filter.add("title LIKE ?", [Val::text(format!("%{subject}%"))]);
    }
    let (total, rows) = filter
        .page(
            &state.store,
            "*",
            "tbltickets",
            "lastreply DESC, id DESC",
            start,
            num,
        )
        .await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|t| {
            json!({
                "id": t.int("id"),
                "tid": t.text("tid"),
                "deptid": t.int("did"),
                "userid": t.int("userid"),
                "name": t.text("name"),
                "email": t.text("email"),
                "cc": "",
                "c": t.text("c"),
                "date": format!("{} 00:00:00", t.date("date")),
                "subject": t.text("title"),
                "status": t.text("status"),
                "priority": t.text("urgency"),
                "admin": t.text("admin"),
                "attachment": "",
                "lastreply": format!("{} 00:00:00", t.date("lastreply")),
                "flag": 0,
                "service": t.text("service"),
            })
        })
        .collect();
    Ok(obj(json!({
        "totalresults": total,
        "startnumber": start,
        "numreturned": list.len(),
        "tickets": if list.is_empty() { json!("") } else { json!({ "ticket": list }) },
    })))
}

pub(super) async fn add_ticket_reply(state: &State, p: &Params) -> Answer {
    let _guard = state.write_lock.lock().await;
    let id = p.int("ticketid").unwrap_or(0);
    let ticket = state
        .store
        .query_one("SELECT * FROM tbltickets WHERE id = ?", &[Val::Int(id)])
        .await?
        .ok_or_else(|| Fail::new("Ticket ID Not Found"))?;
    let message = p
        .nonempty("message")
        .ok_or_else(|| Fail::new("Message is required"))?;
    let admin = p.nonempty("adminusername").unwrap_or("");
    let client = p.int("clientid").unwrap_or(0);
    let status = match p.nonempty("status") {
        Some(status) => status.to_string(),
        None if !admin.is_empty() => "Answered".into(),
        None => "Customer-Reply".into(),
    };
    let today = Val::text(ymd(state.today));
    state
        .store
        .transaction(&[
            (
                "INSERT INTO tblticketreplies (tid, userid, admin, date, message) VALUES (?, ?, ?, ?, ?)".into(),
                vec![Val::Int(ticket.int("id")), Val::Int(client), Val::text(admin), today.clone(), Val::text(message)],
            ),
            (
                "UPDATE tbltickets SET status = ?, lastreply = ? WHERE id = ?".into(),
                vec![Val::text(status), today, Val::Int(id)],
            ),
        ])
        .await?;
    Ok(Map::new())
}
