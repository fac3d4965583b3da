//! IntegrationService: integrations, their resources and accounts, and the audit log.

use tonic::{Request, Response, Status};

use super::convert::{self, parse_id, parse_optional_id};
use super::convert_values;
use super::integration_input;
use super::paging::{ListQuery, Page};
use super::text;
use crate::auth::{Role, require};
use crate::connectors::IntegrationKind;
use crate::context::AppContext;
use crate::domain::audit::{self, AuditFilter};
use crate::domain::{accounts, integrations, resources, sync_mode};
use crate::pb::{self, integration_service_server::IntegrationService};

/// Audit filters (a token name, an action) are never longer than this.
const MAX_FILTER_CHARS: usize = 200;

pub struct IntegrationApi {
    ctx: AppContext,
}

impl IntegrationApi {
    pub fn new(ctx: AppContext) -> Self {
        IntegrationApi { ctx }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl IntegrationService for IntegrationApi {
    async fn list_integration_types(
        &self,
        request: Request<pb::ListIntegrationTypesRequest>,
    ) -> Reply<pb::ListIntegrationTypesResponse> {
        require(&request, Role::Viewer)?;
        let types = IntegrationKind::ALL
            .iter()
            .map(|kind| integration_type(*kind))
            .collect();
        Ok(Response::new(pb::ListIntegrationTypesResponse { types }))
    }

    async fn create_integration(
        &self,
        request: Request<pb::CreateIntegrationRequest>,
    ) -> Reply<pb::Integration> {
        let actor = require(&request, Role::Admin)?;
        let input = integration_input::new_integration_input(request.into_inner())?;
        let view = integrations::create(&self.ctx, &actor, input).await?;
        Ok(Response::new(convert::integration(view)))
    }

    async fn get_integration(
        &self,
        request: Request<pb::GetIntegrationRequest>,
    ) -> Reply<pb::Integration> {
        require(&request, Role::Viewer)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let view = integrations::get(&self.ctx, id).await?;
        Ok(Response::new(convert::integration(view)))
    }

    async fn list_integrations(
        &self,
        request: Request<pb::ListIntegrationsRequest>,
    ) -> Reply<pb::ListIntegrationsResponse> {
        require(&request, Role::Viewer)?;
        let request = request.into_inner();
        let query =
            ListQuery::new("ListIntegrations").filter("include_deleted", request.include_deleted);
        let page = Page::parse(request.page_size, &request.page_token, &query)?;
        let mut views = integrations::list(
            &self.ctx,
            page.after,
            page.fetch_limit(),
            request.include_deleted,
        )
        .await?;
        let next_page_token = page.finish(&mut views, |view| view.row.id);
        Ok(Response::new(pb::ListIntegrationsResponse {
            integrations: views.into_iter().map(convert::integration).collect(),
            next_page_token,
        }))
    }

    async fn update_integration(
        &self,
        request: Request<pb::UpdateIntegrationRequest>,
    ) -> Reply<pb::Integration> {
        let actor = require(&request, Role::Admin)?;
        let (id, update) = integration_input::integration_update(request.into_inner())?;
        let view = integrations::update(&self.ctx, &actor, id, update).await?;
        Ok(Response::new(convert::integration(view)))
    }

    async fn delete_integration(
        &self,
        request: Request<pb::DeleteIntegrationRequest>,
    ) -> Reply<pb::DeleteIntegrationResponse> {
        let actor = require(&request, Role::Admin)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let deletion = integrations::delete(&self.ctx, &actor, id, request.get_ref().force).await?;
        Ok(Response::new(pb::DeleteIntegrationResponse {
            resources_soft_deleted: deletion.resources_soft_deleted as i64,
            accounts_soft_deleted: deletion.accounts_soft_deleted as i64,
            cancelled_run_id: deletion
                .cancelled_run_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            integration: Some(convert::integration(deletion.integration)),
        }))
    }

    async fn list_resources(
        &self,
        request: Request<pb::ListResourcesRequest>,
    ) -> Reply<pb::ListResourcesResponse> {
        require(&request, Role::Viewer)?;
        let request = request.into_inner();
        let integration_id = parse_id("integration_id", &request.integration_id)?;
        let query = ListQuery::new("ListResources")
            .filter("integration_id", integration_id)
            .filter("include_deleted", request.include_deleted);
        let page = Page::parse(request.page_size, &request.page_token, &query)?;
        let (mut rows, last_pulled_at) = resources::list(
            &self.ctx,
            integration_id,
            page.after,
            page.fetch_limit(),
            request.include_deleted,
        )
        .await?;
        let next_page_token = page.finish(&mut rows, |row| row.id);
        Ok(Response::new(pb::ListResourcesResponse {
            resources: rows
                .into_iter()
                .map(|row| convert::resource(row, last_pulled_at))
                .collect(),
            next_page_token,
        }))
    }

    async fn get_resource(&self, request: Request<pb::GetResourceRequest>) -> Reply<pb::Resource> {
        require(&request, Role::Viewer)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let (row, last_pulled_at) = resources::get(&self.ctx, id).await?;
        Ok(Response::new(convert::resource(row, last_pulled_at)))
    }

    async fn set_resource_sync_mode(
        &self,
        request: Request<pb::SetResourceSyncModeRequest>,
    ) -> Reply<pb::Resource> {
        let actor = require(&request, Role::Admin)?;
        let request = request.into_inner();
        let id = parse_id("resource_id", &request.resource_id)?;
        let mode = convert_values::sync_mode_from_proto("sync_mode", request.sync_mode)?;
        let (row, last_pulled_at) =
            sync_mode::set_resource_sync_mode(&self.ctx, &actor, id, mode).await?;
        Ok(Response::new(convert::resource(row, last_pulled_at)))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Reply<pb::ListAccountsResponse> {
        require(&request, Role::Viewer)?;
        let request = request.into_inner();
        let integration_id = parse_id("integration_id", &request.integration_id)?;
        let query = ListQuery::new("ListAccounts")
            .filter("integration_id", integration_id)
            .filter("include_deleted", request.include_deleted);
        let page = Page::parse(request.page_size, &request.page_token, &query)?;
        let (mut rows, last_pulled_at) = accounts::list(
            &self.ctx,
            integration_id,
            page.after,
            page.fetch_limit(),
            request.include_deleted,
        )
        .await?;
        let next_page_token = page.finish(&mut rows, |row| row.account.id);
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: rows
                .into_iter()
                .map(|row| convert::account(row, last_pulled_at))
                .collect(),
            next_page_token,
        }))
    }

    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Reply<pb::ListAuditEventsResponse> {
        require(&request, Role::Admin)?;
        let request = request.into_inner();
        let filter = AuditFilter {
            integration_id: parse_optional_id("integration_id", &request.integration_id)?,
            resource_id: parse_optional_id("resource_id", &request.resource_id)?,
            actor: text::optional_filter("actor", request.actor, MAX_FILTER_CHARS)?,
            action: text::optional_filter("action", request.action, MAX_FILTER_CHARS)?,
            since: request
                .since
                .as_ref()
                .map(|since| convert::parse_timestamp("since", since))
                .transpose()?,
        };
        let query = ListQuery::new("ListAuditEvents").filter("filter", format!("{filter:?}"));
        let page = Page::parse(request.page_size, &request.page_token, &query)?;
        let mut rows = audit::list(&self.ctx, &filter, page.after, page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |row| row.id);
        Ok(Response::new(pb::ListAuditEventsResponse {
            events: rows.into_iter().map(convert::audit_event).collect(),
            next_page_token,
        }))
    }
}

fn integration_type(kind: IntegrationKind) -> pb::IntegrationType {
    let capabilities = kind.capabilities();
    pb::IntegrationType {
        name: kind.name().into(),
        display_name: kind.display_name().into(),
        capabilities: Some(pb::IntegrationCapabilities {
            can_push: capabilities.can_push,
            can_create_resources: capabilities.can_create_resources,
        }),
        setup_fields: kind
            .setup_fields()
            .iter()
            .map(|field| pb::SetupField {
                name: field.name.into(),
                description: field.description.into(),
                required: field.required,
                secret: field.secret,
                default: field.default.unwrap_or_default().into(),
            })
            .collect(),
        default_link_users_by: kind.default_link_users_by().as_str().into(),
    }
}
