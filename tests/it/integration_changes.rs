//! IntegrationService: update, delete, sync modes and accounts of existing integrations.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use oblique::db::schema::integrations;
use oblique::pb::{
    self, DeleteIntegrationRequest, GetIntegrationRequest, GetResourceRequest,
    ListIntegrationsRequest, ListResourcesRequest, UpdateIntegrationRequest,
};
use prost_types::FieldMask;
use secrecy::ExposeSecret;
use tonic::Code;
use uuid::Uuid;

use crate::fixtures::{insert_account, insert_resource};
use crate::harness::calls::create;
use crate::harness::remote::READER_PASSWORD;
use crate::harness::{TestApp, expect_code};

#[tokio::test]
async fn update_applies_the_masked_fields_only() {
    let app = TestApp::spawn_without_sync().await;
    let created = create(&app, "before").await;
    let mut client = app.admin.integrations.clone();
    let mask = |paths: &[&str]| {
        Some(FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        })
    };

    let updated = client
        .update_integration(UpdateIntegrationRequest {
            integration: Some(pb::Integration {
                id: created.id.clone(),
                name: "after".into(),
                sync_interval_seconds: 60,
                create_resources_for_new_teams: true,
                ..Default::default()
            }),
            update_mask: mask(&["name", "sync_interval_seconds"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.name, "after");
    assert_eq!(updated.sync_interval_seconds, 60);
    assert!(!updated.create_resources_for_new_teams, "not in the mask");
    assert_eq!(updated.config, created.config);
    let seconds = |t: &Option<prost_types::Timestamp>| t.map(|t| (t.seconds, t.nanos));
    assert!(seconds(&updated.updated_at) > seconds(&created.updated_at));

    // The audit event says what changed, from what, to what.
    let audit = client
        .list_audit_events(pb::ListAuditEventsRequest {
            integration_id: created.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let event = audit
        .events
        .iter()
        .find(|e| e.action == "integration.update")
        .expect("the update audited");
    let settings = |side: &str| match &event.details.as_ref().unwrap().fields[side].kind {
        Some(prost_types::value::Kind::StructValue(settings)) => settings.fields.clone(),
        other => panic!("{side}: {other:?}"),
    };
    let text = |value: &prost_types::Value| format!("{:?}", value.kind);
    let (before, after) = (settings("before"), settings("after"));
    assert!(text(&before["name"]).contains("\"before\""), "{before:?}");
    assert!(text(&after["name"]).contains("\"after\""), "{after:?}");
    assert_eq!(
        text(&before["sync_interval_seconds"]),
        text(&prost_types::Value::from(f64::from(
            created.sync_interval_seconds
        )))
    );
    assert_eq!(
        text(&after["sync_interval_seconds"]),
        text(&prost_types::Value::from(60.0))
    );

    let cases = [
        (None, "update_mask"),
        (mask(&["type"]), "update_mask"),
        (mask(&["name"]), "name"),
        (mask(&["sync_interval_seconds"]), "sync_interval_seconds"),
    ];
    for (update_mask, field) in cases {
        let status = expect_code(
            client
                .update_integration(UpdateIntegrationRequest {
                    integration: Some(pb::Integration {
                        id: created.id.clone(),
                        ..Default::default()
                    }),
                    update_mask,
                })
                .await,
            Code::InvalidArgument,
        );
        assert!(status.message().starts_with(field), "{field}: {status:?}");
    }
    let status = expect_code(
        client
            .update_integration(UpdateIntegrationRequest {
                integration: Some(pb::Integration {
                    id: created.id.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["type"]),
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().contains("link_users_by"),
        "an unknown path lists the valid ones: {status:?}"
    );
    let status = expect_code(
        client
            .update_integration(UpdateIntegrationRequest {
                integration: Some(pb::Integration {
                    id: "x".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["name"]),
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(status.message().starts_with("integration.id"));
}

#[tokio::test]
async fn rotated_credentials_are_checked_before_they_are_saved() {
    let app = TestApp::spawn_without_sync().await;
    let created = create(&app, "rotating").await;
    let id = Uuid::parse_str(&created.id).unwrap();
    let stored = |app: &TestApp| {
        let app_conn = app.ctx.pool.clone();
        async move {
            integrations::table
                .find(id)
                .select(integrations::credentials_ciphertext)
                .first::<Option<Vec<u8>>>(&mut app_conn.get().await.unwrap())
                .await
                .unwrap()
        }
    };
    let before = stored(&app).await;
    let rotate = |password: &str| UpdateIntegrationRequest {
        integration: Some(pb::Integration {
            id: created.id.clone(),
            credentials: [("password".to_string(), password.to_string())].into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["credentials".into()],
        }),
    };
    let mut client = app.admin.integrations.clone();
    let status = expect_code(
        client.update_integration(rotate("not-it")).await,
        Code::InvalidArgument,
    );
    assert!(status.message().starts_with("credentials.password"));
    assert_eq!(
        stored(&app).await,
        before,
        "a refused rotation changes nothing"
    );

    // The same password again is a real rotation: a new nonce, the same secret.
    let rotated = client
        .update_integration(rotate(READER_PASSWORD))
        .await
        .unwrap()
        .into_inner();
    assert!(rotated.credentials_set);
    assert!(rotated.credentials.is_empty());
    let after = stored(&app).await.unwrap();
    assert_ne!(Some(after.clone()), before);
    assert_eq!(
        app.ctx
            .secret_key
            .open(id, &after)
            .unwrap()
            .get("password")
            .unwrap()
            .expose_secret(),
        READER_PASSWORD
    );

    // A config change is checked against the system too (a new database takes the
    // credentials again: see credential_destination.rs).
    let mut config = created.config.clone();
    config.insert("database".into(), "no_such_database".into());
    let status = expect_code(
        client
            .update_integration(UpdateIntegrationRequest {
                integration: Some(pb::Integration {
                    id: created.id.clone(),
                    config,
                    credentials: [("password".to_string(), READER_PASSWORD.to_string())].into(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["config".into(), "credentials".into()],
                }),
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().starts_with("config.database"),
        "{status:?}"
    );
}

#[tokio::test]
async fn delete_soft_deletes_everything_and_keeps_it_resolvable() {
    let app = TestApp::spawn_without_sync().await;
    let created = create(&app, "to remove").await;
    let id = Uuid::parse_str(&created.id).unwrap();
    let pulled = insert_resource(&app, id, "readers", "pull").await;
    let pushed = insert_resource(&app, id, "writers", "push").await;
    insert_account(&app, id, "alice").await;
    let mut client = app.admin.integrations.clone();

    let status = expect_code(
        client
            .delete_integration(DeleteIntegrationRequest {
                id: created.id.clone(),
                force: false,
            })
            .await,
        Code::FailedPrecondition,
    );
    assert!(
        status.message().contains("1 push-mode resource"),
        "{status:?}"
    );
    let unchanged = client
        .get_integration(GetIntegrationRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unchanged.status(), pb::IntegrationStatus::Active);
    assert_eq!(unchanged.resource_count, 2);
    assert_eq!(unchanged.account_count, 1);

    let deleted = client
        .delete_integration(DeleteIntegrationRequest {
            id: created.id.clone(),
            force: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.resources_soft_deleted, 2);
    assert_eq!(deleted.accounts_soft_deleted, 1);
    assert_eq!(deleted.cancelled_run_id, created.last_sync_run.unwrap().id);

    let after = client
        .get_integration(GetIntegrationRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.status(), pb::IntegrationStatus::Deleted);
    assert!(after.deleted_at.is_some());
    assert_eq!(
        after.last_sync_run.unwrap().state(),
        pb::SyncRunState::Cancelled
    );

    let resource = client
        .get_resource(GetResourceRequest {
            id: pushed.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resource.deleted);
    assert_eq!(resource.name, "writers");
    let live = client
        .list_resources(ListResourcesRequest {
            integration_id: created.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(live.resources.is_empty());
    let all = client
        .list_resources(ListResourcesRequest {
            integration_id: created.id.clone(),
            include_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut names: Vec<_> = all.resources.iter().map(|r| r.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["readers", "writers"]);
    assert!(all.resources.iter().any(|r| r.id == pulled.to_string()));

    let listed = client
        .list_integrations(ListIntegrationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.integrations.is_empty());
    let with_deleted = client
        .list_integrations(ListIntegrationsRequest {
            include_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(with_deleted.integrations.len(), 1);

    // A deleted integration cannot be changed, synced or deleted again.
    expect_code(
        client
            .update_integration(UpdateIntegrationRequest {
                integration: Some(pb::Integration {
                    id: created.id.clone(),
                    name: "x".into(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["name".into()],
                }),
            })
            .await,
        Code::FailedPrecondition,
    );
    expect_code(
        app.admin
            .sync
            .clone()
            .trigger_sync(pb::TriggerSyncRequest {
                integration_id: created.id.clone(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
    );
    expect_code(
        client
            .delete_integration(DeleteIntegrationRequest {
                id: created.id.clone(),
                force: true,
            })
            .await,
        Code::FailedPrecondition,
    );

    let audit = client
        .list_audit_events(pb::ListAuditEventsRequest {
            integration_id: created.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let actions: Vec<_> = audit.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["integration.delete", "integration.create"]);
}

#[tokio::test]
async fn accounts_list_with_their_attributes() {
    let app = TestApp::spawn_without_sync().await;
    let created = create(&app, "directory").await;
    let id = Uuid::parse_str(&created.id).unwrap();
    for name in ["ann", "bob", "cyd"] {
        insert_account(&app, id, name).await;
    }
    let mut client = app.viewer.integrations.clone();
    let first = client
        .list_accounts(pb::ListAccountsRequest {
            integration_id: created.id.clone(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.accounts.len(), 2);
    assert_eq!(first.accounts[0].username, "ann");
    assert_eq!(first.accounts[0].attributes.len(), 1);
    assert_eq!(
        first.accounts[0].attributes[0].values,
        ["ann@example.org", "ann.alias@example.org"]
    );
    let second = client
        .list_accounts(pb::ListAccountsRequest {
            integration_id: created.id.clone(),
            page_size: 2,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.accounts.len(), 1);
    assert_eq!(second.accounts[0].username, "cyd");
    assert!(second.next_page_token.is_empty());
}

#[tokio::test]
async fn sync_mode_changes_are_validated_and_audited() {
    let app = TestApp::spawn_without_sync().await;
    let created = create(&app, "modes").await;
    let resource = insert_resource(
        &app,
        Uuid::parse_str(&created.id).unwrap(),
        "admins",
        "pull",
    )
    .await;
    let mut client = app.admin.integrations.clone();
    let set = |mode: pb::SyncMode| pb::SetResourceSyncModeRequest {
        resource_id: resource.to_string(),
        sync_mode: mode.into(),
    };
    let status = expect_code(
        client
            .set_resource_sync_mode(set(pb::SyncMode::Unspecified))
            .await,
        Code::InvalidArgument,
    );
    assert!(status.message().starts_with("sync_mode"));
    let pushed = client
        .set_resource_sync_mode(set(pb::SyncMode::Push))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pushed.sync_mode(), pb::SyncMode::Push);
    let audit = client
        .list_audit_events(pb::ListAuditEventsRequest {
            resource_id: resource.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(audit.events.len(), 1);
    assert_eq!(audit.events[0].action, "resource.sync_mode");

    client
        .delete_integration(DeleteIntegrationRequest {
            id: created.id.clone(),
            force: true,
        })
        .await
        .unwrap();
    expect_code(
        client.set_resource_sync_mode(set(pb::SyncMode::Pull)).await,
        Code::FailedPrecondition,
    );
}
