//! Staging: a run's own PostgreSQL connection with temporary tables that pages of remote objects
//! are copied into (binary COPY, never a round trip per row). The merge then applies the
//! difference from there. diesel-async has no COPY, so this connection is tokio-postgres; the
//! temporary tables vanish with it.

mod fit;
mod names;

use std::pin::Pin;

use bytes::Bytes;
use futures::SinkExt;
use tokio_postgres::{Client, CopyInSink};
use uuid::Uuid;

use crate::connectors::{ObjectProblem, RemoteAccess, RemoteAccount, RemoteResource};
use crate::engine::access_key::PairKeys;
use crate::engine::copy_rows::CopyRows;
use crate::engine::first_sync::{self, FirstSyncListing};

pub use fit::{Fit, storable};
use names::MemberNames;

/// Which listing a problem came from; stored with it so that a known but unreadable object is
/// not soft deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Account,
    Resource,
    Access,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 3] = [
        ObjectKind::Account,
        ObjectKind::Resource,
        ObjectKind::Access,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Account => "account",
            ObjectKind::Resource => "resource",
            ObjectKind::Access => "access",
        }
    }
}

/// Staged accounts, resources and memberships carry the ids their rows get if the merge inserts
/// them (and an account the id of the user made for it), UUIDv7s made here: generating them in
/// SQL costs microseconds per row, more than copying the row in. On a first sync, attributes
/// carry their account's id too, so that its merge inserts them without a join.
const CREATE_TABLES: &str = "
    CREATE TEMP TABLE stage_accounts (
        id uuid NOT NULL, user_id uuid NOT NULL, external_id text NOT NULL,
        username text NOT NULL, email text, display_name text NOT NULL,
        member_names text[] NOT NULL);
    CREATE TEMP TABLE stage_attributes (
        external_id text NOT NULL, name text NOT NULL, attribute_values text[] NOT NULL,
        account_id uuid);
    CREATE TEMP TABLE stage_resources (
        id uuid NOT NULL, external_id text NOT NULL, resource_type text NOT NULL, name text NOT NULL,
        description text NOT NULL, member_names text[] NOT NULL);
    CREATE TEMP TABLE stage_access (
        id uuid NOT NULL, resource_external_id text NOT NULL, account_external_id text NOT NULL,
        pair_key bigint NOT NULL, inherited boolean NOT NULL,
        by_member_name boolean NOT NULL DEFAULT false);
    CREATE TEMP TABLE stage_named_access (
        resource_external_id text NOT NULL, member_name text NOT NULL, inherited boolean NOT NULL);
    CREATE TEMP TABLE stage_problems (
        kind text NOT NULL, external_id text, object text NOT NULL, message text NOT NULL);";

/// A page of one listing, on its way into its staging table.
pub enum StagedPage {
    Accounts(Vec<RemoteAccount>),
    Resources(Vec<RemoteResource>),
    Access(Vec<RemoteAccess>),
}

/// The staging tables, with their COPY statements and column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Accounts,
    Attributes,
    Resources,
    Access,
    NamedAccess,
    Problems,
}

impl Table {
    fn copy_statement(self) -> &'static str {
        match self {
            Table::Accounts => {
                "COPY stage_accounts (id, user_id, external_id, username, email, display_name, \
                 member_names) FROM STDIN BINARY"
            }
            Table::Attributes => {
                "COPY stage_attributes (external_id, name, attribute_values, account_id) \
                 FROM STDIN BINARY"
            }
            Table::Resources => {
                "COPY stage_resources (id, external_id, resource_type, name, description, \
                 member_names) FROM STDIN BINARY"
            }
            Table::Access => {
                "COPY stage_access (id, resource_external_id, account_external_id, pair_key, \
                 inherited) FROM STDIN BINARY"
            }
            Table::NamedAccess => {
                "COPY stage_named_access (resource_external_id, member_name, inherited) \
                 FROM STDIN BINARY"
            }
            Table::Problems => {
                "COPY stage_problems (kind, external_id, object, message) FROM STDIN BINARY"
            }
        }
    }
}

/// Bounds each statement of a run's connection, so that one the server never answers (a
/// half-open connection, a lock never released) ends the run instead of holding its worker for
/// ever. Far above the request connections' timeout: a COPY stays open for a whole listing,
/// page after page of a slow remote, and the merge of a million memberships is one statement
/// per table. Lock waits (the merge's user lock, held by another run's merge) count in it too.
const STAGING_STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2 * 3600);

/// Attributes waiting for their COPY while the accounts' one is open. A connection runs one
/// COPY at a time, and switching tables every page would end the stream every page.
const ATTRIBUTE_BATCH: usize = 20_000;

/// Pairs left by member name (see `names`) waiting for their COPY while the access one is
/// open, as attributes wait for theirs.
const NAMED_PAIR_BATCH: usize = 20_000;

/// Encoded rows are sent once this many bytes wait, and when the COPY ends.
const SEND_AT: usize = 64 * 1024;

struct OpenCopy {
    table: Table,
    sink: Pin<Box<CopyInSink<Bytes>>>,
    rows: CopyRows,
}

/// An account's attributes, staged: the account's external id (once for all of them: an
/// allocation per attribute fewer), the id it is staged with on a first sync, and each name
/// with its values.
struct StagedAttributes {
    external_id: String,
    account_id: Option<Uuid>,
    attributes: Vec<(String, Vec<String>)>,
}

pub struct Staging {
    client: Client,
    connection: tokio::task::JoinHandle<()>,
    /// The COPY rows are streaming into. It stays open from page to page, so that the server
    /// stores one page while the next is fetched, and ends when another table is written to or
    /// the listing is over (`finish`).
    open: Option<OpenCopy>,
    attributes: Vec<StagedAttributes>,
    /// Attributes in `attributes`, all accounts together.
    attribute_count: usize,
    /// Keys access pairs with the integration's secret (see `access_key`).
    pair_keys: PairKeys,
    /// On a first sync: the ids made while listing and the memberships kept for the merge.
    first_sync: Option<FirstSyncListing>,
    /// What `first_sync` may grow to before it is given up (see `first_sync::MEMORY_BUDGET`).
    first_sync_budget: usize,
    /// The accounts' member names, while they fit in `names::BUDGET` and no account page came
    /// after an access page; else pairs by member name are resolved in SQL.
    names: Option<MemberNames>,
    access_listed: bool,
    /// Pairs by a member name `names` does not know, for `stage_named_access`.
    named_pairs: Vec<RemoteAccess>,
}

impl Staging {
    /// `pair_key_secret`: the integration's `access_key_secret`.
    pub async fn open(database_url: &str, pair_key_secret: Vec<u8>) -> anyhow::Result<Self> {
        let (client, connection) = crate::db::connect::connect(database_url).await?;
        let connection = tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "staging connection closed");
            }
        });
        client
            .batch_execute(&format!(
                "SET application_name = 'oblique-sync'; SET statement_timeout = {}; \
                 SET temp_buffers = '64MB'",
                STAGING_STATEMENT_TIMEOUT.as_millis()
            ))
            .await?;
        client.batch_execute(CREATE_TABLES).await?;
        Ok(Staging {
            client,
            connection,
            open: None,
            attributes: Vec::new(),
            attribute_count: 0,
            pair_keys: PairKeys::new(&pair_key_secret),
            first_sync: None,
            first_sync_budget: first_sync::MEMORY_BUDGET,
            names: Some(MemberNames::default()),
            access_listed: false,
            named_pairs: Vec::new(),
        })
    }

    /// Lists for a first sync (see [`crate::engine::first_sync`]): called before anything is
    /// staged, when the integration has no accounts and no resources and the run is no dry run.
    pub fn expect_first_sync(&mut self) {
        self.expect_first_sync_within(first_sync::MEMORY_BUDGET);
    }

    /// [`Self::expect_first_sync`], given up once what it keeps outgrows `budget` bytes.
    pub fn expect_first_sync_within(&mut self, budget: usize) {
        debug_assert!(self.open.is_none() && self.attributes.is_empty());
        self.first_sync = Some(FirstSyncListing::default());
        self.first_sync_budget = budget;
    }

    /// Leaves every pair given by member name to the merge's SQL, as past the names' budget
    /// (tests hold the two ways alike).
    pub fn without_member_names(&mut self) {
        self.names = None;
    }

    /// For the merge: what a first sync's listing kept beyond staging, and the pair keys.
    pub fn take_first_sync(&mut self) -> Option<(FirstSyncListing, PairKeys)> {
        let listing = self.first_sync.take()?;
        Some((listing, self.pair_keys.clone()))
    }

    /// The connection, for the merge; everything listed so far must have been `finish`ed.
    pub fn client(&mut self) -> &mut Client {
        debug_assert!(self.open.is_none() && self.attributes.is_empty());
        &mut self.client
    }

    pub async fn stage(&mut self, page: StagedPage) -> Result<(), tokio_postgres::Error> {
        match page {
            StagedPage::Accounts(accounts) => self.accounts(accounts).await?,
            StagedPage::Resources(resources) => self.resources(&resources).await?,
            StagedPage::Access(access) => self.access(&access).await?,
        }
        if self
            .first_sync
            .as_ref()
            .is_some_and(|listing| listing.over(self.first_sync_budget))
        {
            self.give_up_first_sync("it outgrew its memory budget")
                .await?;
        }
        Ok(())
    }

    /// A first sync given up (`why`): the pairs it kept are staged, and the rest of the
    /// listing is staged as any sync's; the normal merge lands it all. The ids already made
    /// stay the staged rows' ids (any id will do for a row the merge inserts).
    async fn give_up_first_sync(&mut self, why: &str) -> Result<(), tokio_postgres::Error> {
        let Some(listing) = self.first_sync.take() else {
            return Ok(());
        };
        tracing::debug!(
            budget = self.first_sync_budget,
            "a first sync's listing is staged as any sync's: {why}"
        );
        let pair_keys = self.pair_keys.clone();
        for (resource, member) in listing.pairs() {
            let rows = self.rows_for(Table::Access).await?;
            listing.stage_access_row(rows, &pair_keys, resource, member);
            self.send_if_full().await?;
        }
        Ok(())
    }

    /// Ends the open COPY and writes the waiting attributes: the listing is complete.
    pub async fn finish(&mut self) -> Result<(), tokio_postgres::Error> {
        self.flush_attributes().await?;
        self.flush_named_pairs().await?;
        self.end_copy().await
    }

    async fn accounts(
        &mut self,
        mut accounts: Vec<RemoteAccount>,
    ) -> Result<(), tokio_postgres::Error> {
        if accounts.is_empty() {
            return Ok(());
        }
        let mut first_sync = self.first_sync.take();
        let rows = self.rows_for(Table::Accounts).await?;
        let mut first_sync_ids = Vec::new();
        for account in &accounts {
            let (id, user_id) = match &mut first_sync {
                Some(listing) => {
                    let ids = listing.account_ids(&account.external_id);
                    first_sync_ids.push(ids.0);
                    ids
                }
                None => (Uuid::now_v7(), Uuid::now_v7()),
            };
            rows.row(7)
                .uuid(&id)
                .uuid(&user_id)
                .text(&account.external_id)
                .text(&account.username)
                .nullable_text(account.email.as_deref())
                .text(&account.display_name)
                .text_array(&account.member_names);
        }
        self.first_sync = first_sync;
        self.send_if_full().await?;
        if !self.note_member_names(&accounts) {
            self.give_up_first_sync("its accounts' member names are resolved in SQL")
                .await?;
        }
        for (index, account) in accounts.iter_mut().enumerate() {
            let attributes = first_of_each_name(std::mem::take(&mut account.attributes));
            if !attributes.is_empty() {
                self.attribute_count += attributes.len();
                self.attributes.push(StagedAttributes {
                    external_id: std::mem::take(&mut account.external_id),
                    account_id: first_sync_ids.get(index).copied(),
                    attributes,
                });
            }
        }
        if self.attribute_count >= ATTRIBUTE_BATCH {
            self.flush_attributes().await?;
        }
        Ok(())
    }

    /// Keeps the accounts' member names for the access listing, while they fit; false once
    /// they are left to SQL. Pairs staged before an account was listed were resolved without
    /// it: from then on SQL resolves them.
    fn note_member_names(&mut self, accounts: &[RemoteAccount]) -> bool {
        if self.access_listed {
            self.names = None;
        }
        let Some(names) = &mut self.names else {
            return false;
        };
        for account in accounts {
            names.add(&account.external_id, &account.member_names);
        }
        if names.over(names::BUDGET) {
            tracing::debug!("the accounts' member names outgrew their budget; SQL resolves them");
            self.names = None;
            return false;
        }
        true
    }

    async fn flush_attributes(&mut self) -> Result<(), tokio_postgres::Error> {
        if self.attributes.is_empty() {
            return Ok(());
        }
        let attributes = std::mem::take(&mut self.attributes);
        self.attribute_count = 0;
        let rows = self.rows_for(Table::Attributes).await?;
        for staged in &attributes {
            for (name, values) in &staged.attributes {
                rows.row(4)
                    .text(&staged.external_id)
                    .text(name)
                    .text_array(values)
                    .nullable_uuid(staged.account_id.as_ref());
            }
        }
        self.end_copy().await
    }

    async fn resources(
        &mut self,
        resources: &[RemoteResource],
    ) -> Result<(), tokio_postgres::Error> {
        if resources.is_empty() {
            return Ok(());
        }
        let mut first_sync = self.first_sync.take();
        let rows = self.rows_for(Table::Resources).await?;
        for resource in resources {
            let id = match &mut first_sync {
                Some(listing) => listing.resource_id(&resource.external_id),
                None => Uuid::now_v7(),
            };
            rows.row(6)
                .uuid(&id)
                .text(&resource.external_id)
                .text(resource.resource_type.as_str())
                .text(&resource.name)
                .text(&resource.description)
                .text_array(&resource.member_names);
        }
        self.first_sync = first_sync;
        self.send_if_full().await?;
        // Member resources are expanded in SQL over the staged pairs (`merge::member_names`),
        // so a first sync cannot keep its pairs in memory.
        if resources.iter().any(|r| !r.member_names.is_empty()) {
            self.give_up_first_sync("member resources are expanded in staging")
                .await?;
        }
        Ok(())
    }

    async fn access(&mut self, access: &[RemoteAccess]) -> Result<(), tokio_postgres::Error> {
        // Each pair under its account's external id (a member name resolved, else left for the
        // merge: `merge::member_names` resolves or counts it); a first sync keeps the pairs it
        // can land itself.
        if !access.is_empty() {
            self.access_listed = true;
        }
        let names = self.names.take();
        let mut first_sync = self.first_sync.take();
        let mut named = std::mem::take(&mut self.named_pairs);
        let mut staged: Vec<(&RemoteAccess, &str)> = Vec::with_capacity(access.len());
        for pair in access {
            let account = match (&names, pair.by_member_name) {
                (_, false) => Some(pair.account_external_id.as_str()),
                (Some(names), true) => names.find(&pair.account_external_id),
                (None, true) => None,
            };
            match account {
                None => named.push(pair.clone()),
                Some(account) => {
                    if !first_sync.as_mut().is_some_and(|l| l.keep(pair, account)) {
                        staged.push((pair, account));
                    }
                }
            }
        }
        (self.first_sync, self.named_pairs) = (first_sync, named);
        let result = self.stage_pairs(&staged).await;
        self.names = names;
        result?;
        if self.named_pairs.len() >= NAMED_PAIR_BATCH {
            self.flush_named_pairs().await?;
        }
        Ok(())
    }

    /// Stages pairs, each under its account's external id.
    async fn stage_pairs(
        &mut self,
        pairs: &[(&RemoteAccess, &str)],
    ) -> Result<(), tokio_postgres::Error> {
        if pairs.is_empty() {
            return Ok(());
        }
        // A copy of the hash state a page: `rows` holds `self` borrowed.
        let pair_keys = self.pair_keys.clone();
        let rows = self.rows_for(Table::Access).await?;
        for &(pair, account) in pairs {
            rows.row(5)
                .uuid(&Uuid::now_v7())
                .text(&pair.resource_external_id)
                .text(account)
                .int8(pair_keys.key(&pair.resource_external_id, account))
                .boolean(pair.inherited);
        }
        self.send_if_full().await
    }

    async fn flush_named_pairs(&mut self) -> Result<(), tokio_postgres::Error> {
        if self.named_pairs.is_empty() {
            return Ok(());
        }
        let named = std::mem::take(&mut self.named_pairs);
        let rows = self.rows_for(Table::NamedAccess).await?;
        for pair in &named {
            rows.row(3)
                .text(&pair.resource_external_id)
                .text(&pair.account_external_id)
                .boolean(pair.inherited);
        }
        self.end_copy().await
    }

    pub async fn problems(
        &mut self,
        kind: ObjectKind,
        problems: &[ObjectProblem],
    ) -> Result<(), tokio_postgres::Error> {
        if problems.is_empty() {
            return Ok(());
        }
        let kind = kind.as_str();
        let rows = self.rows_for(Table::Problems).await?;
        for problem in problems {
            rows.row(4)
                .text(kind)
                .nullable_text(problem.external_id.as_deref())
                .text(&problem.object)
                .text(&problem.message);
        }
        self.send_if_full().await
    }

    /// The buffer of `table`'s COPY, starting it (and ending another) when needed.
    async fn rows_for(&mut self, table: Table) -> Result<&mut CopyRows, tokio_postgres::Error> {
        if self.open.as_ref().is_some_and(|open| open.table != table) {
            self.end_copy().await?;
        }
        let open = match self.open.take() {
            Some(open) => open,
            None => OpenCopy {
                table,
                sink: Box::pin(self.client.copy_in(table.copy_statement()).await?),
                rows: CopyRows::new(),
            },
        };
        Ok(&mut self.open.insert(open).rows)
    }

    /// Sends the encoded rows once enough wait; the server stores them while the next page is
    /// fetched.
    async fn send_if_full(&mut self) -> Result<(), tokio_postgres::Error> {
        if let Some(open) = &mut self.open
            && open.rows.len() >= SEND_AT
        {
            open.sink.send(open.rows.take()).await?;
        }
        Ok(())
    }

    async fn end_copy(&mut self) -> Result<(), tokio_postgres::Error> {
        if let Some(mut open) = self.open.take() {
            open.sink.send(open.rows.finish()).await?;
            open.sink.as_mut().finish().await?;
        }
        Ok(())
    }
}

/// An account's attributes are a map: a name repeated keeps its first values, so staged names
/// repeat only for an account listed twice.
fn first_of_each_name(attributes: Vec<(String, Vec<String>)>) -> Vec<(String, Vec<String>)> {
    let mut attributes = attributes;
    let mut seen = std::collections::HashSet::with_capacity(attributes.len());
    let repeated: Vec<bool> = attributes
        .iter()
        .map(|(name, _)| !seen.insert(name.as_str()))
        .collect();
    if repeated.contains(&true) {
        let mut repeated = repeated.into_iter();
        attributes.retain(|_| !repeated.next().unwrap_or(false));
    }
    attributes
}

impl Drop for Staging {
    fn drop(&mut self) {
        // The client going away closes the connection; the task would end by itself, this makes
        // it prompt.
        self.connection.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::first_of_each_name;

    #[test]
    fn a_repeated_attribute_name_keeps_its_first_values() {
        let attribute = |name: &str, value: &str| (name.to_string(), vec![value.to_string()]);
        let kept = first_of_each_name(vec![
            attribute("mail", "a@x"),
            attribute("cn", "Ann"),
            attribute("mail", "b@x"),
        ]);
        assert_eq!(kept, [attribute("mail", "a@x"), attribute("cn", "Ann")]);
    }
}
