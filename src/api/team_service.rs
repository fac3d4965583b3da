//! TeamService: registered so reflection lists it; its RPCs answer UNIMPLEMENTED until the issue
//! that builds them lands (see README.md).

use crate::pb::team_service_server::TeamService;

pub struct TeamApi;

#[tonic::async_trait]
impl TeamService for TeamApi {}
