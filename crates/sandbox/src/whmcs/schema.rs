//! WHMCS tables (the columns domwatch and the sandbox use, with WHMCS's names and types)
//! and the bulk seeding from the [`Portfolio`].

use super::store::{sql_literal, Dialect, Store, Val};
use crate::portfolio::{exchange_rates, Portfolio, SeedInvoice, BILLING_MARGIN, CURRENCIES};
use crate::price_list::{autoreg_module, catalogue, CatalogueTld};
use anyhow::Result;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Statuses of the `tbldomains.status` ENUM.
pub const DOMAIN_STATUSES: &[&str] = &[
    "Pending",
    "Pending Registration",
    "Pending Transfer",
    "Active",
    "Grace",
    "Redemption",
    "Expired",
    "Cancelled",
    "Fraud",
    "Transferred Away",
];

/// Admin users the sandbox knows (UpdateToDoItem checks `adminid` against them).
pub const ADMINS: &[(i64, &str)] = &[(1, "admin"), (2, "domwatch")];
/// Payment gateways configured in the sandbox (`tblpaymentgateways`): module name and
/// the display name WHMCS shows, in display order.
pub const GATEWAYS: &[(&str, &str)] = &[
    ("banktransfer", "Bank Transfer"),
    ("paypal", "PayPal"),
    ("mailin", "Mail In Payment"),
];
/// To-do items a WHMCS install has lying about: (title, description, status, due in days).
pub const SEED_TODOS: &[(&str, &str, &str, i64)] = &[
    (
        "Manual Domain Renewal",
        "Renew example-manual.de manually at the registrar",
        "Pending",
        3,
    ),
    (
        "Review fraud order #1042",
        "<p>Order flagged by MaxMind: check the <b>client</b> details</p>",
        "In Progress",
        1,
    ),
    (
        "Update SSL certificate",
        "The billing site certificate expires soon",
        "Completed",
        -10,
    ),
];
/// Support departments (OpenTicket checks `deptid`).
pub const DEPARTMENTS: &[(i64, &str)] = &[(1, "Support"), (2, "Domains"), (3, "Billing")];

const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS tblclients ({id}, uuid VARCHAR(64) NOT NULL DEFAULT '', \
     firstname TEXT NOT NULL, lastname TEXT NOT NULL, companyname TEXT NOT NULL, email TEXT NOT NULL, \
     address1 TEXT NOT NULL, city TEXT NOT NULL, postcode TEXT NOT NULL, country TEXT NOT NULL, \
     phonenumber TEXT NOT NULL, currency INT NOT NULL DEFAULT 1, groupid INT NOT NULL DEFAULT 0, \
     language TEXT NOT NULL, status VARCHAR(16) NOT NULL DEFAULT 'Active', datecreated {date}){tail}",
    "CREATE TABLE IF NOT EXISTS tblcurrencies ({id}, code VARCHAR(3) NOT NULL, prefix TEXT NOT NULL, \
     suffix TEXT NOT NULL, format INT NOT NULL DEFAULT 1, rate {rate} NOT NULL, `default` INT NOT NULL DEFAULT 0){tail}",
    "CREATE TABLE IF NOT EXISTS tbldomainpricing ({id}, extension VARCHAR(64) NOT NULL, \
     dnsmanagement INT NOT NULL DEFAULT 0, emailforwarding INT NOT NULL DEFAULT 0, \
     idprotection INT NOT NULL DEFAULT 0, eppcode INT NOT NULL DEFAULT 0, autoreg TEXT NOT NULL, \
     `order` INT NOT NULL DEFAULT 0, `group` VARCHAR(16) NOT NULL DEFAULT '', \
     grace_period INT NOT NULL DEFAULT -1, grace_period_fee {money} NOT NULL DEFAULT '0.00', \
     redemption_grace_period INT NOT NULL DEFAULT -1, redemption_grace_period_fee {money} NOT NULL DEFAULT '-1.00'){tail}",
    "CREATE TABLE IF NOT EXISTS tblpricing ({id}, type VARCHAR(32) NOT NULL, currency INT NOT NULL, \
     relid INT NOT NULL, msetupfee {money} NOT NULL, qsetupfee {money} NOT NULL, ssetupfee {money} NOT NULL, \
     asetupfee {money} NOT NULL, bsetupfee {money} NOT NULL, tsetupfee {money} NOT NULL DEFAULT '0.00', \
     monthly {money} NOT NULL, quarterly {money} NOT NULL, semiannually {money} NOT NULL, \
     annually {money} NOT NULL, biennially {money} NOT NULL, triennially {money} NOT NULL DEFAULT '0.00'){tail}",
    "CREATE TABLE IF NOT EXISTS tbldomains ({id}, userid INT NOT NULL, orderid INT NOT NULL DEFAULT 0, \
     type {regtype}, registrationdate {date}, domain TEXT NOT NULL, \
     firstpaymentamount {money} NOT NULL DEFAULT '0.00', recurringamount {money} NOT NULL DEFAULT '0.00', \
     registrar TEXT NOT NULL, registrationperiod INT NOT NULL DEFAULT 1, expirydate {date}, \
     subscriptionid TEXT NOT NULL, promoid INT NOT NULL DEFAULT 0, status {status}, nextduedate {date}, \
     nextinvoicedate {date}, additionalnotes TEXT NOT NULL, paymentmethod TEXT NOT NULL, \
     dnsmanagement INT NOT NULL DEFAULT 0, emailforwarding INT NOT NULL DEFAULT 0, \
     idprotection INT NOT NULL DEFAULT 0, is_premium {tinyint} NULL, donotrenew INT NOT NULL DEFAULT 0, \
     reminders TEXT NOT NULL, synced INT NOT NULL DEFAULT 0, created_at {ts}, updated_at {ts}){tail}",
    "CREATE TABLE IF NOT EXISTS tbldomains_extra ({id}, domain_id INT NOT NULL, name VARCHAR(32) NOT NULL, \
     value VARCHAR(255) NOT NULL, created_at {ts}, updated_at {ts}, UNIQUE (domain_id, name)){tail}",
    "CREATE TABLE IF NOT EXISTS tbltodolist ({id}, date {date}, title TEXT NOT NULL, description TEXT NOT NULL, \
     admin INT NOT NULL DEFAULT 0, status TEXT NOT NULL, duedate {date}){tail}",
    "CREATE TABLE IF NOT EXISTS tblinvoices ({id}, userid INT NOT NULL, invoicenum TEXT NOT NULL, \
     date {date}, duedate {date}, datepaid {date}, subtotal {money} NOT NULL, credit {money} NOT NULL DEFAULT '0.00', \
     tax {money} NOT NULL DEFAULT '0.00', tax2 {money} NOT NULL DEFAULT '0.00', total {money} NOT NULL, \
     taxrate {money} NOT NULL DEFAULT '0.00', taxrate2 {money} NOT NULL DEFAULT '0.00', status TEXT NOT NULL, \
     paymentmethod TEXT NOT NULL, notes TEXT NOT NULL){tail}",
    "CREATE TABLE IF NOT EXISTS tblinvoiceitems ({id}, invoiceid INT NOT NULL, userid INT NOT NULL, \
     type VARCHAR(30) NOT NULL, relid INT NOT NULL, description TEXT NOT NULL, amount {money} NOT NULL, \
     taxed INT NOT NULL DEFAULT 0, duedate {date}, paymentmethod TEXT NOT NULL, notes TEXT NOT NULL){tail}",
    "CREATE TABLE IF NOT EXISTS tbltickets ({id}, tid VARCHAR(128) NOT NULL, did INT NOT NULL, userid INT NOT NULL, \
     contactid INT NOT NULL DEFAULT 0, name TEXT NOT NULL, email TEXT NOT NULL, c TEXT NOT NULL, date {date}, \
     title TEXT NOT NULL, message TEXT NOT NULL, status VARCHAR(64) NOT NULL, urgency TEXT NOT NULL, \
     admin TEXT NOT NULL, lastreply {date}, service TEXT NOT NULL){tail}",
    "CREATE TABLE IF NOT EXISTS tblticketreplies ({id}, tid INT NOT NULL, userid INT NOT NULL DEFAULT 0, \
     admin TEXT NOT NULL, date {date}, message TEXT NOT NULL){tail}",
    "CREATE TABLE IF NOT EXISTS tblticketdepartments ({id}, name TEXT NOT NULL){tail}",
    "CREATE TABLE IF NOT EXISTS tbladmins ({id}, username TEXT NOT NULL){tail}",
    "CREATE TABLE IF NOT EXISTS tblpaymentgateways ({id}, gateway VARCHAR(64) NOT NULL, \
     setting VARCHAR(64) NOT NULL, value TEXT NOT NULL, `order` INT NOT NULL DEFAULT 0){tail}",
    "CREATE TABLE IF NOT EXISTS tblactivitylog ({id}, date {date}, description TEXT NOT NULL, \
     user TEXT NOT NULL, userid INT NOT NULL DEFAULT 0){tail}",
];

fn ddl(dialect: Dialect, template: &str) -> String {
    let status_enum = format!(
        "ENUM({}) NOT NULL DEFAULT 'Pending'",
        DOMAIN_STATUSES
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let (id, money, rate, date, ts, tinyint, regtype, status, tail) = match dialect {
        Dialect::MySql => (
            "id INT NOT NULL AUTO_INCREMENT PRIMARY KEY",
            "DECIMAL(10,2)",
            "DECIMAL(10,5)",
            "DATE NULL",
            "TIMESTAMP NULL DEFAULT NULL",
            "TINYINT(1)",
            "ENUM('Register','Transfer') NOT NULL DEFAULT 'Register'",
            status_enum.as_str(),
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
        ),
        // SQLite keeps amounts as text so they stay exact (no float affinity).
        Dialect::Sqlite => (
            "id INTEGER PRIMARY KEY AUTOINCREMENT",
            "TEXT",
            "TEXT",
            "TEXT NULL",
            "TEXT NULL",
            "INTEGER",
            "TEXT NOT NULL DEFAULT 'Register'",
            "TEXT NOT NULL DEFAULT 'Pending'",
            "",
        ),
    };
    template
        .replace("{id}", id)
        .replace("{money}", money)
        .replace("{rate}", rate)
        .replace("{date}", date)
        .replace("{ts}", ts)
        .replace("{tinyint}", tinyint)
        .replace("{regtype}", regtype)
        .replace("{status}", status)
        .replace("{tail}", tail)
}

fn indexes(dialect: Dialect) -> Vec<&'static str> {
    let domain = match dialect {
        Dialect::MySql => "CREATE INDEX IF NOT EXISTS tbldomains_domain ON tbldomains (domain(64))",
        Dialect::Sqlite => "CREATE INDEX IF NOT EXISTS tbldomains_domain ON tbldomains (domain)",
    };
    vec![
        domain,
        "CREATE INDEX IF NOT EXISTS tbldomains_userid ON tbldomains (userid)",
        "CREATE INDEX IF NOT EXISTS tblinvoices_userid ON tblinvoices (userid)",
        "CREATE INDEX IF NOT EXISTS tblinvoiceitems_invoiceid ON tblinvoiceitems (invoiceid)",
        "CREATE INDEX IF NOT EXISTS tblinvoiceitems_rel ON tblinvoiceitems (userid, type, relid)",
        "CREATE INDEX IF NOT EXISTS tbltodolist_duedate ON tbltodolist (duedate)",
    ]
}

/// Creates the WHMCS tables the sandbox and `domwatch_whmcs::db` use (idempotent).
pub async fn create_tables(store: &Store) -> Result<()> {
    let mut statements: Vec<String> = TABLES.iter().map(|t| ddl(store.dialect(), t)).collect();
    statements.extend(indexes(store.dialect()).into_iter().map(String::from));
    for sql in statements {
        store.execute(&sql, &[]).await?;
    }
    Ok(())
}

const ROWS_PER_INSERT: usize = 500;

/// Collects `(…)` value tuples and turns them into multi-row INSERT statements.
struct BulkInsert {
    head: String,
    rows: Vec<String>,
    statements: Vec<String>,
}

impl BulkInsert {
    fn new(table: &str, columns: &str) -> Self {
        Self {
            head: format!("INSERT INTO {table} ({columns}) VALUES "),
            rows: Vec::with_capacity(ROWS_PER_INSERT),
            statements: Vec::new(),
        }
    }

    fn push(&mut self, row: String) {
        self.rows.push(row);
        if self.rows.len() == ROWS_PER_INSERT {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.rows.is_empty() {
            let mut sql = self.head.clone();
            sql.push_str(&self.rows.join(","));
            self.statements.push(sql);
            self.rows.clear();
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.flush();
        self.statements
    }
}

fn date_lit(d: Option<NaiveDate>) -> String {
    d.map(|d| format!("'{}'", d.format("%Y-%m-%d")))
        .unwrap_or_else(|| "NULL".into())
}

fn money_lit(amount: Decimal) -> String {
    format!("'{:.2}'", amount.round_dp(2))
}

/// EUR -> currency rate of a sandbox WHMCS currency id.
pub fn rate_of_currency_id(currency_id: u64) -> Decimal {
    let code = CURRENCIES
        .iter()
        .find(|(id, ..)| *id == currency_id)
        .map(|(_, c, ..)| *c);
    exchange_rates()
        .into_iter()
        .find(|(_, to, _)| Some(*to) == code)
        .map(|(_, _, r)| r)
        .unwrap_or(Decimal::ONE)
}

/// WHMCS one-year price of a zone in a currency: registrar cost × margin × rate, as the
/// portfolio computes client amounts.
pub fn whmcs_price(cost_eur: Decimal, currency_id: u64) -> Decimal {
    (cost_eur * BILLING_MARGIN * rate_of_currency_id(currency_id)).round_dp(2)
}

/// Configures the payment gateways when none are (a sandbox table from before they
/// existed gets them too): per gateway its `name` (display name), `type` and `visible`.
pub async fn ensure_gateways(store: &Store) -> Result<()> {
    if store
        .count("SELECT COUNT(*) AS n FROM tblpaymentgateways", &[])
        .await?
        > 0
    {
        return Ok(());
    }
    let mut statements = Vec::new();
    for (order, (gateway, name)) in GATEWAYS.iter().enumerate() {
        for (setting, value) in [("name", *name), ("type", "Invoices"), ("visible", "on")] {
            statements.push((
                "INSERT INTO tblpaymentgateways (gateway, setting, value, `order`) VALUES (?, ?, ?, ?)"
                    .to_string(),
                vec![
                    Val::text(*gateway),
                    Val::text(setting),
                    Val::text(value),
                    Val::Int(order as i64 + 1),
                ],
            ));
        }
    }
    store.transaction(&statements).await
}

/// Adds [`SEED_TODOS`] (dated around `today`) when `tbltodolist` is empty.
pub async fn seed_todos(store: &Store, today: NaiveDate) -> Result<()> {
    if store
        .count("SELECT COUNT(*) AS n FROM tbltodolist", &[])
        .await?
        > 0
    {
        return Ok(());
    }
    let statements = SEED_TODOS
        .iter()
        .map(|(title, description, status, due_in)| {
            (
                "INSERT INTO tbltodolist (date, title, description, admin, status, duedate) VALUES (?, ?, ?, 1, ?, ?)"
                    .to_string(),
                vec![
                    Val::opt_date(Some(today - chrono::Duration::days(7))),
                    Val::text(*title),
                    Val::text(*description),
                    Val::text(*status),
                    Val::opt_date(Some(today + chrono::Duration::days(*due_in))),
                ],
            )
        })
        .collect::<Vec<_>>();
    store.transaction(&statements).await
}

/// WHMCS's ID protection add-on price per year in EUR (`tblpricing` domainaddons).
pub const ID_PROTECTION_PRICE: Decimal = rust_decimal_macros::dec!(3.50);

/// True when the tables already hold a seeded sandbox (reuse it instead of seeding twice).
pub async fn is_seeded(store: &Store) -> Result<bool> {
    Ok(store
        .count("SELECT COUNT(*) AS n FROM tblcurrencies", &[])
        .await?
        > 0)
}

/// Seeds clients, currencies, pricing, domains with premium data, and invoices from the
/// portfolio, in one transaction with multi-row inserts.
/// The `tbldomainpricing` and `tblpricing` inserts of a TLD catalogue (ids from 1).
fn catalogue_inserts(dialect: Dialect, tlds: &[CatalogueTld]) -> (BulkInsert, BulkInsert) {
    let lit = |s: &str| sql_literal(dialect, s);
    let mut pricing = BulkInsert::new(
        "tblpricing",
        "type, currency, relid, msetupfee, qsetupfee, ssetupfee, asetupfee, bsetupfee, tsetupfee, monthly, quarterly, semiannually, annually, biennially, triennially",
    );
    let mut domain_pricing = BulkInsert::new(
        "tbldomainpricing",
        "id, extension, dnsmanagement, emailforwarding, idprotection, eppcode, autoreg, `order`, `group`, redemption_grace_period, redemption_grace_period_fee",
    );
    for (index, tld) in tlds.iter().enumerate() {
        let relid = index + 1;
        // WHMCS keeps one redemption fee per TLD, in the default currency (-1: none).
        let fee = tld.restore.map_or("'-1.00'".to_string(), money_lit);
        domain_pricing.push(format!(
            "({relid}, {}, 1, 1, 1, 1, {}, {index}, '', 30, {fee})",
            lit(&format!(".{}", tld.tld)),
            lit(autoreg_module(&tld.tld))
        ));
        for (currency_id, ..) in CURRENCIES {
            for (kind, sell) in [
                ("domainregister", tld.register),
                ("domaintransfer", tld.transfer),
                ("domainrenew", tld.renew),
            ] {
                // Columns are years 1..10; the sandbox offers 1, 2 and 3 years.
                let year = (sell * rate_of_currency_id(currency_id)).round_dp(2);
                pricing.push(format!(
                    "({}, {currency_id}, {relid}, {}, {}, {}, '-1.00', '-1.00', '0.00', '-1.00', '-1.00', '-1.00', '-1.00', '-1.00', '0.00')",
                    lit(kind),
                    money_lit(year),
                    money_lit(year * Decimal::from(2)),
                    money_lit(year * Decimal::from(3)),
                ));
            }
        }
    }
    (domain_pricing, pricing)
}

/// Replaces the TLD catalogue with `tlds` (benchmarks: the whole registrar price list).
pub async fn replace_catalogue(store: &Store, tlds: &[CatalogueTld]) -> Result<()> {
    for sql in [
        "DELETE FROM tblpricing WHERE type IN ('domainregister','domaintransfer','domainrenew')",
        "DELETE FROM tbldomainpricing",
    ] {
        store.execute(sql, &[]).await?;
    }
    let (domain_pricing, pricing) = catalogue_inserts(store.dialect(), tlds);
    for sql in domain_pricing.finish().into_iter().chain(pricing.finish()) {
        store.execute(&sql, &[]).await?;
    }
    Ok(())
}

pub async fn seed(store: &Store, portfolio: &Portfolio) -> Result<()> {
    let started = std::time::Instant::now();
    let dialect = store.dialect();
    let fixed = fixed_statements(dialect, portfolio);
    let (sender, receiver) = tokio::sync::mpsc::channel::<String>(64);
    let portfolio = *portfolio;
    // Generating the portfolio is the expensive part: do it on blocking threads, in
    // parallel, while the database writes the previous statements.
    let producer = tokio::task::spawn_blocking(move || {
        for sql in fixed {
            if sender.blocking_send(sql).is_err() {
                return;
            }
        }
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(4);
        const BLOCK: usize = 20_000;
        let mut start = 0;
        while start < portfolio.size {
            let end = (start + BLOCK).min(portfolio.size);
            let per_worker = (end - start).div_ceil(workers);
            let chunks: Vec<Vec<String>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..workers)
                    .map(|w| {
                        let from = (start + w * per_worker).min(end);
                        let to = (from + per_worker).min(end);
                        let portfolio = &portfolio;
                        scope.spawn(move || domain_statements(dialect, portfolio, from..to))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("seed worker panicked"))
                    .collect()
            });
            for sql in chunks.into_iter().flatten() {
                if sender.blocking_send(sql).is_err() {
                    return;
                }
            }
            start = end;
        }
    });
    let written = store.raw_stream(receiver).await;
    producer.await?;
    written?;
    tracing::debug!(elapsed = ?started.elapsed(), "sandbox WHMCS seeded");
    Ok(())
}

/// Admins, departments, currencies, pricing and clients.
fn fixed_statements(dialect: Dialect, portfolio: &Portfolio) -> Vec<String> {
    let lit = |s: &str| sql_literal(dialect, s);
    let today = portfolio.today;
    let mut statements = Vec::new();

    for (id, name) in ADMINS {
        statements.push(format!(
            "INSERT INTO tbladmins (id, username) VALUES ({id}, {})",
            lit(name)
        ));
    }
    for (id, name) in DEPARTMENTS {
        statements.push(format!(
            "INSERT INTO tblticketdepartments (id, name) VALUES ({id}, {})",
            lit(name)
        ));
    }
    for (id, code, prefix, suffix) in CURRENCIES {
        statements.push(format!(
            "INSERT INTO tblcurrencies (id, code, prefix, suffix, format, rate, `default`) VALUES ({id}, {}, {}, {}, 1, '{:.5}', {})",
            lit(code.as_str()),
            lit(prefix),
            lit(suffix),
            rate_of_currency_id(id),
            i32::from(id == 1)
        ));
    }

    let (domain_pricing, mut pricing) = catalogue_inserts(dialect, &catalogue());
    for (currency_id, ..) in CURRENCIES {
        // Domain addons per year: DNS management and e-mail forwarding free, ID protection
        // (ssetupfee) at ID_PROTECTION_PRICE EUR in each currency.
        let idp = (ID_PROTECTION_PRICE * rate_of_currency_id(currency_id)).round_dp(2);
        pricing.push(format!(
            "('domainaddons', {currency_id}, 0, '0.00', '0.00', {}, '0.00', '0.00', '0.00', '0.00', '0.00', '0.00', '0.00', '0.00', '0.00')",
            money_lit(idp)
        ));
    }
    statements.extend(domain_pricing.finish());
    statements.extend(pricing.finish());

    let mut clients = BulkInsert::new(
        "tblclients",
        "id, uuid, firstname, lastname, companyname, email, address1, city, postcode, country, phonenumber, currency, groupid, language, status, datecreated",
    );
    for id in 1..=portfolio.bot_client_id() {
        let c = portfolio.client(id);
        clients.push(format!(
            "({id}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0, 'english', 'Active', {})",
            lit(&format!("sandbox-client-{id}")),
            lit(&c.first_name),
            lit(&c.last_name),
            lit(&c.company),
            lit(&c.email),
            lit(&c.address1),
            lit(&c.city),
            lit(&c.postcode),
            lit(c.country),
            lit(&c.phone),
            c.currency_id,
            date_lit(Some(today - chrono::Duration::days(365 * 3))),
        ));
    }
    statements.extend(clients.finish());

    // Sign-up invoices (see `Portfolio::signup_invoice`), one per client.
    let mut invoices = InvoiceInserts::new(dialect);
    for id in 1..=portfolio.client_count() {
        invoices.push(id, &portfolio.signup_invoice(id), 0, "Add Funds");
    }
    statements.extend(invoices.finish());
    statements
}

/// `tblinvoices` rows with their single `tblinvoiceitems` line each.
struct InvoiceInserts {
    dialect: Dialect,
    invoices: BulkInsert,
    items: BulkInsert,
}

impl InvoiceInserts {
    fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            invoices: BulkInsert::new(
                "tblinvoices",
                "id, userid, invoicenum, date, duedate, datepaid, subtotal, total, status, paymentmethod, notes",
            ),
            items: BulkInsert::new(
                "tblinvoiceitems",
                "invoiceid, userid, type, relid, description, amount, taxed, duedate, paymentmethod, notes",
            ),
        }
    }

    fn push(&mut self, client_id: u64, invoice: &SeedInvoice, rel_id: u64, description: &str) {
        let lit = |s: &str| sql_literal(self.dialect, s);
        self.invoices.push(format!(
            "({}, {client_id}, '', {}, {}, {}, {}, {}, {}, 'banktransfer', '')",
            invoice.id,
            date_lit(Some(invoice.date)),
            date_lit(Some(invoice.due_date)),
            date_lit(invoice.date_paid),
            money_lit(invoice.amount),
            money_lit(invoice.amount),
            lit(invoice.status.as_whmcs()),
        ));
        self.items.push(format!(
            "({}, {client_id}, {}, {rel_id}, {}, {}, 0, {}, 'banktransfer', '')",
            invoice.id,
            lit(invoice.item_type),
            lit(description),
            money_lit(invoice.amount),
            date_lit(Some(invoice.due_date)),
        ));
    }

    fn finish(self) -> Vec<String> {
        let mut statements = self.invoices.finish();
        statements.extend(self.items.finish());
        statements
    }
}

/// Domains with their premium rows, invoices and invoice items for a range of indices.
fn domain_statements(
    dialect: Dialect,
    portfolio: &Portfolio,
    indices: std::ops::Range<usize>,
) -> Vec<String> {
    let lit = |s: &str| sql_literal(dialect, s);
    let mut statements = Vec::new();
    let mut domains = BulkInsert::new(
        "tbldomains",
        "id, userid, orderid, type, registrationdate, domain, firstpaymentamount, recurringamount, registrar, registrationperiod, expirydate, subscriptionid, promoid, status, nextduedate, nextinvoicedate, additionalnotes, paymentmethod, dnsmanagement, emailforwarding, idprotection, is_premium, donotrenew, reminders, synced",
    );
    let mut extras = BulkInsert::new("tbldomains_extra", "domain_id, name, value");
    let mut invoices = InvoiceInserts::new(dialect);
    for index in indices {
        let domain = portfolio.domain(index);
        let Some(b) = &domain.billing else { continue };
        let name = domain.name.unicode();
        domains.push(format!(
            "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, '', 0, {}, {}, {}, '', 'banktransfer', 0, 0, {}, {}, {}, '', 0)",
            b.domain_id,
            b.client_id,
            b.domain_id,
            lit(b.reg_type),
            date_lit(Some(b.registration_date)),
            lit(&name),
            money_lit(b.first_payment),
            money_lit(b.recurring_amount),
            lit(b.registrar_module),
            b.registration_period,
            date_lit(Some(b.expiry)),
            lit(b.status.as_whmcs()),
            date_lit(Some(b.next_due)),
            date_lit(Some(b.next_due)),
            i32::from(b.id_protection),
            if b.is_premium { "1" } else { "0" },
            i32::from(b.do_not_renew),
        ));
        if let Some((registration_cost, renewal_cost)) = b.premium_cost {
            for (key, value) in [
                ("registrarCostPrice", format!("{registration_cost:.2}")),
                ("registrarRenewalCostPrice", format!("{renewal_cost:.2}")),
                ("registrarCurrency", "1".to_string()),
            ] {
                extras.push(format!("({}, {}, {})", b.domain_id, lit(key), lit(&value)));
            }
        }
        for invoice in &b.invoices {
            let what = match invoice.item_type {
                "DomainRegister" => "Domain Registration",
                "DomainTransfer" => "Domain Transfer",
                _ => "Domain Renewal",
            };
            let description = format!(
                "{what} - {name} - {} Year/s ({} - {})",
                b.registration_period,
                invoice.due_date.format("%d/%m/%Y"),
                crate::portfolio::add_years(invoice.due_date, b.registration_period as i32)
                    .format("%d/%m/%Y")
            );
            invoices.push(b.client_id, invoice, b.domain_id, &description);
        }
    }
    statements.extend(domains.finish());
    statements.extend(extras.finish());
    statements.extend(invoices.finish());
    statements
}
