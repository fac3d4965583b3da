//! The remote of the kill test: ~5,000 roles and ~50,000 memberships in the shared remote
//! cluster, made by one statement, and the changes made to it between kills so that each merge
//! has work to do.

use std::collections::{BTreeMap, BTreeSet};

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use rand::Rng;
use rand::rngs::StdRng;

use crate::harness::remote::RemoteRoles;

/// LOGIN roles (accounts): `<prefix>_u0001` …
pub const USERS: usize = 4500;
/// NOLOGIN roles (resources): `<prefix>_g000` …
pub const GROUPS: usize = 500;
/// Every user is a member of this many groups, spread evenly: 49,500 memberships.
pub const GROUPS_PER_USER: usize = 11;
/// Objects a listing brings: accounts, resources and memberships (churn changes it a little).
pub const LISTED: i64 = (USERS + GROUPS + USERS * GROUPS_PER_USER) as i64;
/// The first groups are switched to push mode; churn leaves their members alone, so that what
/// the pushes make of them is the test's decisions alone.
pub const PUSH_GROUPS: usize = 20;

pub fn user(i: usize) -> String {
    format!("u{i:04}")
}

pub fn group(g: usize) -> String {
    format!("g{g:03}")
}

/// Creates `users` LOGIN roles (at most 9,999), [`GROUPS`] NOLOGIN roles and the memberships,
/// with a few attributes (connection limits, CREATEDB, password expiry, comments) varying from
/// role to role.
pub async fn create_roles(roles: &RemoteRoles, users: usize) {
    let spread = GROUPS / GROUPS_PER_USER;
    roles
        .sql(&format!(
            "DO $$
             DECLARE r record;
             BEGIN
               FOR r IN SELECT i, '{{p}}_u' || lpad(i::text, 4, '0') AS name
                        FROM generate_series(1, {users}) AS i LOOP
                 EXECUTE format('CREATE ROLE %I LOGIN CONNECTION LIMIT %s', r.name, r.i % 7 - 1)
                   || CASE WHEN r.i % 13 = 0 THEN ' CREATEDB' ELSE '' END
                   || CASE WHEN r.i % 10 = 0
                           THEN format(' VALID UNTIL %L', timestamptz '2031-01-01 00:00Z'
                                                          + r.i * interval '1 hour')
                           ELSE '' END;
                 IF r.i % 5 = 0 THEN
                   EXECUTE format('COMMENT ON ROLE %I IS %L', r.name, 'user number ' || r.i);
                 END IF;
               END LOOP;
               FOR r IN SELECT g, '{{p}}_g' || lpad(g::text, 3, '0') AS name
                        FROM generate_series(0, {GROUPS} - 1) AS g LOOP
                 EXECUTE format('CREATE ROLE %I NOLOGIN', r.name);
                 EXECUTE format('COMMENT ON ROLE %I IS %L', r.name, 'group ' || r.g);
               END LOOP;
               FOR r IN SELECT '{{p}}_g' || lpad(((i + {spread} * k) % {GROUPS})::text, 3, '0')
                                 AS name,
                               string_agg(format('%I', '{{p}}_u' || lpad(i::text, 4, '0')), ', ')
                                 AS members
                        FROM generate_series(1, {users}) AS i,
                             generate_series(0, {GROUPS_PER_USER} - 1) AS k
                        GROUP BY 1 LOOP
                 EXECUTE format('GRANT %I TO %s', r.name, r.members);
               END LOOP;
             END $$"
        ))
        .await;
}

/// Changes the remote as a day of work would, in one batch: new users in pull-mode groups,
/// users of an earlier batch gone, memberships of pull-mode groups moved, attributes and
/// descriptions edited, a group made and one dropped. Push-mode groups keep their members.
pub async fn churn(roles: &RemoteRoles, batch: usize, rng: &mut StdRng) {
    let pull_group = |rng: &mut StdRng| group(rng.gen_range(PUSH_GROUPS..GROUPS));
    let base_user = |rng: &mut StdRng| user(rng.gen_range(1..=USERS));
    let mut sql = Vec::new();
    for i in 0..20 {
        let name = format!("c{batch}_{i:02}");
        sql.push(format!("CREATE ROLE {{p}}_{name} LOGIN"));
        for _ in 0..3 {
            let group = pull_group(rng);
            sql.push(format!("GRANT {{p}}_{group} TO {{p}}_{name}"));
        }
    }
    if batch > 0 {
        let earlier = batch - 1;
        for i in 0..10 {
            sql.push(format!("DROP ROLE IF EXISTS {{p}}_c{earlier}_{i:02}"));
        }
        sql.push(format!("DROP ROLE IF EXISTS {{p}}_x{earlier}"));
    }
    sql.push(format!("CREATE ROLE {{p}}_x{batch} NOLOGIN"));
    for _ in 0..40 {
        let (group, user) = (pull_group(rng), base_user(rng));
        sql.push(format!("REVOKE {{p}}_{group} FROM {{p}}_{user}"));
        let (group, user) = (pull_group(rng), base_user(rng));
        sql.push(format!("GRANT {{p}}_{group} TO {{p}}_{user}"));
        let user = base_user(rng);
        sql.push(format!("GRANT {{p}}_x{batch} TO {{p}}_{user}"));
    }
    for _ in 0..30 {
        let user = base_user(rng);
        sql.push(format!(
            "COMMENT ON ROLE {{p}}_{user} IS 'edited in batch {batch}'"
        ));
        let user = base_user(rng);
        let limit = rng.gen_range(-1..50);
        sql.push(format!("ALTER ROLE {{p}}_{user} CONNECTION LIMIT {limit}"));
    }
    for _ in 0..5 {
        let group = pull_group(rng);
        sql.push(format!(
            "COMMENT ON ROLE {{p}}_{group} IS 'described in batch {batch}'"
        ));
    }
    // GRANT of a membership that exists, and REVOKE of one that does not, only warn.
    roles
        .sql(&format!(
            "SET client_min_messages = error; {}",
            sql.join(";\n")
        ))
        .await;
}

/// Members of each of these groups on the remote (short role names), from pg_auth_members.
pub async fn members(roles: &RemoteRoles, groups: &[String]) -> BTreeMap<String, BTreeSet<String>> {
    #[derive(diesel::QueryableByName)]
    struct Membership {
        #[diesel(sql_type = Text)]
        grp: String,
        #[diesel(sql_type = Text)]
        member: String,
    }
    let names: Vec<String> = groups.iter().map(|g| roles.name(g)).collect();
    let rows: Vec<Membership> = diesel::sql_query(
        "SELECT g.rolname::text AS grp, m.rolname::text AS member
         FROM pg_auth_members am
         JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
         WHERE g.rolname = ANY($1)",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(&names)
    .load(&mut roles.connect_admin().await)
    .await
    .expect("reading pg_auth_members");
    let short = |name: &str| name[roles.prefix.len() + 1..].to_string();
    let mut members: BTreeMap<String, BTreeSet<String>> = groups
        .iter()
        .map(|g| (g.clone(), BTreeSet::new()))
        .collect();
    for row in rows {
        members
            .entry(short(&row.grp))
            .or_default()
            .insert(short(&row.member));
    }
    members
}
