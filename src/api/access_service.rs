//! AccessService: who has access to what. ListAccess answers the access pulled from the remote
//! systems, now or at a past instant; GrantAccess, RevokeAccess and ListAccessHistory answer
//! UNIMPLEMENTED (the trait's defaults) until grants land.

use tonic::{Request, Response, Status};

use super::convert::{parse_optional_id, parse_timestamp};
use super::convert_access;
use super::paging::PageRequest;
use crate::auth::{Role, require};
use crate::context::AppContext;
use crate::db::access::{self, AccessOf};
use crate::db::{AsyncPgConnection, resources, users};
use crate::error::{AppError, AppResult};
use crate::pb::{self, access_service_server::AccessService};

pub struct AccessApi {
    ctx: AppContext,
}

impl AccessApi {
    pub fn new(ctx: AppContext) -> Self {
        AccessApi { ctx }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl AccessService for AccessApi {
    /// Effective access of one resource or one user; with `at`, who had access at that instant
    /// (from history, so soft-deleted resources and integrations still answer).
    async fn list_access(
        &self,
        request: Request<pb::ListAccessRequest>,
    ) -> Reply<pb::ListAccessResponse> {
        require(&request, Role::Viewer)?;
        let request = request.into_inner();
        let of = access_of(&request)?;
        let at = request
            .at
            .as_ref()
            .map(|at| parse_timestamp("at", at))
            .transpose()?;
        let page = PageRequest::parse(request.page_size, &request.page_token)?;
        let mut conn = self.ctx.pool.get().await.map_err(AppError::from)?;
        ensure_exists(&mut conn, of).await?;
        let mut rows = access::list_page(&mut conn, of, at, page.cursor, page.fetch_limit())
            .await
            .map_err(AppError::from)?;
        let next_page_token = page.finish(&mut rows, |row| row.id);
        Ok(Response::new(pb::ListAccessResponse {
            entries: rows
                .into_iter()
                .map(convert_access::pulled_access_entry)
                .collect(),
            next_page_token,
        }))
    }
}

/// Exactly one of `resource_id` and `user_id`.
fn access_of(request: &pb::ListAccessRequest) -> AppResult<AccessOf> {
    let resource_id = parse_optional_id("resource_id", &request.resource_id)?;
    let user_id = parse_optional_id("user_id", &request.user_id)?;
    match (resource_id, user_id) {
        (Some(id), None) => Ok(AccessOf::Resource(id)),
        (None, Some(id)) => Ok(AccessOf::User(id)),
        (Some(_), Some(_)) => Err(AppError::invalid(
            "resource_id",
            "give either resource_id or user_id, not both",
        )),
        (None, None) => Err(AppError::invalid(
            "resource_id",
            "is required (or give user_id)",
        )),
    }
}

/// NOT_FOUND for an unknown resource or user; a soft-deleted resource exists.
async fn ensure_exists(conn: &mut AsyncPgConnection, of: AccessOf) -> AppResult<()> {
    let found = match of {
        AccessOf::Resource(id) => resources::find(conn, id).await?.is_some(),
        AccessOf::User(id) => users::find(conn, id).await?.is_some(),
    };
    if found {
        return Ok(());
    }
    Err(AppError::not_found(match of {
        AccessOf::Resource(id) => format!("resource {id}"),
        AccessOf::User(id) => format!("user {id}"),
    }))
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn request(resource_id: &str, user_id: &str) -> pb::ListAccessRequest {
        pb::ListAccessRequest {
            resource_id: resource_id.into(),
            user_id: user_id.into(),
            ..Default::default()
        }
    }

    #[test]
    fn exactly_one_subject_is_named() {
        let id = Uuid::now_v7();
        assert_eq!(
            access_of(&request(&id.to_string(), "")).unwrap(),
            AccessOf::Resource(id)
        );
        assert_eq!(
            access_of(&request("", &id.to_string())).unwrap(),
            AccessOf::User(id)
        );
        let both = access_of(&request(&id.to_string(), &id.to_string())).unwrap_err();
        assert!(both.to_string().starts_with("resource_id: "), "{both}");
        let neither = access_of(&request("", "")).unwrap_err();
        assert!(
            neither.to_string().starts_with("resource_id: "),
            "{neither}"
        );
        let bad = access_of(&request("", "nope")).unwrap_err();
        assert_eq!(bad.to_string(), "user_id: must be a UUID");
    }
}
