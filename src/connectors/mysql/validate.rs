//! The check a new or changed setup passes before it is saved: the user can log in, and read
//! every table a sync of this server's flavour reads.

use mysql_async::Error;
use mysql_async::prelude::Queryable;

use super::connect::{answer, connect, disconnect};
use super::errors::{is_missing_privilege, map_error};
use super::flavour::Flavour;
use super::settings::MysqlSettings;
use crate::connectors::ConnectorError;
use crate::connectors::setup::invalid;

/// Checks that the settings work: the user can log in and read every table a sync reads.
pub(super) async fn validate(settings: &MysqlSettings) -> Result<(), ConnectorError> {
    let mut conn = connect(settings).await?;
    let flavour = Flavour::detect(&mut conn, settings).await?;
    for table in flavour.tables_read() {
        let sql = format!("SELECT 1 FROM {table} LIMIT 1");
        match answer(settings, conn.query_drop(sql)).await? {
            Ok(()) => {}
            Err(Error::Server(server)) if is_missing_privilege(&server) => {
                let tables = flavour.tables_read().join(", ");
                let message = format!(
                    "the user cannot read {table}: {}; grant it SELECT on {tables}",
                    server.message
                );
                return Err(invalid("config.username", message));
            }
            Err(error) => return Err(map_error(&error, settings)),
        }
    }
    disconnect(conn).await;
    Ok(())
}
