//! AccessService: who has access to what, and the decisions that change it. GrantAccess and
//! RevokeAccess decide (admin or service); ListAccess answers effective access, now or at a
//! past instant; ListAccessHistory lists grants and revocations, newest first.

use chrono::{DateTime, Utc};
use tonic::{Request, Response, Status};

use super::convert::{parse_id, parse_optional_id, parse_timestamp};
use super::convert_access;
use super::paging::{ListQuery, Page};
use crate::auth::{Role, require};
use crate::context::AppContext;
use crate::domain::access::{self, AccessOf, HistoryRow};
use crate::domain::grants::{self, GrantInput};
use crate::error::{AppError, AppResult};
use crate::pb::{self, access_service_server::AccessService};

/// The longest reason a grant or a revocation may give, in characters.
const MAX_REASON_CHARS: usize = 1000;

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
    async fn grant_access(&self, request: Request<pb::GrantAccessRequest>) -> Reply<pb::Grant> {
        let actor = require(&request, Role::Service)?;
        let input = grant_input(&request.into_inner(), Utc::now())?;
        let view = grants::grant(&self.ctx, &actor, input).await?;
        Ok(Response::new(convert_access::grant(view)))
    }

    async fn revoke_access(&self, request: Request<pb::RevokeAccessRequest>) -> Reply<pb::Grant> {
        let actor = require(&request, Role::Service)?;
        let request = request.into_inner();
        let id = parse_id("grant_id", &request.grant_id)?;
        let reason = parse_reason(&request.reason)?;
        let view = grants::revoke(&self.ctx, &actor, id, reason).await?;
        Ok(Response::new(convert_access::grant(view)))
    }

    /// Effective access of one resource or one user; with `at`, who had access at that instant
    /// (from history, so soft-deleted resources and integrations still answer).
    async fn list_access(
        &self,
        request: Request<pb::ListAccessRequest>,
    ) -> Reply<pb::ListAccessResponse> {
        require(&request, Role::Viewer)?;
        let request = request.into_inner();
        let of = access_of(&request.resource_id, &request.user_id)?;
        let at = request
            .at
            .as_ref()
            .map(|at| parse_timestamp("at", at))
            .transpose()?;
        let query = ListQuery::new("ListAccess")
            .filter("of", format!("{of:?}"))
            .filter("at", format!("{at:?}"));
        let page = Page::<String>::parse(request.page_size, &request.page_token, &query)?;
        let after = page.after.as_deref();
        let mut rows = access::list(&self.ctx, of, at, after, page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |row| row.key.clone());
        Ok(Response::new(pb::ListAccessResponse {
            entries: rows.into_iter().map(convert_access::access_entry).collect(),
            next_page_token,
        }))
    }

    async fn list_access_history(
        &self,
        request: Request<pb::ListAccessHistoryRequest>,
    ) -> Reply<pb::ListAccessHistoryResponse> {
        require(&request, Role::Viewer)?;
        let request = request.into_inner();
        let of = access_of(&request.resource_id, &request.user_id)?;
        let query = ListQuery::new("ListAccessHistory").filter("of", format!("{of:?}"));
        let page = Page::<HistoryRow>::parse(request.page_size, &request.page_token, &query)?;
        let history =
            access::history(&self.ctx, of, page.after.as_ref(), page.fetch_limit()).await?;
        let mut rows = history.rows;
        let next_page_token = page.finish(&mut rows, Clone::clone);
        let grants: std::collections::HashMap<_, _> = history
            .grants
            .into_iter()
            .map(|(id, view)| (id, convert_access::grant(view)))
            .collect();
        let entries = rows
            .into_iter()
            .filter_map(|row| {
                let grant = grants.get(&row.grant_id)?.clone();
                Some(convert_access::history_entry(row, grant))
            })
            .collect();
        Ok(Response::new(pb::ListAccessHistoryResponse {
            entries,
            next_page_token,
        }))
    }
}

/// A grant request's fields, checked against `now`.
fn grant_input(request: &pb::GrantAccessRequest, now: DateTime<Utc>) -> AppResult<GrantInput> {
    let resource_id = parse_id("resource_id", &request.resource_id)?;
    let user_id = parse_id("user_id", &request.user_id)?;
    let reason = parse_reason(&request.reason)?;
    let expires_at = request
        .expires_at
        .as_ref()
        .map(|at| parse_timestamp("expires_at", at))
        .transpose()?;
    if expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::invalid("expires_at", "must be in the future"));
    }
    Ok(GrantInput {
        resource_id,
        user_id,
        reason,
        expires_at,
    })
}

/// Why a decision was made: required, at most [`MAX_REASON_CHARS`] characters.
fn parse_reason(reason: &str) -> AppResult<String> {
    super::text::refuse_nul("reason", reason)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid("reason", "is required"));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::invalid(
            "reason",
            format!("must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(reason.to_string())
}

/// Exactly one of `resource_id` and `user_id`.
fn access_of(resource_id: &str, user_id: &str) -> AppResult<AccessOf> {
    let resource_id = parse_optional_id("resource_id", resource_id)?;
    let user_id = parse_optional_id("user_id", user_id)?;
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

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn exactly_one_subject_is_named() {
        let id = Uuid::now_v7();
        let text = id.to_string();
        assert_eq!(access_of(&text, "").unwrap(), AccessOf::Resource(id));
        assert_eq!(access_of("", &text).unwrap(), AccessOf::User(id));
        let both = access_of(&text, &text).unwrap_err();
        assert!(both.to_string().starts_with("resource_id: "), "{both}");
        let neither = access_of("", "").unwrap_err();
        assert!(
            neither.to_string().starts_with("resource_id: "),
            "{neither}"
        );
        let bad = access_of("", "nope").unwrap_err();
        assert_eq!(bad.to_string(), "user_id: must be a UUID");
    }

    fn grant_request(reason: &str, expires_at: Option<DateTime<Utc>>) -> pb::GrantAccessRequest {
        pb::GrantAccessRequest {
            resource_id: Uuid::now_v7().to_string(),
            user_id: Uuid::now_v7().to_string(),
            reason: reason.into(),
            expires_at: expires_at.map(crate::api::convert::timestamp),
        }
    }

    #[test]
    fn grant_requests_need_a_reason_and_a_future_expiry() {
        let now = Utc::now();
        let ok = grant_input(
            &grant_request(" on call ", Some(now + Duration::hours(1))),
            now,
        );
        assert_eq!(ok.unwrap().reason, "on call");
        let blank = grant_input(&grant_request("  ", None), now).unwrap_err();
        assert_eq!(blank.to_string(), "reason: is required");
        let long = grant_input(&grant_request(&"x".repeat(1001), None), now).unwrap_err();
        assert!(long.to_string().starts_with("reason: "), "{long}");
        assert!(grant_input(&grant_request(&"é".repeat(1000), None), now).is_ok());
        let past = grant_input(&grant_request("why", Some(now)), now).unwrap_err();
        assert_eq!(past.to_string(), "expires_at: must be in the future");
        let mut no_user = grant_request("why", None);
        no_user.user_id.clear();
        let missing = grant_input(&no_user, now).unwrap_err();
        assert_eq!(missing.to_string(), "user_id: is required");
    }
}
