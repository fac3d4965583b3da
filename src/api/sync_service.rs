//! SyncService: the run queue as callers see it, run errors, dry runs' changes, and streamed
//! progress.

use tonic::{Request, Response, Status};

use super::convert::{self, parse_id, parse_optional_id};
use super::convert_access;
use super::paging::{ListQuery, Page};
use super::run_changes;
use super::sync_streams::{self, EventStream};
use crate::auth::{Role, require};
use crate::context::AppContext;
use crate::domain::{integrations, runs};
use crate::pb::{self, sync_service_server::SyncService};

pub struct SyncApi {
    ctx: AppContext,
}

impl SyncApi {
    pub fn new(ctx: AppContext) -> Self {
        SyncApi { ctx }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl SyncService for SyncApi {
    type WatchSyncRunStream = EventStream;
    type SubscribeSyncEventsStream = EventStream;

    async fn trigger_sync(&self, request: Request<pb::TriggerSyncRequest>) -> Reply<pb::SyncRun> {
        let actor = require(&request, Role::Service)?;
        if request.get_ref().allow_mass_deletion {
            // Overriding the mass-deletion guard can soft-delete most of an integration's
            // objects: that is an admin's decision, not an automated caller's.
            require(&request, Role::Admin)?;
        }
        let request = request.into_inner();
        let integration_id = parse_id("integration_id", &request.integration_id)?;
        let options = runs::RunOptions {
            dry_run: request.dry_run,
            allow_mass_deletion: request.allow_mass_deletion,
        };
        let run = runs::trigger(&self.ctx, &actor, integration_id, options).await?;
        Ok(Response::new(convert::sync_run(run)))
    }

    async fn get_sync_run(&self, request: Request<pb::GetSyncRunRequest>) -> Reply<pb::SyncRun> {
        require(&request, Role::Viewer)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let run = runs::get(&self.ctx, id).await?;
        Ok(Response::new(convert::sync_run(run)))
    }

    async fn list_sync_runs(
        &self,
        request: Request<pb::ListSyncRunsRequest>,
    ) -> Reply<pb::ListSyncRunsResponse> {
        require(&request, Role::Viewer)?;
        let request = request.into_inner();
        let integration_id = parse_optional_id("integration_id", &request.integration_id)?;
        let query =
            ListQuery::new("ListSyncRuns").filter("integration_id", format!("{integration_id:?}"));
        let page = Page::parse(request.page_size, &request.page_token, &query)?;
        let mut rows =
            runs::list(&self.ctx, integration_id, page.after, page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |row| row.id);
        Ok(Response::new(pb::ListSyncRunsResponse {
            runs: rows.into_iter().map(convert::sync_run).collect(),
            next_page_token,
        }))
    }

    async fn list_sync_errors(
        &self,
        request: Request<pb::ListSyncErrorsRequest>,
    ) -> Reply<pb::ListSyncErrorsResponse> {
        require(&request, Role::Viewer)?;
        let request = request.into_inner();
        let integration_id = parse_id("integration_id", &request.integration_id)?;
        let query = ListQuery::new("ListSyncErrors").filter("integration_id", integration_id);
        let page = Page::<String>::parse(request.page_size, &request.page_token, &query)?;
        let mut rows = runs::errors(
            &self.ctx,
            integration_id,
            page.after.clone(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut rows, |row| row.object.clone());
        Ok(Response::new(pb::ListSyncErrorsResponse {
            errors: rows.into_iter().map(convert_access::sync_error).collect(),
            next_page_token,
        }))
    }

    async fn list_sync_run_changes(
        &self,
        request: Request<pb::ListSyncRunChangesRequest>,
    ) -> Reply<pb::ListSyncRunChangesResponse> {
        require(&request, Role::Viewer)?;
        let request = request.into_inner();
        let run_id = parse_id("run_id", &request.run_id)?;
        let query = ListQuery::new("ListSyncRunChanges").filter("run_id", run_id);
        let page = Page::<i64>::parse(request.page_size, &request.page_token, &query)?;
        let mut rows = runs::changes(&self.ctx, run_id, page.after, page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |row| row.seq);
        Ok(Response::new(pb::ListSyncRunChangesResponse {
            changes: rows.into_iter().map(run_changes::run_change).collect(),
            next_page_token,
        }))
    }

    async fn watch_sync_run(
        &self,
        request: Request<pb::WatchSyncRunRequest>,
    ) -> Reply<EventStream> {
        require(&request, Role::Viewer)?;
        let run_id = parse_id("run_id", &request.get_ref().run_id)?;
        runs::get(&self.ctx, run_id).await?;
        let stream = sync_streams::watch(self.ctx.clone(), run_id);
        Ok(Response::new(sync_streams::counted(
            stream,
            &self.ctx.metrics,
        )))
    }

    async fn subscribe_sync_events(
        &self,
        request: Request<pb::SubscribeSyncEventsRequest>,
    ) -> Reply<EventStream> {
        require(&request, Role::Viewer)?;
        let integration_id =
            parse_optional_id("integration_id", &request.get_ref().integration_id)?;
        if let Some(id) = integration_id {
            integrations::ensure_exists(&self.ctx, id).await?;
        }
        let stream =
            sync_streams::subscribe(&self.ctx.hub, integration_id, self.ctx.shutdown.clone());
        Ok(Response::new(sync_streams::counted(
            stream,
            &self.ctx.metrics,
        )))
    }

    async fn cancel_sync_run(
        &self,
        request: Request<pb::CancelSyncRunRequest>,
    ) -> Reply<pb::SyncRun> {
        let actor = require(&request, Role::Admin)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let run = runs::cancel(&self.ctx, &actor, id).await?;
        Ok(Response::new(convert::sync_run(run)))
    }
}
