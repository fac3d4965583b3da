//! Arbitrary requests through the real handlers: every method of every `oblique.v1` service gets
//! messages built at random from its descriptor (fields drawn from values that hit the edges:
//! empty, huge, malformed and real ids, odd numbers, unknown enum values, nested messages). No
//! call may panic the server or answer INTERNAL/UNKNOWN, and what was written stays consistent.
//! The generator is seeded (FUZZ_SEED, printed on failure) and FUZZ_MESSAGES sets how many.

use diesel_async::RunQueryDsl;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MapKey, MessageDescriptor, Value};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tonic::Code;
use uuid::Uuid;

use crate::fixtures::{insert_account, insert_resource};
use crate::harness::{TestApp, calls, raw_grpc, remote_postgres};

const DEFAULT_MESSAGES: usize = 10_000;
/// Nested messages deeper than this are left empty.
const MAX_DEPTH: usize = 3;

/// Values a string field is drawn from: real ids of this test's objects among edge cases.
struct Pool {
    strings: Vec<String>,
    remote_port: String,
}

impl Pool {
    fn string(&self, rng: &mut StdRng) -> String {
        match rng.gen_range(0..10) {
            0 => String::new(),
            1 => Uuid::now_v7().to_string(),
            2 => "x".repeat(rng.gen_range(190..260)),
            3 => (0..rng.gen_range(1..20))
                .map(|_| rng.gen_range(0x20u8..0x7f) as char)
                .collect(),
            4 => "ü💥\u{0}\u{202e}'; DROP TABLE users; --".into(),
            _ => self.strings.choose(rng).cloned().unwrap_or_default(),
        }
    }

    /// Setup maps: known and unknown keys; values that keep every connection attempt local.
    fn setup_entry(&self, rng: &mut StdRng) -> (String, String) {
        let keys = [
            "host",
            "port",
            "username",
            "database",
            "sslmode",
            "url",
            "bind_dn",
            "password",
            "user_filter",
            "ca_cert",
            "allow_plaintext",
            "hots",
        ];
        let key = keys.choose(rng).copied().unwrap_or("host").to_string();
        let value = match key.as_str() {
            "host" => ["127.0.0.1", "localhost", "", "::1"]
                .choose(rng)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            "url" => ["ldap://127.0.0.1:1", "ldaps://localhost:1", "http://x", ""]
                .choose(rng)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            "port" => [self.remote_port.as_str(), "1", "0", "99999", "http"]
                .choose(rng)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            _ => self.string(rng),
        };
        (key, value)
    }
}

fn scalar(kind: &Kind, pool: &Pool, rng: &mut StdRng) -> Value {
    let edge_i64 = [0, 1, -1, 100, 1001, i64::from(i32::MAX), i64::MIN, i64::MAX];
    match kind {
        Kind::String => Value::String(pool.string(rng)),
        Kind::Bool => Value::Bool(rng.r#gen()),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            let pick = *edge_i64.choose(rng).unwrap_or(&0);
            Value::I32(pick.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            Value::I64(*edge_i64.choose(rng).unwrap_or(&0))
        }
        Kind::Uint32 | Kind::Fixed32 => Value::U32(rng.r#gen()),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(rng.r#gen()),
        Kind::Float => Value::F32(rng.r#gen()),
        Kind::Double => Value::F64(rng.r#gen()),
        Kind::Bytes => Value::Bytes((0..rng.gen_range(0..40)).map(|_| rng.r#gen()).collect()),
        // Unknown numbers too: a peer built from a newer proto sends them.
        Kind::Enum(_) => Value::EnumNumber(rng.gen_range(-1..8)),
        // Callers build nested messages themselves, knowing the depth.
        Kind::Message(message) => Value::Message(DynamicMessage::new(message.clone())),
    }
}

fn random_message(
    descriptor: &MessageDescriptor,
    pool: &Pool,
    rng: &mut StdRng,
    depth: usize,
) -> DynamicMessage {
    let mut message = DynamicMessage::new(descriptor.clone());
    if depth > MAX_DEPTH {
        return message;
    }
    for field in descriptor.fields() {
        if rng.gen_bool(0.3) {
            continue;
        }
        let value = if field.is_map() {
            let mut map = std::collections::HashMap::new();
            for _ in 0..rng.gen_range(0..5) {
                let (key, value) = pool.setup_entry(rng);
                map.insert(MapKey::String(key), Value::String(value));
            }
            Value::Map(map)
        } else if field.is_list() {
            let kind = field.kind();
            let items = (0..rng.gen_range(0..4))
                .map(|_| match &kind {
                    Kind::Message(m) => Value::Message(random_message(m, pool, rng, depth + 1)),
                    other => scalar(other, pool, rng),
                })
                .collect();
            Value::List(items)
        } else {
            match field.kind() {
                Kind::Message(m) => Value::Message(random_message(&m, pool, rng, depth + 1)),
                other => scalar(&other, pool, rng),
            }
        };
        message.set_field(&field, value);
    }
    message
}

/// The objects the requests can name, so that calls get past "not found" into real work.
async fn seed(app: &TestApp) -> Vec<String> {
    let integration = calls::create(app, "fuzzed").await;
    let integration_id: Uuid = integration.id.parse().expect("id");
    let resource = insert_resource(app, integration_id, "fuzz_role", "pull").await;
    let push_resource = insert_resource(app, integration_id, "fuzz_push", "push").await;
    let account = insert_account(app, integration_id, "fuzz_user").await;
    let run = integration.last_sync_run.clone().expect("run").id;
    let mut strings = vec![
        integration.id.clone(),
        resource.to_string(),
        push_resource.to_string(),
        account.to_string(),
        run,
        "postgres".into(),
        "ldap".into(),
        "name".into(),
        "config".into(),
        "credentials".into(),
        "sync_interval_seconds".into(),
        "fuzz_user".into(),
    ];
    let users: Vec<Uuid> = diesel::sql_query("SELECT id FROM users")
        .load::<IdRow>(&mut app.conn().await)
        .await
        .expect("users")
        .into_iter()
        .map(|row| row.id)
        .collect();
    strings.extend(users.iter().map(Uuid::to_string));
    strings
}

#[derive(diesel::QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Every change the fuzzed calls made is whole: each live object has the audit event of its
/// making, and no grant, team or membership points at nothing.
async fn assert_consistent(app: &TestApp) {
    let checks = [
        (
            "integrations without their creation audit event",
            "SELECT count(*) AS n FROM integrations i WHERE NOT EXISTS (
               SELECT 1 FROM audit_events e
               WHERE e.integration_id = i.id AND e.action = 'integration.create')",
        ),
        (
            "deleted integrations with live resources",
            "SELECT count(*) AS n FROM resources r JOIN integrations i ON i.id = r.integration_id
             WHERE i.deleted_at IS NOT NULL AND r.deleted_at IS NULL",
        ),
        (
            "teams without their creation audit event",
            "SELECT count(*) AS n FROM teams t WHERE NOT EXISTS (
               SELECT 1 FROM audit_events e
               WHERE e.action = 'team.create' AND e.details->>'team_id' = t.id::text)",
        ),
    ];
    let mut conn = app.conn().await;
    for (what, sql) in checks {
        let found: Count = diesel::sql_query(sql)
            .get_result(&mut conn)
            .await
            .unwrap_or_else(|error| panic!("checking {what}: {error}"));
        assert_eq!(found.n, 0, "{what}");
    }
}

#[tokio::test]
async fn arbitrary_requests_never_panic_nor_fail_internally() {
    let app = TestApp::spawn_without_sync().await;
    let remote = remote_postgres().await;
    let pool = Pool {
        strings: seed(&app).await,
        remote_port: remote.port.to_string(),
    };
    let token = app.issue_token("fuzzer", oblique::auth::Role::Admin).await;
    let descriptors =
        DescriptorPool::decode(oblique::pb::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let methods: Vec<_> = descriptors
        .services()
        .filter(|service| service.full_name().starts_with("oblique.v1."))
        .flat_map(|service| service.methods().collect::<Vec<_>>())
        .collect();
    assert!(methods.len() > 20, "found only {} methods", methods.len());

    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let total: usize = std::env::var("FUZZ_MESSAGES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_MESSAGES);
    let mut rng = StdRng::seed_from_u64(seed);
    for index in 0..total {
        let method = &methods[index % methods.len()];
        let message = random_message(&method.input(), &pool, &mut rng, 0);
        let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
        let body = message.encode_to_vec();
        let code = raw_grpc::call(
            &app.channel,
            &path,
            Some(&token),
            body,
            method.is_server_streaming(),
        )
        .await;
        assert!(
            !matches!(code, Code::Internal | Code::Unknown),
            "FUZZ_SEED={seed}: message {index} to {path} answered {code:?}: {message:?}"
        );
    }
    assert_consistent(&app).await;
}
