//! TeamService: teams of Oblique users, and the resources integrations create for them.

use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::convert::{parse_id, timestamp};
use super::paging::{ListQuery, Page};
use crate::auth::{Role, require};
use crate::context::AppContext;
use crate::domain::teams::{self, NewTeamInput, TeamDetails};
use crate::error::{AppError, AppResult};
use crate::pb::{self, team_service_server::TeamService};

/// The longest team name; the database checks it too.
const MAX_NAME_CHARS: usize = 200;
/// Members named in one call; more are added with AddTeamMember.
const MAX_MEMBERS_PER_CALL: usize = 1000;

pub struct TeamApi {
    ctx: AppContext,
}

impl TeamApi {
    pub fn new(ctx: AppContext) -> Self {
        TeamApi { ctx }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl TeamService for TeamApi {
    async fn create_team(&self, request: Request<pb::CreateTeamRequest>) -> Reply<pb::Team> {
        let actor = require(&request, Role::Admin)?;
        let input = new_team_input(request.into_inner())?;
        let created = teams::create(&self.ctx, &actor, input).await?;
        Ok(Response::new(team(created.team, created.warnings)))
    }

    async fn get_team(&self, request: Request<pb::GetTeamRequest>) -> Reply<pb::Team> {
        require(&request, Role::Viewer)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let details = teams::get(&self.ctx, id).await?;
        Ok(Response::new(team(details, Vec::new())))
    }

    async fn list_teams(
        &self,
        request: Request<pb::ListTeamsRequest>,
    ) -> Reply<pb::ListTeamsResponse> {
        require(&request, Role::Viewer)?;
        let request = request.into_inner();
        let page = Page::parse(
            request.page_size,
            &request.page_token,
            &ListQuery::new("ListTeams"),
        )?;
        let mut details = teams::list(&self.ctx, page.after, page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut details, |details| details.row.id);
        Ok(Response::new(pb::ListTeamsResponse {
            teams: details
                .into_iter()
                .map(|details| team(details, Vec::new()))
                .collect(),
            next_page_token,
        }))
    }

    async fn add_team_member(&self, request: Request<pb::AddTeamMemberRequest>) -> Reply<pb::Team> {
        let actor = require(&request, Role::Admin)?;
        let request = request.get_ref();
        let team_id = parse_id("team_id", &request.team_id)?;
        let user_id = parse_id("user_id", &request.user_id)?;
        let details = teams::add_member(&self.ctx, &actor, team_id, user_id).await?;
        Ok(Response::new(team(details, Vec::new())))
    }

    async fn remove_team_member(
        &self,
        request: Request<pb::RemoveTeamMemberRequest>,
    ) -> Reply<pb::Team> {
        let actor = require(&request, Role::Admin)?;
        let request = request.get_ref();
        let team_id = parse_id("team_id", &request.team_id)?;
        let user_id = parse_id("user_id", &request.user_id)?;
        let details = teams::remove_member(&self.ctx, &actor, team_id, user_id).await?;
        Ok(Response::new(team(details, Vec::new())))
    }
}

fn new_team_input(request: pb::CreateTeamRequest) -> AppResult<NewTeamInput> {
    super::text::refuse_nul("name", &request.name)?;
    let name = request.name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if request.member_user_ids.len() > MAX_MEMBERS_PER_CALL {
        return Err(AppError::invalid(
            "member_user_ids",
            format!("must name at most {MAX_MEMBERS_PER_CALL} users (add more with AddTeamMember)"),
        ));
    }
    let mut member_user_ids: Vec<Uuid> = Vec::with_capacity(request.member_user_ids.len());
    let mut seen = std::collections::HashSet::new();
    for (index, text) in request.member_user_ids.iter().enumerate() {
        let id = parse_id(&format!("member_user_ids[{index}]"), text)?;
        if seen.insert(id) {
            member_user_ids.push(id);
        }
    }
    Ok(NewTeamInput {
        name: name.to_string(),
        member_user_ids,
    })
}

fn team(details: TeamDetails, warnings: Vec<String>) -> pb::Team {
    let ids = |ids: Vec<Uuid>| ids.into_iter().map(|id| id.to_string()).collect();
    pb::Team {
        id: details.row.id.to_string(),
        name: details.row.name,
        member_user_ids: ids(details.member_user_ids),
        resource_ids: ids(details.resource_ids),
        warnings,
        created_at: Some(timestamp(details.row.created_at)),
        updated_at: Some(timestamp(details.row.updated_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, members: &[&str]) -> pb::CreateTeamRequest {
        pb::CreateTeamRequest {
            name: name.into(),
            member_user_ids: members.iter().map(|id| id.to_string()).collect(),
        }
    }

    #[test]
    fn names_are_trimmed_required_and_bounded() {
        assert_eq!(new_team_input(request("  eng ", &[])).unwrap().name, "eng");
        for bad in ["", "   ", &"x".repeat(MAX_NAME_CHARS + 1)] {
            let error = new_team_input(request(bad, &[])).unwrap_err();
            assert!(error.to_string().starts_with("name:"), "{error}");
        }
        assert!(new_team_input(request(&"é".repeat(MAX_NAME_CHARS), &[])).is_ok());
    }

    #[test]
    fn member_ids_are_parsed_and_deduplicated() {
        let (a, b) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
        let input = new_team_input(request("eng", &[&a, &b, &a])).unwrap();
        assert_eq!(
            input.member_user_ids,
            vec![a.parse::<Uuid>().unwrap(), b.parse().unwrap()]
        );
        let error = new_team_input(request("eng", &[&a, "nope"])).unwrap_err();
        assert_eq!(error.to_string(), "member_user_ids[1]: must be a UUID");
    }
}
