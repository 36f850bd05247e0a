//! The invoice walk while the invoice list changes under it, against a local GetInvoices
//! / GetInvoice server whose list the test edits between calls: invoices paid or created
//! while paging leave the answer correct, more leaving (deleted) than the pages overlap is
//! an error, and a page that fails mid-walk is an error, never a partial answer.

mod common;

use chrono::{Duration, NaiveDate};
use common::{body, read_request};
use domwatch_whmcs::port::{renewal_invoices_per_domain, BillingPort};
use domwatch_whmcs::renewal::{InvoiceFor, RenewalWindow};
use domwatch_whmcs::{WhmcsClient, WhmcsConfig};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

const PAGE: u32 = 10;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn window() -> RenewalWindow {
    RenewalWindow::days_before(today(), 30)
}

#[derive(Clone)]
struct Inv {
    id: u64,
    client: u64,
    status: &'static str,
    date: NaiveDate,
    domain: u64,
}

/// What the test does to the list before the `n`-th GetInvoices call (from 1) with the
/// given parameters is answered; `Err` answers HTTP 500 instead.
type Hook = Box<dyn Fn(usize, &HashMap<String, String>, &mut Vec<Inv>) -> Result<(), ()> + Send>;

struct Server {
    invoices: Vec<Inv>,
    list_calls: usize,
    hook: Hook,
    /// Ignores `orderby`/`order`, as WHMCS before 7.7 does.
    oldest_first: bool,
}

fn entry(i: &Inv) -> Value {
    json!({"id": i.id, "userid": i.client, "status": i.status, "date": i.date.to_string(),
        "duedate": i.date.to_string(), "datepaid": "0000-00-00 00:00:00", "subtotal": "10.00",
        "credit": "0.00", "tax": "0.00", "tax2": "0.00", "total": "10.00", "currencycode": "EUR"})
}

fn answer(server: &mut Server, form: &HashMap<String, String>) -> Result<Value, ()> {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    match get("action").as_str() {
        "GetInvoices" => {
            server.list_calls += 1;
            (server.hook)(server.list_calls, form, &mut server.invoices)?;
            let mut list: Vec<&Inv> = server
                .invoices
                .iter()
                .filter(|i| {
                    form.get("userid")
                        .is_none_or(|u| *u == i.client.to_string())
                })
                .filter(|i| form.get("status").is_none_or(|s| s == i.status))
                .collect();
            list.sort_by_key(|i| i.id);
            if get("order") == "desc" && !server.oldest_first {
                list.reverse();
            }
            let start: usize = get("limitstart").parse().unwrap_or(0);
            let num: usize = get("limitnum").parse().unwrap_or(25);
            let page: Vec<Value> = list
                .iter()
                .skip(start)
                .take(num)
                .map(|i| entry(i))
                .collect();
            Ok(
                json!({"result": "success", "totalresults": list.len(), "startnumber": start,
                "numreturned": page.len(), "invoices": {"invoice": page}}),
            )
        }
        "GetInvoice" => {
            let id: u64 = get("invoiceid").parse().unwrap();
            let i = server.invoices.iter().find(|i| i.id == id).ok_or(())?;
            let mut body = entry(i);
            body["invoiceid"] = json!(i.id);
            body["balance"] = json!("10.00");
            body["items"] = json!({"item": [{"id": i.id * 10, "type": "Domain", "relid": i.domain,
                "description": "Domain Renewal", "amount": "10.00", "taxed": 0}]});
            body["result"] = json!("success");
            Ok(body)
        }
        other => panic!("unexpected action {other}"),
    }
}

async fn read_form(socket: &mut TcpStream) -> HashMap<String, String> {
    let request = read_request(socket).await;
    serde_urlencoded::from_bytes(body(&request)).unwrap_or_default()
}

/// Serves `invoices`; returns the client and the number of GetInvoices calls so far.
async fn serve(invoices: Vec<Inv>, hook: Hook) -> (WhmcsClient, Arc<Mutex<Server>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Arc::new(Mutex::new(Server {
        invoices,
        list_calls: 0,
        hook,
        oldest_first: false,
    }));
    let shared = server.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let shared = shared.clone();
            tokio::spawn(async move {
                let form = read_form(&mut socket).await;
                let answered = answer(&mut shared.lock().unwrap(), &form);
                let (status, body) = match answered {
                    Ok(body) => (200, body.to_string()),
                    Err(()) => (500, "Internal Server Error".to_string()),
                };
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    let mut config = WhmcsConfig::new(&format!("http://{addr}/"), "id", "secret").unwrap();
    config.page_size = PAGE;
    config.read_retries = 0;
    (WhmcsClient::new(config).unwrap(), server)
}

/// 40 invoices before the window (unpaid and paid) and 30 inside it (every other one
/// unpaid), 70 domains of 7 clients, one invoice each; ids grow with the date as WHMCS's do.
fn invoices() -> Vec<Inv> {
    (1..=70)
        .map(|n| Inv {
            id: 1000 + n,
            client: n % 7 + 1,
            status: if n % 2 == 0 { "Unpaid" } else { "Paid" },
            date: if n <= 40 {
                today() - Duration::days(200 - n as i64)
            } else {
                today() - Duration::days(70 - n as i64)
            },
            domain: n,
        })
        .collect()
}

fn wanted() -> Vec<InvoiceFor> {
    invoices()
        .iter()
        .map(|i| InvoiceFor {
            domain_id: i.domain,
            client_id: i.client,
        })
        .collect()
}

/// A hook that runs `change` once, before the `at`-th GetInvoices call.
fn once_at(at: usize, change: impl Fn(&mut Vec<Inv>) + Send + 'static) -> Hook {
    Box::new(move |n, _, list| {
        if n == at {
            change(list);
        }
        Ok(())
    })
}

fn pay_newest_unpaid(list: &mut [Inv]) {
    if let Some(inv) = list
        .iter_mut()
        .filter(|i| i.status == "Unpaid")
        .max_by_key(|i| i.id)
    {
        inv.status = "Paid";
    }
}

#[tokio::test]
async fn an_undisturbed_walk_answers_like_asking_per_domain() {
    let (client, server) = serve(invoices(), Box::new(|_, _, _| Ok(()))).await;
    let walked = client.renewal_invoices(&wanted(), window()).await.unwrap();
    let walk_calls = server.lock().unwrap().list_calls;
    let per_domain = renewal_invoices_per_domain(&client, &wanted(), window())
        .await
        .unwrap();
    assert_eq!(walked, per_domain);
    // The 30 dated inside the window, paid or not; none of the 40 before it.
    assert_eq!(walked.len(), 30, "{:?}", walked.keys());
    assert!(walked.keys().all(|d| *d > 40));
    assert!(walk_calls < 8, "{walk_calls} list pages");
}

#[tokio::test]
async fn an_invoice_paid_while_paging_leaves_the_answer_correct() {
    // The newest unpaid invoice, listed on the first page, is paid before the third
    // GetInvoices call: the list has no status filter, so nothing moves.
    let hook = once_at(3, |list| pay_newest_unpaid(list));
    let (client, _server) = serve(invoices(), hook).await;
    let walked = client.renewal_invoices(&wanted(), window()).await.unwrap();
    let per_domain = renewal_invoices_per_domain(&client, &wanted(), window())
        .await
        .unwrap();
    assert_eq!(walked, per_domain);
    assert_eq!(walked.len(), 30);
    assert_eq!(
        walked[&70].status, "Paid",
        "its lines were read after the payment"
    );
}

#[tokio::test]
async fn invoices_created_while_paging_are_read_once() {
    let hook = once_at(3, |list| {
        for n in 0..5 {
            list.push(Inv {
                id: 5000 + n,
                client: 1,
                status: "Unpaid",
                date: today(),
                domain: 900 + n,
            });
        }
    });
    let (client, _server) = serve(invoices(), hook).await;
    let walked = client.renewal_invoices(&wanted(), window()).await.unwrap();
    let per_domain = renewal_invoices_per_domain(&client, &wanted(), window())
        .await
        .unwrap();
    assert_eq!(walked, per_domain);
}

#[tokio::test]
async fn more_invoices_leaving_than_the_pages_overlap_is_an_error() {
    // Before every later page, three invoices the walk already read leave the list
    // (deleted): entries slide past the seam, so the walk is read again and then fails,
    // naming the action.
    let hook: Hook = Box::new(|_, form, list| {
        if form.get("limitstart").is_some_and(|s| s != "0") {
            let mut ids: Vec<u64> = list.iter().map(|i| i.id).collect();
            ids.sort_unstable_by(|a, b| b.cmp(a));
            ids.truncate(3);
            list.retain(|i| !ids.contains(&i.id));
        }
        Ok(())
    });
    let (client, _server) = serve(invoices(), hook).await;
    let error = client
        .renewal_invoices(&wanted(), window())
        .await
        .expect_err("skipped entries are an error");
    let text = error.to_string();
    assert!(
        text.contains("GetInvoices") && text.contains("changed faster than they could be read"),
        "{text}"
    );
}

#[tokio::test]
async fn a_page_failing_mid_walk_is_an_error() {
    let hook: Hook = Box::new(|n, _, _| if n == 4 { Err(()) } else { Ok(()) });
    let (client, server) = serve(invoices(), hook).await;
    let error = client
        .renewal_invoices(&wanted(), window())
        .await
        .expect_err("a failed page is an error");
    assert!(server.lock().unwrap().list_calls >= 4);
    assert!(
        error.to_string().contains("GetInvoices` answered HTTP 500"),
        "{error}"
    );
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_whmcs_that_ignores_the_order_is_refused_not_walked_wrongly() {
    let (client, server) = serve(invoices(), Box::new(|_, _, _| Ok(()))).await;
    server.lock().unwrap().oldest_first = true;
    let error = client
        .renewal_invoices(&wanted(), window())
        .await
        .expect_err("an oldest-first answer cannot be walked newest first");
    assert!(error.to_string().contains("update WHMCS"), "{error}");
}
