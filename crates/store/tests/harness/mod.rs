//! The store test harness: one scenario function run on SQLite and on PostgreSQL.
//!
//! PostgreSQL: `DOMWATCH_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! each test creates and drops its own database. When the server is unreachable the
//! PostgreSQL variants print `SKIPPED` (and fail if `DOMWATCH_REQUIRE_POSTGRES=1`).

use domwatch_store::{redact_url, Store};
use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

/// A test database: a SQLite file in a temp dir, or a fresh PostgreSQL database.
pub struct TestDb {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("domwatch.db").display());
        let store = Store::connect(&url).await.expect("sqlite store");
        TestDb {
            store,
            _dir: Some(dir),
            drop_pg: None,
        }
    }

    pub async fn postgres(test: &str) -> Option<TestDb> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin = std::env::var("DOMWATCH_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("DOMWATCH_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                    panic!(
                        "PostgreSQL required but not reachable at {}: {e}",
                        redact_url(&admin)
                    );
                }
                eprintln!(
                    "SKIPPED {test} on PostgreSQL: not reachable at {} ({e})",
                    redact_url(&admin)
                );
                return None;
            }
        };
        let db = format!(
            "domwatch_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        sqlx::query(&format!("CREATE DATABASE {db}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        let store = Store::connect(&format!("{base}/{db}"))
            .await
            .expect("postgres store");
        Some(TestDb {
            store,
            _dir: None,
            drop_pg: Some((admin, db)),
        })
    }

    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some((admin, db)) = self.drop_pg {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

/// Runs each named `async fn(&Store)` once on SQLite and once on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = $crate::harness::TestDb::sqlite().await;
                    super::$name(&db.store).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(db) = $crate::harness::TestDb::postgres(stringify!($name)).await {
                        assert_eq!(db.store.backend(), domwatch_store::Backend::Postgres);
                        super::$name(&db.store).await;
                        db.cleanup().await;
                    }
                }
            )*
        }
    };
}
