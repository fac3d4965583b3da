//! Write transactions that run again when PostgreSQL aborts them to break a deadlock or a
//! serialization conflict.

use std::future::Future;

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::error::{AppError, AppResult};

/// Times a transaction aborted by a deadlock or serialization conflict is run again.
pub const MAX_CONFLICT_RETRIES: u32 = 3;

/// Runs `body` in a transaction; when PostgreSQL aborts it to break a deadlock or a
/// serialization conflict ([`AppError::is_transaction_conflict`]), runs it again, up to
/// [`MAX_CONFLICT_RETRIES`] times. That is safe because PostgreSQL rolled back the whole
/// transaction: nothing of the failed attempt was applied. `body` must therefore touch nothing
/// but the database (no remote calls), and is called once per attempt: it borrows what it needs
/// rather than moving or mutating it (the closure is `async |conn|`, not `async move |conn|`;
/// a counter would be an atomic). `what` names the change in the retry log.
pub async fn transaction_retrying<T, F>(
    conn: &mut AsyncPgConnection,
    what: &str,
    mut body: F,
) -> AppResult<T>
where
    F: for<'c> AsyncFnMut(&'c mut AsyncPgConnection) -> AppResult<T>
        + for<'c> TransactionBody<'c, T>
        + Send,
    T: Send,
{
    let mut attempt = 1;
    loop {
        let result = conn
            .transaction::<_, AppError, _>(async |conn| call(&mut body, conn).await)
            .await;
        match result {
            Err(error) if error.is_transaction_conflict() && attempt <= MAX_CONFLICT_RETRIES => {
                tracing::info!(what, attempt, error = %error, "transaction aborted by a lock conflict; retrying");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A transaction body whose future is `Send` (as [`AsyncConnection::transaction`] wants), named
/// so that the bound can be stated for every borrow of the connection: an `async |conn|` closure
/// that borrows, rather than owns, what it captures.
pub trait TransactionBody<'c, T>:
    FnMut(&'c mut AsyncPgConnection) -> <Self as TransactionBody<'c, T>>::Fut
{
    type Fut: Future<Output = AppResult<T>> + Send;
}

impl<'c, T, F, Fut> TransactionBody<'c, T> for F
where
    F: FnMut(&'c mut AsyncPgConnection) -> Fut,
    Fut: Future<Output = AppResult<T>> + Send,
{
    type Fut = Fut;
}

/// Calls `body` as the plain `FnMut` of [`TransactionBody`], whose future is known to be `Send`.
fn call<'c, T, F: TransactionBody<'c, T>>(body: &mut F, conn: &'c mut AsyncPgConnection) -> F::Fut {
    body(conn)
}
