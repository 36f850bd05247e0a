//! Throw-away databases on the test servers: a fresh PostgreSQL or MariaDB database per
//! test, or `None` with a visible `SKIPPED` line when the server is not reachable. On CI
//! (`CI=true`) or with `DOMWATCH_REQUIRE_POSTGRES=1` / `DOMWATCH_REQUIRE_MARIADB=1` an
//! unreachable server fails the test instead.
//!
//! Servers: `DOMWATCH_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! a database to connect to for `CREATE DATABASE`) and `DOMWATCH_TEST_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306`, without a database).

use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

/// Which server a [`TestDatabase`] lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Postgres,
    MariaDb,
}

/// A fresh, empty database; [`TestDatabase::drop_database`] removes it.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL of the new database.
    pub url: String,
    /// Its name.
    pub name: String,
    server: Server,
    admin: String,
}

impl TestDatabase {
    /// A new PostgreSQL database for `test`, or `None` (SKIPPED printed).
    pub async fn postgres(test: &str) -> Option<TestDatabase> {
        let admin = std::env::var("DOMWATCH_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        Self::create(Server::Postgres, admin, test).await
    }

    /// A new MariaDB database (utf8mb4) for `test`, or `None` (SKIPPED printed).
    pub async fn mariadb(test: &str) -> Option<TestDatabase> {
        let base = std::env::var("DOMWATCH_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
        let base = base.trim_end_matches('/').to_string();
        Self::create(Server::MariaDb, format!("{base}/mysql"), test).await
    }

    async fn create(server: Server, admin: String, test: &str) -> Option<TestDatabase> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "domwatch_t{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            slug(test)
        );
        let create = match server {
            Server::Postgres => format!("CREATE DATABASE {name}"),
            Server::MariaDb => format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"),
        };
        if let Err(e) = execute(server, &admin, &create).await {
            let (what, var) = match server {
                Server::Postgres => ("PostgreSQL", "DOMWATCH_REQUIRE_POSTGRES"),
                Server::MariaDb => ("MariaDB", "DOMWATCH_REQUIRE_MARIADB"),
            };
            let required = std::env::var(var).as_deref() == Ok("1")
                || std::env::var("CI").as_deref() == Ok("true");
            let at = domwatch_store::redact_url(&admin);
            assert!(
                !required,
                "{what} required ({var} or CI) but not usable at {at}: {e}"
            );
            eprintln!("SKIPPED {test} on {what}: not reachable at {at} ({e})");
            return None;
        }
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Some(TestDatabase {
            url: format!("{base}/{name}"),
            name,
            server,
            admin,
        })
    }

    pub fn server(&self) -> Server {
        self.server
    }

    /// Drops the database (PostgreSQL: even with connections still open).
    pub async fn drop_database(self) {
        let sql = match self.server {
            Server::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            Server::MariaDb => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        if let Err(e) = execute(self.server, &self.admin, &sql).await {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// A fresh store for a test: a SQLite file, or a new PostgreSQL database.
pub struct TestStore {
    pub store: domwatch_store::Store,
    _dir: Option<tempfile::TempDir>,
    database: Option<TestDatabase>,
}

impl TestStore {
    pub async fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("domwatch.db").display());
        let store = domwatch_store::Store::connect(&url)
            .await
            .expect("a SQLite store");
        TestStore {
            store,
            _dir: Some(dir),
            database: None,
        }
    }

    /// `None` (SKIPPED printed) without a PostgreSQL server, see [`TestDatabase`].
    pub async fn postgres(test: &str) -> Option<TestStore> {
        let database = TestDatabase::postgres(test).await?;
        let store = domwatch_store::Store::connect(&database.url)
            .await
            .expect("a PostgreSQL store");
        Some(TestStore {
            store,
            _dir: None,
            database: Some(database),
        })
    }

    /// Closes the store and drops its PostgreSQL database.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(database) = self.database {
            database.drop_database().await;
        }
    }
}

async fn execute(server: Server, admin: &str, sql: &str) -> Result<(), sqlx::Error> {
    match server {
        Server::Postgres => {
            let mut conn = sqlx::PgConnection::connect(admin).await?;
            sqlx::query(sql).execute(&mut conn).await?;
            conn.close().await
        }
        Server::MariaDb => {
            let mut conn = sqlx::MySqlConnection::connect(admin).await?;
            sqlx::query(sql).execute(&mut conn).await?;
            conn.close().await
        }
    }
}

/// The test's name as a database-name part: lower-case letters, digits, underscores.
fn slug(test: &str) -> String {
    test.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(24)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_plain_identifiers() {
        assert_eq!(slug("TLD fix: 20 requests"), "tld_fix__20_requests");
        assert!(slug(&"x".repeat(100)).len() <= 24);
    }

    #[tokio::test]
    async fn a_database_is_created_usable_and_dropped() {
        for db in [
            TestDatabase::postgres("testkit pg").await,
            TestDatabase::mariadb("testkit maria").await,
        ]
        .into_iter()
        .flatten()
        {
            let server = db.server();
            match server {
                Server::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
                    sqlx::query("CREATE TABLE t (x INT)")
                        .execute(&mut c)
                        .await
                        .unwrap();
                    c.close().await.unwrap();
                }
                Server::MariaDb => {
                    let mut c = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
                    sqlx::query("CREATE TABLE t (x INT)")
                        .execute(&mut c)
                        .await
                        .unwrap();
                    c.close().await.unwrap();
                }
            }
            let (admin, name) = (db.admin.clone(), db.name.clone());
            db.drop_database().await;
            let gone = match server {
                Server::Postgres => format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
                Server::MariaDb => format!(
                    "SELECT 1 FROM information_schema.schemata WHERE schema_name = '{name}'"
                ),
            };
            let rows = match server {
                Server::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
                    sqlx::query(&gone).fetch_all(&mut c).await.unwrap().len()
                }
                Server::MariaDb => {
                    let mut c = sqlx::MySqlConnection::connect(&admin).await.unwrap();
                    sqlx::query(&gone).fetch_all(&mut c).await.unwrap().len()
                }
            };
            assert_eq!(rows, 0, "{name} still exists");
        }
    }
}
