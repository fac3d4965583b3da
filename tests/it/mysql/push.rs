//! Connector-level pushes: granting and revoking roles idempotently (twice = once), with names
//! holding quotes, backticks, spaces and `%`; roles created by the connector, listed as made;
//! a name already taken is an error and the role is not adopted.

use futures::TryStreamExt;
use oblique::connectors::{ConnectorError, Listed, RemoteResource};

use super::MysqlService;

/// The user's and role's names, as SQL writes them, as stored, and as external ids.
const ODD_USER_SQL: &str = r"'o''b `x` \\ 50%'@'%'";
const ODD_USER: &str = r"o'b `x` \ 50%@%";
const ODD_USER_ID: &str = r"'o\'b `x` \\ 50%'@'%'";
const ODD_ROLE_SQL: &str = r"`we'ird `` role %`";
const ODD_ROLE: &str = r"we'ird ` role %";
const ODD_ROLE_ID: &str = r"'we\'ird ` role %'@''";

#[tokio::test]
async fn grants_and_revokes_roles_idempotently_whatever_the_names() {
    let service = MysqlService::start().await;
    service.role("readers").await;
    service.role(ODD_ROLE_SQL).await;
    service
        .sql(&format!(
            "CREATE USER 'alice'@'%'; CREATE USER {ODD_USER_SQL}; CREATE USER 'bob'@'%';
             GRANT readers TO 'bob'@'%'"
        ))
        .await;
    let connector = service.connector(&[]);

    for (role_id, role, account_id, account) in [
        ("'readers'@''", "readers", "'alice'@'%'", "alice@%"),
        (ODD_ROLE_ID, ODD_ROLE, ODD_USER_ID, ODD_USER),
        ("'readers'@''", "readers", ODD_USER_ID, ODD_USER),
    ] {
        let before = service.holders(role).await;
        for _ in 0..2 {
            connector
                .add_member(role_id, account_id)
                .await
                .unwrap_or_else(|e| panic!("grant {role_id} to {account_id}: {e}"));
        }
        let mut expected = before.clone();
        expected.push(account.to_string());
        expected.sort();
        assert_eq!(service.holders(role).await, expected, "{role} granted");
        for _ in 0..2 {
            connector
                .remove_member(role_id, account_id)
                .await
                .unwrap_or_else(|e| panic!("revoke {role_id} from {account_id}: {e}"));
        }
        assert_eq!(service.holders(role).await, before, "{role} revoked");
    }
    connector
        .remove_member("'readers'@''", "'alice'@'%'")
        .await
        .expect("revoking a role never granted");
    assert_eq!(service.holders("readers").await, ["bob@%"]);

    let missing = connector.add_member("'readers'@''", "'nobody'@'%'").await;
    assert!(
        matches!(&missing, Err(ConnectorError::Remote(m)) if m.contains("no longer exists")),
        "{missing:?}"
    );
    let missing = connector.add_member("'no role'@''", "'alice'@'%'").await;
    assert!(
        matches!(&missing, Err(ConnectorError::Remote(m)) if m.contains("no longer exists")),
        "{missing:?}"
    );
    let bad = connector.add_member("readers", "'alice'@'%'").await;
    assert!(
        matches!(&bad, Err(ConnectorError::Remote(m)) if m.contains("not a MySQL role id")),
        "{bad:?}"
    );

    // A role Oblique's user does not hold WITH ADMIN OPTION: the privilege it lacks is named.
    service.sql("CREATE ROLE private").await;
    let refused = connector.add_member("'private'@''", "'alice'@'%'").await;
    assert!(
        matches!(&refused, Err(ConnectorError::Remote(m)) if m.contains("ADMIN OPTION")),
        "{refused:?}"
    );
    assert!(service.holders("private").await.is_empty());
}

#[tokio::test]
async fn a_created_role_is_listed_and_a_taken_name_is_an_error() {
    let service = MysqlService::start().await;
    let connector = service.connector(&[]);
    let name = r"Project `X`, 'phase' 1 %";
    let created = connector.create_resource(name).await.expect("create");
    assert_eq!(
        (created.resource_type.as_str(), created.name.as_str()),
        ("role", name)
    );
    assert_eq!(created.external_id, r"'Project `X`, \'phase\' 1 %'@''");
    assert!(service.role_exists(name).await);
    let pages: Vec<Vec<Listed<RemoteResource>>> =
        connector.list_resources().try_collect().await.unwrap();
    let listed: Vec<RemoteResource> = pages.into_iter().flatten().map(Result::unwrap).collect();
    assert_eq!(
        listed,
        std::slice::from_ref(&created),
        "listed as it was created"
    );
    // Oblique's user may grant the role it made.
    service.sql("CREATE USER 'alice'@'%'").await;
    connector
        .add_member(&created.external_id, "'alice'@'%'")
        .await
        .expect("grant the new role");
    assert_eq!(service.holders(name).await, ["alice@%"]);

    let again = connector.create_resource(name).await;
    assert!(
        matches!(&again, Err(ConnectorError::Remote(m)) if m.contains("already exists")),
        "{again:?}"
    );
    service.sql("CREATE ROLE ops").await;
    let taken = connector.create_resource("ops").await;
    assert!(
        matches!(&taken, Err(ConnectorError::Remote(m)) if m.contains("already exists")),
        "{taken:?}"
    );
    let adopted = connector.add_member("'ops'@''", "'alice'@'%'").await;
    assert!(
        adopted.is_err(),
        "the taken role stays out of Oblique's hands"
    );
    for bad in ["", "trailing ", "nul\0"] {
        assert!(connector.create_resource(bad).await.is_err(), "{bad:?}");
    }
}
