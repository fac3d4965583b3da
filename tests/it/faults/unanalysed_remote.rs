//! A remote PostgreSQL whose roles were created in bulk before autovacuum analysed its shared
//! catalogs: the planner still believes pg_authid and pg_auth_members hold a handful of rows.
//! A sync of ~9,500 roles and ~100,000 memberships from it must bring every membership. Planned
//! from those statistics, the access listing was a nested loop over every (account, membership)
//! pair, whose first row came after longer than the connector waits for an answer (10 s): the
//! run failed as "cannot reach PostgreSQL". The pairs grow as the square of the roles: twice the
//! kill test's remote (where the nested loop took 7 s to 24 s, depending on the machine's load)
//! puts the listing well past that wait.
//!
//! The remote is a throwaway cluster of the test's own, with autovacuum off so that the
//! catalogs stay unanalysed for as long as the test lasts.

use std::collections::HashMap;

use diesel::sql_types::{Double, Text};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use oblique::pb;
use oblique_testkit::postgres::ThrowawayCluster;

use super::kills::big_remote::{self, GROUPS, GROUPS_PER_USER, USERS, group};
use crate::harness::calls::{memberships, synced};
use crate::harness::remote::RemoteRoles;
use crate::harness::{TestApp, eventually};

#[tokio::test]
async fn a_remote_whose_catalogs_were_never_analysed_syncs_every_membership() {
    let cluster = ThrowawayCluster::try_start("oblique-unanalysed")
        .await
        .expect("a throwaway cluster");
    let roles = RemoteRoles::in_cluster(cluster.url("postgres"));
    turn_autovacuum_off(&roles).await;
    let users = 2 * USERS;
    big_remote::create_roles(&roles, users).await;
    let estimated = estimated_memberships(&roles).await;
    assert!(
        estimated < 1000.0,
        "pg_auth_members was analysed ({estimated} rows estimated): the test tests nothing"
    );

    let app = TestApp::spawn().await;
    let (integration, _) = synced(&app, create_request(&cluster, &roles)).await;

    let groups: Vec<String> = (0..GROUPS).map(group).collect();
    let roles = &roles;
    let mut remote: Vec<(String, String)> = big_remote::members(roles, &groups)
        .await
        .into_iter()
        .flat_map(|(group, members)| {
            let group = roles.name(&group);
            members
                .into_iter()
                .map(move |member| (group.clone(), roles.name(&member)))
        })
        .collect();
    remote.sort();
    assert_eq!(
        remote.len(),
        users * GROUPS_PER_USER,
        "the remote's memberships"
    );
    assert_eq!(memberships(&app, &integration).await, remote);
}

/// Turns autovacuum off and waits until new sessions see it off (a reload applies
/// asynchronously).
async fn turn_autovacuum_off(roles: &RemoteRoles) {
    // One statement per call: ALTER SYSTEM may not run in a transaction block.
    for sql in [
        "ALTER SYSTEM SET autovacuum = off",
        "SELECT pg_reload_conf()",
    ] {
        roles
            .connect_admin()
            .await
            .batch_execute(sql)
            .await
            .expect(sql);
    }
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        autovacuum: String,
    }
    eventually("autovacuum off", || async {
        let setting: Setting = diesel::sql_query("SHOW autovacuum")
            .get_result(&mut roles.connect_admin().await)
            .await
            .expect("SHOW autovacuum");
        (setting.autovacuum == "off").then_some(())
    })
    .await;
}

/// The rows of pg_auth_members as the planner's statistics have them.
async fn estimated_memberships(roles: &RemoteRoles) -> f64 {
    #[derive(diesel::QueryableByName)]
    struct Estimate {
        #[diesel(sql_type = Double)]
        reltuples: f64,
    }
    let estimate: Estimate = diesel::sql_query(
        "SELECT reltuples::float8 AS reltuples FROM pg_class
         WHERE oid = 'pg_catalog.pg_auth_members'::regclass",
    )
    .get_result(&mut roles.connect_admin().await)
    .await
    .expect("reading pg_class");
    estimate.reltuples
}

/// An integration of this cluster's roles of `roles`, as its superuser (the cluster trusts it:
/// the password is there because a setup needs one).
fn create_request(cluster: &ThrowawayCluster, roles: &RemoteRoles) -> pb::CreateIntegrationRequest {
    let config: HashMap<String, String> = [
        ("host", "127.0.0.1".to_string()),
        ("port", cluster.port().to_string()),
        ("username", "postgres".to_string()),
        ("sslmode", "disable".to_string()),
        ("role_pattern", roles.pattern()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    pb::CreateIntegrationRequest {
        r#type: "postgres".into(),
        name: "unanalysed".into(),
        config,
        credentials: [("password".to_string(), "unused-by-trust".to_string())].into(),
        ..Default::default()
    }
}
