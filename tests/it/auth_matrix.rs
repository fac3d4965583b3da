//! The whole authorization surface, generated: every method of every `oblique.v1` service, read
//! from the file descriptor set the server embeds, called with every kind of caller. The one
//! table below says which role each method needs; a method it does not name fails the test, so
//! a new RPC cannot ship without a decision. Requests are empty messages sent through a raw
//! bytes codec: authorization must come before any validation of the request.

use oblique::auth::Role;
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::harness::{TestApp, raw_grpc};

/// The least role each method needs (API.md: "admin" only where marked; service may also
/// trigger syncs and grant or revoke; everyone authenticated may read and subscribe).
const NEEDED: &[(&str, Role)] = &[
    ("IntegrationService/ListIntegrationTypes", Role::Viewer),
    ("IntegrationService/CreateIntegration", Role::Admin),
    ("IntegrationService/GetIntegration", Role::Viewer),
    ("IntegrationService/ListIntegrations", Role::Viewer),
    ("IntegrationService/UpdateIntegration", Role::Admin),
    ("IntegrationService/DeleteIntegration", Role::Admin),
    ("IntegrationService/ListResources", Role::Viewer),
    ("IntegrationService/GetResource", Role::Viewer),
    ("IntegrationService/SetResourceSyncMode", Role::Admin),
    ("IntegrationService/ListAccounts", Role::Viewer),
    ("IntegrationService/ListAuditEvents", Role::Admin),
    ("SyncService/TriggerSync", Role::Service),
    ("SyncService/GetSyncRun", Role::Viewer),
    ("SyncService/ListSyncRuns", Role::Viewer),
    ("SyncService/CancelSyncRun", Role::Admin),
    ("SyncService/ListSyncErrors", Role::Viewer),
    ("SyncService/ListSyncRunChanges", Role::Viewer),
    ("SyncService/WatchSyncRun", Role::Viewer),
    ("SyncService/SubscribeSyncEvents", Role::Viewer),
    ("UserService/ListUsers", Role::Viewer),
    ("UserService/GetUser", Role::Viewer),
    ("TeamService/CreateTeam", Role::Admin),
    ("TeamService/GetTeam", Role::Viewer),
    ("TeamService/ListTeams", Role::Viewer),
    ("TeamService/AddTeamMember", Role::Admin),
    ("TeamService/RemoveTeamMember", Role::Admin),
    ("AccessService/GrantAccess", Role::Service),
    ("AccessService/RevokeAccess", Role::Service),
    ("AccessService/ListAccess", Role::Viewer),
    ("AccessService/ListAccessHistory", Role::Viewer),
];

const PACKAGE: &str = "oblique.v1";

/// The empty message: every field at its default.
const EMPTY: &[u8] = &[];
/// Not a protobuf message: a field key whose varint never ends.
const UNDECODABLE: &[u8] = &[0xff, 0xff, 0xff];

/// One RPC as the descriptor set declares it.
#[derive(Debug)]
struct Method {
    /// `Service/Method`, the key of [`NEEDED`].
    name: String,
    server_streaming: bool,
}

fn declared_methods() -> Vec<Method> {
    let set = prost_types::FileDescriptorSet::decode(oblique::pb::FILE_DESCRIPTOR_SET)
        .expect("the embedded descriptor set decodes");
    let mut methods = Vec::new();
    for file in set.file.iter().filter(|f| f.package() == PACKAGE) {
        for service in &file.service {
            for method in &service.method {
                assert!(
                    !method.client_streaming(),
                    "{}: client streaming needs a case in this test",
                    method.name()
                );
                methods.push(Method {
                    name: format!("{}/{}", service.name(), method.name()),
                    server_streaming: method.server_streaming(),
                });
            }
        }
    }
    methods
}

/// Who calls.
#[derive(Debug, Clone, Copy)]
enum Caller {
    NoToken,
    Malformed,
    Unknown,
    Revoked,
    As(Role),
}

/// The code a request of `body` to `method` gets with `token` (Ok when the call was accepted).
async fn call(channel: &Channel, method: &Method, token: Option<&str>, body: &[u8]) -> Code {
    let path = format!("/{PACKAGE}.{}", method.name);
    raw_grpc::call(
        channel,
        &path,
        token,
        body.to_vec(),
        method.server_streaming,
    )
    .await
}

#[tokio::test]
async fn every_method_answers_every_caller_as_the_role_table_says() {
    let methods = declared_methods();
    assert!(methods.len() >= NEEDED.len(), "descriptor set: {methods:?}");
    for method in &methods {
        assert!(
            NEEDED.iter().any(|(name, _)| *name == method.name),
            "{} is not in the role table of this test: decide which role it needs",
            method.name
        );
    }
    for (name, _) in NEEDED {
        assert!(
            methods.iter().any(|m| m.name == *name),
            "{name} is in the role table but not served"
        );
    }

    let app = TestApp::spawn_without_sync().await;
    let revoked = app.issue_token("revoked", Role::Admin).await;
    let mut conn = app.conn().await;
    assert!(
        oblique::db::tokens::revoke(&mut conn, "revoked")
            .await
            .unwrap()
    );
    drop(conn);
    let tokens = [
        (
            Role::Viewer,
            app.issue_token("matrix-viewer", Role::Viewer).await,
        ),
        (
            Role::Service,
            app.issue_token("matrix-service", Role::Service).await,
        ),
        (
            Role::Admin,
            app.issue_token("matrix-admin", Role::Admin).await,
        ),
    ];
    let unknown = format!("obl_{}_secret", Uuid::now_v7().simple());
    let callers = [
        Caller::NoToken,
        Caller::Malformed,
        Caller::Unknown,
        Caller::Revoked,
        Caller::As(Role::Viewer),
        Caller::As(Role::Service),
        Caller::As(Role::Admin),
    ];

    let mut wrong = Vec::new();
    for method in &methods {
        let needed = NEEDED
            .iter()
            .find(|(name, _)| *name == method.name)
            .map(|(_, role)| *role)
            .expect("checked above");
        for caller in callers {
            let token = match caller {
                Caller::NoToken => None,
                Caller::Malformed => Some("not-a-token"),
                Caller::Unknown => Some(unknown.as_str()),
                Caller::Revoked => Some(revoked.as_str()),
                Caller::As(role) => tokens
                    .iter()
                    .find(|(r, _)| *r == role)
                    .map(|(_, token)| token.as_str()),
            };
            let code = call(&app.channel, method, token, EMPTY).await;
            let right = match caller {
                Caller::As(role) if role >= needed => {
                    !matches!(code, Code::Unauthenticated | Code::PermissionDenied)
                }
                Caller::As(_) => code == Code::PermissionDenied,
                _ => code == Code::Unauthenticated,
            };
            if !right {
                wrong.push(format!("{} as {caller:?} got {code:?}", method.name));
            }
            // Not even decoding comes before authorization.
            if matches!(caller, Caller::As(role) if role < needed) {
                let code = call(&app.channel, method, token, UNDECODABLE).await;
                if code != Code::PermissionDenied {
                    wrong.push(format!(
                        "{} as {caller:?} with an undecodable body got {code:?}",
                        method.name
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));
}
