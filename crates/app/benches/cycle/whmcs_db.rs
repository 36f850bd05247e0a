//! The database path of the cycle bench (`DOMWATCH_BENCH_WHMCS_DB`): the sandbox WHMCS
//! keeps its tables in MariaDB, and the engine reads WHMCS through that database as
//! production does when `whmcs.database_url` is set.

use domwatch_whmcs::db::WhmcsDb;
use domwatch_whmcs::db_billing::DbBilling;
use domwatch_whmcs::{BillingPort, WhmcsClient};
use sqlx::Connection;
use std::sync::Arc;

/// Where the sandbox WHMCS keeps its tables for one measured size.
pub struct BenchDatabase {
    /// `mysql://…/<database>`, handed to the sandbox and to the engine.
    pub url: String,
    /// `(server URL, database)` of a throw-away database, dropped by [`Self::remove`].
    throwaway: Option<(String, String)>,
}

/// `DOMWATCH_BENCH_WHMCS_DB`, when set: a server URL (`mysql://root@127.0.0.1:3306`) makes a
/// throw-away database per size; a URL naming a database uses that one (it must exist; the
/// sandbox seeds it when it has no domains and reuses it otherwise).
pub fn from_env() -> Option<String> {
    std::env::var("DOMWATCH_BENCH_WHMCS_DB")
        .ok()
        .map(|v| v.trim().trim_end_matches('/').to_string())
        .filter(|v| !v.is_empty())
}

/// The database name in `mysql://user@host:port/db?opts`, if the URL names one.
fn database_name(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.split_once('/')?.1;
    let name = path.split('?').next().unwrap_or_default();
    (!name.is_empty()).then_some(name)
}

/// Makes (or names) the database the sandbox WHMCS seeds `size` domains into.
pub fn prepare(spec: &str, size: usize) -> BenchDatabase {
    if database_name(spec).is_some() {
        return BenchDatabase {
            url: spec.to_string(),
            throwaway: None,
        };
    }
    let name = format!("domwatch_bench_{}_{size}", std::process::id());
    run_on_server(
        spec,
        &[
            format!("DROP DATABASE IF EXISTS `{name}`"),
            format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
        ],
    );
    BenchDatabase {
        url: format!("{spec}/{name}"),
        throwaway: Some((spec.to_string(), name)),
    }
}

impl BenchDatabase {
    /// Drops a throw-away database; a named one is left as it is.
    pub fn remove(self) {
        if let Some((server, name)) = self.throwaway {
            run_on_server(&server, &[format!("DROP DATABASE IF EXISTS `{name}`")]);
        }
    }
}

fn run_on_server(server: &str, statements: &[String]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut conn = sqlx::MySqlConnection::connect(&format!("{server}/mysql"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "DOMWATCH_BENCH_WHMCS_DB = `{server}`: cannot connect ({e}); give a \
                     MariaDB server URL such as mysql://root@127.0.0.1:3306"
                )
            });
        for sql in statements {
            sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    });
}

/// The engine's direct database access, as `whmcs.database_url` gives it.
pub async fn connect(url: &str) -> WhmcsDb {
    WhmcsDb::connect(url)
        .await
        .unwrap_or_else(|e| panic!("the bench's WHMCS database: {e}"))
}

/// The billing port the engine reads WHMCS through, and which path that is (printed with
/// the figures). With a database the engine reads as production does by default
/// (`whmcs.read_from = "database"`): the billing list and the renewal invoices from MariaDB,
/// writes through the API.
pub fn billing_port(
    api: WhmcsClient,
    db: Option<&WhmcsDb>,
) -> (Arc<dyn BillingPort>, &'static str) {
    let api: Arc<dyn BillingPort> = Arc::new(api);
    match db {
        None => (api, "API (WHMCS read through its External API)"),
        Some(db) => (
            Arc::new(DbBilling::new(api, db.clone())),
            "database (billing list, client currencies, renewal invoices and premium data \
             read from MariaDB; writes through the API)",
        ),
    }
}
