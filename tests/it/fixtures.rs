//! Rows a sync would write, inserted directly: for tests of what the service does with given
//! resources and accounts, without a remote system or a run.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use oblique::db::schema::{account_attributes, accounts, resources};
use uuid::Uuid;

use crate::harness::TestApp;

pub async fn insert_resource(
    app: &TestApp,
    integration_id: Uuid,
    name: &str,
    sync_mode: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    diesel::insert_into(resources::table)
        .values((
            resources::id.eq(id),
            resources::integration_id.eq(integration_id),
            resources::external_id.eq(name),
            resources::resource_type.eq("role"),
            resources::name.eq(name),
            resources::sync_mode.eq(sync_mode),
        ))
        .execute(&mut app.conn().await)
        .await
        .expect("inserting resource");
    id
}

pub async fn insert_account(app: &TestApp, integration_id: Uuid, username: &str) -> Uuid {
    let id = Uuid::now_v7();
    let mut conn = app.conn().await;
    diesel::insert_into(accounts::table)
        .values((
            accounts::id.eq(id),
            accounts::integration_id.eq(integration_id),
            accounts::external_id.eq(username),
            accounts::username.eq(username),
        ))
        .execute(&mut conn)
        .await
        .expect("inserting account");
    diesel::insert_into(account_attributes::table)
        .values((
            account_attributes::account_id.eq(id),
            account_attributes::name.eq("mail"),
            account_attributes::attribute_values.eq(vec![
                Some(format!("{username}@example.org")),
                Some(format!("{username}.alias@example.org")),
            ]),
        ))
        .execute(&mut conn)
        .await
        .expect("inserting attribute");
    id
}
