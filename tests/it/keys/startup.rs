//! The start-up function: the first process records its key; another key refuses to start.

use std::collections::BTreeMap;

use oblique::cli::keys::startup::establish;
use oblique::credentials::Credentials;
use oblique::crypto::{SecretKey, sealed};
use oblique::db::credentials_key;
use oblique::db::models::NewIntegration;
use serde_json::json;
use uuid::Uuid;

use super::{KeyFile, connect, exposed, ring_of};
use crate::harness::servers::{create_test_database, drop_test_database};

#[tokio::test]
async fn a_second_start_with_another_key_refuses_and_the_right_key_starts() {
    let (name, url) = create_test_database().await;
    let mut conn = connect(&url).await;

    let first = KeyFile::missing();
    let keys = establish(&mut conn, first.source()).await.unwrap();
    assert!(first.path().exists(), "the first start makes its key file");
    let stored = credentials_key::find(&mut conn).await.unwrap().unwrap();
    assert_eq!(stored.key_id, keys.primary_id().to_string());
    assert!(
        first
            .key_lines()
            .iter()
            .all(|key| !stored.key_id.contains(key.as_str())
                && !hex::encode(&stored.check_value).contains(key.as_str())),
        "the database holds the key itself"
    );

    // A replica without the key neither starts nor invents a key of its own.
    let bare = KeyFile::missing();
    let refused = establish(&mut conn, bare.source()).await.unwrap_err();
    let message = format!("{refused:#}");
    assert!(message.contains("refusing to start"), "{message}");
    assert!(message.contains(&stored.key_id), "{message}");
    assert!(!bare.path().exists(), "a key file was made: {message}");

    // A replica with another key is told which key it has and which one it needs.
    let other = SecretKey::generate();
    let wrong = KeyFile::with(&ring_of(&other));
    let message = format!(
        "{:#}",
        establish(&mut conn, wrong.source()).await.unwrap_err()
    );
    assert!(message.contains("refusing to start"), "{message}");
    assert!(message.contains(&stored.key_id), "{message}");
    assert!(message.contains(&other.id().to_string()), "{message}");
    assert!(
        wrong
            .key_lines()
            .iter()
            .all(|key| !message.contains(key.as_str())),
        "the message shows a key: {message}"
    );

    let again = establish(&mut conn, first.source()).await.unwrap();
    assert_eq!(again.primary_id(), keys.primary_id());
    drop(conn);
    drop_test_database(name);
}

/// A database from before key checks: the first key recorded must open what is stored.
#[tokio::test]
async fn an_upgraded_database_records_only_the_key_that_opens_its_credentials() {
    let (name, url) = create_test_database().await;
    let mut conn = connect(&url).await;
    let key = SecretKey::generate();
    let id = Uuid::now_v7();
    let values = BTreeMap::from([("password".to_string(), "s3cret".to_string())]);
    let credentials: Credentials = values.clone().into_iter().collect();
    oblique::db::integrations::insert(
        &mut conn,
        &NewIntegration {
            id,
            integration_type: "postgres".into(),
            name: "from-before-key-checks".into(),
            config: json!({}),
            credentials_ciphertext: Some(sealed::seal_legacy(&key, id, &credentials).unwrap()),
            create_resources_for_new_teams: false,
            sync_interval_seconds: 3600,
            max_deletion_percent: 20,
            create_request_id: None,
            link_users_by: oblique::model::LinkUsersBy::Username,
        },
    )
    .await
    .unwrap();

    let missing = KeyFile::missing();
    let message = format!(
        "{:#}",
        establish(&mut conn, missing.source()).await.unwrap_err()
    );
    assert!(message.contains("refusing to start"), "{message}");
    assert!(!missing.path().exists(), "a key file was made: {message}");

    let wrong = KeyFile::with(&ring_of(&SecretKey::generate()));
    let message = format!(
        "{:#}",
        establish(&mut conn, wrong.source()).await.unwrap_err()
    );
    assert!(message.contains(&id.to_string()), "{message}");
    assert!(credentials_key::find(&mut conn).await.unwrap().is_none());

    let right = KeyFile::with(&ring_of(&key));
    let keys = establish(&mut conn, right.source()).await.unwrap();
    let stored = credentials_key::find(&mut conn).await.unwrap().unwrap();
    assert_eq!(stored.key_id, key.id().to_string());
    let sealed = super::sealed_of(&mut conn, id).await;
    assert_eq!(exposed(&keys.open(id, &sealed).unwrap()), values);
    drop(conn);
    drop_test_database(name);
}
