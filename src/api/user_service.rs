//! UserService: the Oblique users that synced accounts link to.

use tonic::{Request, Response, Status};

use super::convert::parse_id;
use super::convert_access;
use super::paging::{ListQuery, Page};
use crate::auth::{Role, require};
use crate::context::AppContext;
use crate::domain::users;
use crate::error::AppError;
use crate::pb::{self, user_service_server::UserService};

/// Longest `query` accepted: longer than any email or username worth searching for.
const MAX_QUERY_CHARS: usize = 320;

pub struct UserApi {
    ctx: AppContext,
}

impl UserApi {
    pub fn new(ctx: AppContext) -> Self {
        UserApi { ctx }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl UserService for UserApi {
    /// Users whose email or username starts with `query` (ignoring case; empty: all), in creation
    /// order. Each user's `accounts` is left empty here, so a page costs one query; GetUser
    /// answers a user with its accounts and their attributes.
    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Reply<pb::ListUsersResponse> {
        require(&request, Role::Viewer)?;
        let request = request.into_inner();
        super::text::refuse_nul("query", &request.query)?;
        let query = request.query.trim();
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(AppError::invalid(
                "query",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            )
            .into());
        }
        let list = ListQuery::new("ListUsers").filter("query", query);
        let page = Page::parse(request.page_size, &request.page_token, &list)?;
        let mut rows = users::list(&self.ctx, query, page.after, page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |row| row.id);
        Ok(Response::new(pb::ListUsersResponse {
            users: rows
                .into_iter()
                .map(|row| convert_access::user(row, Vec::new()))
                .collect(),
            next_page_token,
        }))
    }

    /// The user with every account linked to it, soft-deleted ones too (flagged `deleted`).
    async fn get_user(&self, request: Request<pb::GetUserRequest>) -> Reply<pb::User> {
        require(&request, Role::Viewer)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let (row, accounts) = users::get(&self.ctx, id).await?;
        Ok(Response::new(convert_access::user(row, accounts)))
    }
}
