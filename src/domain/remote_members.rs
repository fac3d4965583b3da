//! Who is a member of one resource on the remote system now, from a fresh listing: what a
//! switch to push mode adopts (see [`super::sync_mode`]).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use uuid::Uuid;

use super::grants::ensure_live;
use crate::connectors::{Connector, ConnectorError, IntegrationKind};
use crate::context::AppContext;
use crate::db::{integrations, resources};
use crate::engine::connector::connector_for_integration;
use crate::error::AppResult;
use crate::model::SyncMode;

/// The external ids of the accounts that are members of the resource on the remote system now,
/// from a fresh listing; `None` when the resource is not a pull-mode resource that could switch
/// (the transaction says why, or that nothing is to be done).
pub(super) async fn current_members(ctx: &AppContext, id: Uuid) -> AppResult<Option<Vec<String>>> {
    let (resource, integration) = {
        let mut conn = ctx.pool.get().await?;
        let Some(resource) = resources::find(&mut conn, id).await? else {
            return Ok(None);
        };
        let Some(integration) = integrations::find(&mut conn, resource.integration_id).await?
        else {
            return Ok(None);
        };
        (resource, integration)
    };
    let can_push = IntegrationKind::from_name(&integration.integration_type)
        .is_some_and(|kind| kind.capabilities().can_push);
    if resource.sync_mode == SyncMode::Push
        || !can_push
        || ensure_live(&resource, &integration).is_err()
    {
        return Ok(None);
    }
    let connector = connector_for_integration(&ctx.secret_key, &integration)?;
    let mut pages = connector.list_access();
    let (mut members, mut names) = (Vec::new(), HashSet::new());
    while let Some(page) = pages.next().await {
        // An unreadable membership cannot be adopted; the listing of the rest goes on. A
        // member through a member group only is not the group's own: adopting it would push it
        // onto the group itself.
        for access in page?.into_iter().flatten() {
            if access.resource_external_id != resource.external_id || access.inherited {
                continue;
            }
            if access.by_member_name {
                names.insert(access.account_external_id);
            } else {
                members.push(access.account_external_id);
            }
        }
    }
    if !names.is_empty() {
        members.extend(resolve_member_names(connector.as_ref(), &names).await?);
    }
    // One account named twice (by DN and by username) is one member.
    members.sort_unstable();
    members.dedup();
    Ok(Some(members))
}

/// The external ids of the accounts `names` name (see `RemoteAccount::member_names`), from a
/// listing of the accounts: only these names are kept, so memory grows with the resource's
/// members, not the directory. A name no account has, or more than one has, names no one, as
/// in a sync's merge.
async fn resolve_member_names(
    connector: &dyn Connector,
    names: &HashSet<String>,
) -> Result<Vec<String>, ConnectorError> {
    // None: more than one account has the name.
    let mut found: HashMap<String, Option<String>> = HashMap::new();
    let mut accounts = connector.list_accounts();
    while let Some(page) = accounts.next().await {
        for account in page?.into_iter().flatten() {
            for name in account.member_names.iter().filter(|n| names.contains(*n)) {
                match found.entry(name.clone()) {
                    Entry::Vacant(new) => {
                        new.insert(Some(account.external_id.clone()));
                    }
                    Entry::Occupied(mut known) => {
                        if known.get().as_ref() != Some(&account.external_id) {
                            known.insert(None);
                        }
                    }
                }
            }
        }
    }
    Ok(found.into_values().flatten().collect())
}
