//! `db::retry::transaction_retrying`: a transaction PostgreSQL aborted to break a deadlock or a
//! serialization conflict runs again, anything else fails at once.

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use oblique::db::retry::{MAX_CONFLICT_RETRIES, transaction_retrying};
use oblique::error::AppError;

use crate::harness::TestApp;

/// Counts the attempts of a transaction body, which may only borrow what it captures.
#[derive(Default)]
struct Attempts(AtomicU32);

impl Attempts {
    /// The number of the attempt starting.
    fn start(&self) -> u32 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn count(&self) -> u32 {
        AtomicU32::load(&self.0, Ordering::SeqCst)
    }
}

#[derive(diesel::QueryableByName)]
struct Value {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

/// A table with one row (id 1, value 0) for the attempts to write. Made by the owner: the
/// server's role may not create tables.
async fn probe_table(app: &TestApp) {
    let mut conn = app.owner_conn().await;
    diesel::sql_query("CREATE TABLE retry_probe (id int PRIMARY KEY, value bigint NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    let runtime = crate::harness::servers::RUNTIME_ROLE;
    diesel::sql_query(format!(
        "GRANT SELECT, INSERT, UPDATE ON retry_probe TO {runtime}"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query("INSERT INTO retry_probe VALUES (1, 0)")
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn probe_value(app: &TestApp) -> i64 {
    let mut conn = app.conn().await;
    diesel::sql_query("SELECT value FROM retry_probe WHERE id = 1")
        .get_result::<Value>(&mut conn)
        .await
        .unwrap()
        .value
}

async fn add_to_probe(conn: &mut diesel_async::AsyncPgConnection, amount: i64) {
    diesel::sql_query("UPDATE retry_probe SET value = value + $1 WHERE id = 1")
        .bind::<BigInt, _>(amount)
        .execute(conn)
        .await
        .unwrap();
}

/// What PostgreSQL answers when it aborts a transaction to break a conflict.
fn serialization_failure() -> AppError {
    DieselError::DatabaseError(
        DatabaseErrorKind::SerializationFailure,
        Box::new("could not serialize access due to concurrent update".to_string()),
    )
    .into()
}

fn deadlock() -> AppError {
    DieselError::DatabaseError(
        DatabaseErrorKind::Unknown,
        Box::new("deadlock detected".to_string()),
    )
    .into()
}

/// Each conflict runs the transaction again; what the aborted attempts wrote is rolled back.
#[tokio::test]
async fn retry_runs_again_after_a_conflict_and_keeps_only_the_last_attempt() {
    let app = TestApp::spawn_without_sync().await;
    probe_table(&app).await;
    let attempts = Attempts::default();
    let mut conn = app.conn().await;
    let answer = transaction_retrying(&mut conn, "test", async |conn| {
        let attempt = attempts.start();
        add_to_probe(conn, 1).await;
        match attempt {
            1 => Err(serialization_failure()),
            2 => Err(deadlock()),
            _ => Ok(attempt),
        }
    })
    .await
    .unwrap();
    assert_eq!(answer, 3);
    assert_eq!(attempts.count(), 3);
    assert_eq!(
        probe_value(&app).await,
        1,
        "only the committed attempt counts"
    );
}

/// A real conflict: a concurrent update lands between the transaction's first read and its own
/// update, and SERIALIZABLE aborts it; the second attempt sees that update and succeeds.
#[tokio::test]
async fn retry_recovers_from_a_real_serialization_failure() {
    let app = TestApp::spawn_without_sync().await;
    probe_table(&app).await;
    let attempts = Attempts::default();
    let mut conn = app.conn().await;
    let seen = transaction_retrying(&mut conn, "test", async |conn| {
        let attempt = attempts.start();
        diesel::sql_query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            .execute(conn)
            .await?;
        let seen = diesel::sql_query("SELECT value FROM retry_probe WHERE id = 1")
            .get_result::<Value>(conn)
            .await?
            .value;
        if attempt == 1 {
            // Another writer commits after this transaction took its snapshot.
            let mut other = app.conn().await;
            add_to_probe(&mut other, 1).await;
        }
        diesel::sql_query("UPDATE retry_probe SET value = value + 10 WHERE id = 1")
            .execute(conn)
            .await?;
        Ok(seen)
    })
    .await
    .unwrap();
    assert_eq!(attempts.count(), 2);
    assert_eq!(seen, 1, "the second attempt sees the concurrent update");
    assert_eq!(probe_value(&app).await, 11);
}

/// Any other error is the answer at once.
#[tokio::test]
async fn retry_does_not_repeat_other_errors() {
    let app = TestApp::spawn_without_sync().await;
    probe_table(&app).await;
    let attempts = Attempts::default();
    let mut conn = app.conn().await;
    let result = transaction_retrying(&mut conn, "test", async |conn| {
        attempts.start();
        add_to_probe(conn, 1).await;
        // A real database error that is not a conflict: the row exists.
        diesel::sql_query("INSERT INTO retry_probe VALUES (1, 0)")
            .execute(conn)
            .await?;
        Ok(())
    })
    .await;
    let error = result.unwrap_err();
    assert!(!error.is_transaction_conflict(), "{error:?}");
    assert!(
        error.is_unique_violation_on("retry_probe_pkey"),
        "{error:?}"
    );
    assert_eq!(attempts.count(), 1);

    let result: Result<(), AppError> = transaction_retrying(&mut conn, "test", async |_conn| {
        attempts.start();
        Err(AppError::FailedPrecondition("no".into()))
    })
    .await;
    assert!(matches!(result, Err(AppError::FailedPrecondition(_))));
    assert_eq!(attempts.count(), 2);
    assert_eq!(
        probe_value(&app).await,
        0,
        "the failed attempt was rolled back"
    );
}

/// A conflict that keeps coming back is answered after the last retry.
#[tokio::test]
async fn retry_gives_up_after_the_last_retry() {
    let app = TestApp::spawn_without_sync().await;
    let attempts = Attempts::default();
    let mut conn = app.conn().await;
    let result: Result<(), AppError> = transaction_retrying(&mut conn, "test", async |_conn| {
        attempts.start();
        Err(serialization_failure())
    })
    .await;
    assert!(result.unwrap_err().is_transaction_conflict());
    assert_eq!(attempts.count(), 1 + MAX_CONFLICT_RETRIES);
}
