//! The words typed columns hold are the model's words, spelled the same in three places: the
//! enum (its one mapping), the column's CHECK constraint, and SQL in `src/` that compares the
//! column with a literal (a partial index's predicate must be matched literally, so some SQL
//! spells them). A misspelt word would match nothing, silently: these tests make it loud.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use oblique::model::{
    AccessSource, AuditAction, LinkUsersBy, PropagationStatus, PushOp, RemoteOp, ResourceType,
    Role, RunChangeKind, RunPhase, RunState, RunTrigger, SyncMode,
};

use oblique::engine::stage::ObjectKind;

use crate::harness::servers;

fn words(list: impl IntoIterator<Item = &'static str>) -> BTreeSet<String> {
    list.into_iter().map(str::to_string).collect()
}

/// (table, column) → the words its enum knows.
fn typed_columns() -> BTreeMap<(&'static str, &'static str), BTreeSet<String>> {
    let states = words(RunState::ALL.iter().map(|v| v.as_str()));
    let phases = words(RunPhase::ALL.iter().map(|v| v.as_str()));
    let statuses = words(PropagationStatus::ALL.iter().map(|v| v.as_str()));
    let mut actors = words(Role::ALL.iter().map(|v| v.as_str()));
    actors.insert(Role::System.as_str().to_string());
    BTreeMap::from([
        (("sync_runs", "state"), states),
        (("sync_runs", "phase"), phases.clone()),
        (("sync_events", "phase"), phases),
        (
            ("sync_runs", "trigger"),
            words(RunTrigger::ALL.iter().map(|v| v.as_str())),
        ),
        (
            ("resources", "sync_mode"),
            words(SyncMode::ALL.iter().map(|v| v.as_str())),
        ),
        (("resources", "propagation_status"), statuses.clone()),
        (("propagations", "status"), statuses),
        (
            ("integrations", "link_users_by"),
            words(LinkUsersBy::ALL.iter().map(|v| v.as_str())),
        ),
        (("audit_events", "actor_role"), actors),
        (
            ("resources", "resource_type"),
            words(ResourceType::ALL.iter().map(|v| v.as_str())),
        ),
        (
            ("audit_events", "action"),
            words(AuditAction::ALL.iter().map(|v| v.as_str())),
        ),
        // Grants are decisions: they come from a grant or an adoption, never from the remote.
        (
            ("grants", "source"),
            words([
                AccessSource::Grant.as_str(),
                AccessSource::RemoteAdopted.as_str(),
            ]),
        ),
        (
            ("remote_intents", "operation"),
            words(RemoteOp::ALL.iter().map(|v| v.as_str())),
        ),
        (
            ("api_tokens", "role"),
            words(Role::ALL.iter().map(|v| v.as_str())),
        ),
        (
            ("sync_run_changes", "kind"),
            words(RunChangeKind::ALL.iter().map(|v| v.as_str())),
        ),
    ])
}

#[derive(diesel::QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

fn quoted(text: &str) -> BTreeSet<String> {
    let quoted = regex::Regex::new(r"'([a-z_.]+)'").unwrap();
    quoted
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect()
}

#[tokio::test]
async fn each_check_constraint_allows_exactly_the_words_of_its_enum() {
    let (name, url) = servers::create_empty_database().await;
    oblique::db::migrate::run_pending(&url).await.unwrap();
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let checks: Vec<Check> = diesel::sql_query(
        "SELECT c.conrelid::regclass::text AS table_name,
                pg_get_constraintdef(c.oid) AS definition
         FROM pg_constraint c
         WHERE c.contype = 'c' AND c.connamespace = 'public'::regnamespace",
    )
    .load(&mut conn)
    .await
    .unwrap();
    for ((table, column), expected) in typed_columns() {
        let pattern = format!(r"\({column} = ANY|\(\({column} =|\({column} IN");
        let pattern = regex::Regex::new(&pattern).unwrap();
        let defined: Vec<&Check> = checks
            .iter()
            .filter(|c| c.table_name == table && pattern.is_match(&c.definition))
            .collect();
        assert_eq!(
            defined.len(),
            1,
            "one CHECK on {table}.{column}: {defined:?}"
        );
        assert_eq!(
            quoted(&defined[0].definition),
            expected,
            "{table}.{column}: the CHECK and the enum disagree"
        );
    }
    servers::drop_test_database(name);
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.table_name, self.definition)
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn sql_in_src_compares_typed_columns_only_with_their_words() {
    // Column names are unique enough across tables that the column alone says which enum.
    let mut by_column: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for ((_, column), known) in typed_columns() {
        by_column.entry(column).or_default().extend(known);
    }
    // The push plan names its operations in SQL; the merge reads staged problems by kind.
    by_column.insert("op", words(PushOp::ALL.iter().map(|v| v.as_str())));
    by_column.insert("kind", words(ObjectKind::ALL.iter().map(|v| v.as_str())));
    let columns = by_column.keys().copied().collect::<Vec<_>>().join("|");
    let comparison = regex::Regex::new(&format!(
        r"(?:\w+\.)?\b({columns})\s*(?:=|<>|IN|NOT IN)\s*\(?\s*((?:'[a-z_.]+'\s*,?\s*)+)"
    ))
    .unwrap();

    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut seen = 0;
    let mut wrong = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for found in comparison.captures_iter(&text) {
            let known = &by_column[&found[1]];
            for word in quoted(&found[2]) {
                seen += 1;
                if !known.contains(&word) {
                    wrong.push(format!("{}: {} = '{word}'", file.display(), &found[1]));
                }
            }
        }
    }
    assert!(seen > 10, "the pattern stopped finding SQL ({seen} words)");
    assert!(wrong.is_empty(), "words no enum knows: {wrong:#?}");
}
