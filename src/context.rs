//! What every request handler shares.

use crate::{crypto::SecretKey, db::Pool};

#[derive(Clone)]
pub struct AppContext {
    pub pool: Pool,
    pub secret_key: SecretKey,
}
