//! `keys rotate` while a server runs: syncs keep working during and after it, every ciphertext
//! ends up with the new key's id, old-format ciphertexts included, and it is audited.

use oblique::auth::Principal;
use oblique::cli::keys::{rotate::rotate, startup::establish, watch::follow_database_key};
use oblique::credentials::Credentials;
use oblique::crypto::{KeySource, Keys, SecretKey, sealed};
use oblique::db::audit::{AuditFilter, list_page};
use oblique::db::credentials_key::replace_sealed;
use oblique::pb::{self, SyncRunState};
use uuid::Uuid;

use super::{KeyFile, connect, exposed, ring_of, sealed_of};
use crate::harness::{TestApp, calls, create_request, test_engine};

async fn sync_succeeds(app: &TestApp, integration: &pb::Integration, when: &str) {
    let run = calls::sync_again(app, integration, false, false).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "sync {when}: {run:?}");
}

#[tokio::test]
async fn rotation_while_serving_keeps_syncs_working_and_reseals_everything_with_the_new_key() {
    let old = SecretKey::generate();
    let key_file = KeyFile::with(&ring_of(&old));
    let source = key_file.source();
    let keys = Keys::load(source.clone()).unwrap().unwrap();
    let app = TestApp::spawn_with_keys(None, test_engine(), keys).await;
    let mut conn = connect(&app.database_url).await;
    establish(&mut conn, source.clone()).await.unwrap();

    let (current_format, _) = calls::synced(&app, create_request("sealed-with-key-id").await).await;
    let (old_format, _) = calls::synced(&app, create_request("sealed-before-key-ids").await).await;
    let ids = [&current_format, &old_format].map(|i| Uuid::parse_str(&i.id).unwrap());
    assert_eq!(
        sealed::key_id_of(&sealed_of(&mut conn, ids[0]).await),
        Some(old.id())
    );

    // Rewritten as versions before key ids stored it: it still opens, and syncs.
    let credentials = app
        .ctx
        .secret_key
        .open(ids[1], &sealed_of(&mut conn, ids[1]).await)
        .unwrap();
    let legacy = sealed::seal_legacy(&old, ids[1], &credentials).unwrap();
    replace_sealed(&mut conn, ids[1], &legacy).await.unwrap();
    sync_succeeds(&app, &old_format, "on an old-format ciphertext").await;

    // Rotate while a sync runs; the server is not restarted and keeps its key source.
    let mut rotating = connect(&app.database_url).await;
    let operator = Principal::command_line();
    let (rotation, during) = tokio::join!(
        rotate(&mut rotating, &source, None, &operator),
        calls::sync_again(&app, &current_format, false, false)
    );
    let rotation = rotation.unwrap();
    assert_eq!(during.state(), SyncRunState::Succeeded, "{during:?}");
    assert_eq!(rotation.previous, Some(old.id()));
    assert_ne!(rotation.current, old.id());
    assert_eq!(rotation.reencrypted, 2);
    for id in ids {
        let sealed = sealed_of(&mut conn, id).await;
        assert_eq!(sealed::key_id_of(&sealed), Some(rotation.current), "{id}");
    }
    sync_succeeds(&app, &current_format, "after the rotation").await;
    sync_succeeds(&app, &old_format, "after the rotation").await;
    assert_eq!(app.ctx.secret_key.primary_id(), rotation.current);

    // New credentials are sealed with the new key too.
    let mut update = create_request("sealed-with-key-id").await;
    app.admin
        .integrations
        .clone()
        .update_integration(pb::UpdateIntegrationRequest {
            integration: Some(pb::Integration {
                id: current_format.id.clone(),
                credentials: std::mem::take(&mut update.credentials),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["credentials".into()],
            }),
        })
        .await
        .expect("update credentials");
    assert_eq!(
        sealed::key_id_of(&sealed_of(&mut conn, ids[0]).await),
        Some(rotation.current)
    );

    // Audited with the key ids, never a key.
    let filter = AuditFilter {
        action: Some("keys.rotate".into()),
        ..Default::default()
    };
    let events = list_page(&mut conn, &filter, None, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    let details = events[0].details.to_string();
    assert!(details.contains(&rotation.current.to_string()), "{details}");
    assert!(details.contains(&old.id().to_string()), "{details}");
    for key in key_file.key_lines() {
        assert!(!details.contains(&key), "key material in the audit log");
    }

    // Running it again is fine: another new key, everything re-sealed again, syncs still work.
    let again = rotate(&mut rotating, &source, None, &operator)
        .await
        .unwrap();
    assert_eq!(again.previous, Some(rotation.current));
    assert_eq!(again.reencrypted, 2);
    sync_succeeds(&app, &old_format, "after a second rotation").await;
    assert_eq!(
        list_page(&mut conn, &filter, None, 10).await.unwrap().len(),
        2
    );

    // A replica holding only the retired key may no longer start.
    let stale = KeyFile::with(&ring_of(&old));
    let message = format!(
        "{:#}",
        establish(&mut conn, stale.source()).await.unwrap_err()
    );
    assert!(message.contains(&again.current.to_string()), "{message}");
}

/// Replicas whose keys cannot be rewritten (OBLIQUE_SECRET_KEY as `OLD,NEW`) keep syncing through
/// a rotation to NEW, then seal with NEW once they follow the database's key check.
#[tokio::test]
async fn replicas_given_the_next_key_in_advance_follow_the_rotation() {
    let (old, new) = (SecretKey::generate(), SecretKey::generate());
    let operator_file = KeyFile::with(&ring_of(&old));
    let replica_keys = Keys::new(KeySource::Memory, ring_of(&new).with_primary(old.clone()));
    let app = TestApp::spawn_with_keys(None, test_engine(), replica_keys).await;
    let mut conn = connect(&app.database_url).await;
    establish(&mut conn, operator_file.source()).await.unwrap();
    let (integration, _) = calls::synced(&app, create_request("env-keys").await).await;
    let id = Uuid::parse_str(&integration.id).unwrap();

    let rotation = rotate(
        &mut conn,
        &operator_file.source(),
        Some(new.clone()),
        &Principal::command_line(),
    )
    .await
    .unwrap();
    assert_eq!(rotation.current, new.id());
    assert_eq!(
        sealed::key_id_of(&sealed_of(&mut conn, id).await),
        Some(new.id())
    );
    sync_succeeds(&app, &integration, "after the rotation").await;

    assert_eq!(
        follow_database_key(&mut conn, &app.ctx.secret_key)
            .await
            .unwrap(),
        None
    );
    assert_eq!(app.ctx.secret_key.primary_id(), new.id());
    let stale = Keys::from(old.clone());
    assert_eq!(
        follow_database_key(&mut conn, &stale).await.unwrap(),
        Some(new.id()),
        "a process without the new key must say so"
    );
}

/// A rotation that stops part-way (here: a row it cannot open) leaves every row readable with
/// the key file's keys, and running it again finishes the job.
#[tokio::test]
async fn an_interrupted_rotation_leaves_every_row_readable_and_running_it_again_finishes() {
    let (name, url) = crate::harness::servers::create_test_database().await;
    let mut conn = connect(&url).await;
    let old = SecretKey::generate();
    let key_file = KeyFile::with(&ring_of(&old));
    establish(&mut conn, key_file.source()).await.unwrap();
    let values = std::collections::BTreeMap::from([("password".to_string(), "s3cret".to_string())]);
    let credentials: Credentials = values.clone().into_iter().collect();
    let ids: Vec<Uuid> = (1..=4)
        .map(|n| Uuid::from_u128(0x0192_0000_0000_7000_8000 + n))
        .collect();
    for (n, id) in ids.iter().enumerate() {
        let sealed = if n == 2 {
            b"not sealed by any key we know of".to_vec()
        } else {
            sealed::seal(&old, *id, &credentials).unwrap()
        };
        oblique::db::integrations::insert(&mut conn, &new_integration(*id, n, sealed))
            .await
            .unwrap();
    }

    let operator = Principal::command_line();
    let message = format!(
        "{:#}",
        rotate(&mut conn, &key_file.source(), None, &operator)
            .await
            .unwrap_err()
    );
    assert!(message.contains(&ids[2].to_string()), "{message}");
    let keys = Keys::load(key_file.source()).unwrap().unwrap();
    let new = keys.primary_id();
    assert_ne!(new, old.id());
    let filter = AuditFilter {
        action: Some("keys.rotate".into()),
        ..Default::default()
    };
    let events = list_page(&mut conn, &filter, None, 10).await.unwrap();
    assert_eq!(events.len(), 1, "the key changed: the rotation is audited");
    assert_eq!(events[0].details["key_id"], new.to_string());
    for (n, id) in ids.iter().enumerate().filter(|(n, _)| *n != 2) {
        let sealed = sealed_of(&mut conn, *id).await;
        let expected = if n < 2 { new } else { old.id() };
        assert_eq!(sealed::key_id_of(&sealed), Some(expected), "row {n}");
        assert_eq!(
            exposed(&keys.open(*id, &sealed).unwrap()),
            values,
            "row {n}"
        );
    }

    // The broken row is dealt with; the next run re-seals everything left.
    replace_sealed(
        &mut conn,
        ids[2],
        &sealed::seal(&old, ids[2], &credentials).unwrap(),
    )
    .await
    .unwrap();
    let again = rotate(&mut conn, &key_file.source(), None, &operator)
        .await
        .unwrap();
    assert_eq!(again.reencrypted, 4);
    let keys = Keys::load(key_file.source()).unwrap().unwrap();
    for id in &ids {
        let sealed = sealed_of(&mut conn, *id).await;
        assert_eq!(sealed::key_id_of(&sealed), Some(again.current));
        assert_eq!(exposed(&keys.open(*id, &sealed).unwrap()), values);
    }
    drop(conn);
    crate::harness::servers::drop_test_database(name);
}

fn new_integration(id: Uuid, n: usize, sealed: Vec<u8>) -> oblique::db::models::NewIntegration {
    oblique::db::models::NewIntegration {
        id,
        integration_type: "postgres".into(),
        name: format!("stored-{n}"),
        config: serde_json::json!({}),
        credentials_ciphertext: Some(sealed),
        create_resources_for_new_teams: false,
        sync_interval_seconds: 3600,
        max_deletion_percent: 20,
        create_request_id: None,
        link_users_by: oblique::model::LinkUsersBy::Username,
    }
}
