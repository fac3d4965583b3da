//! UserService: registered so reflection lists it; its RPCs answer UNIMPLEMENTED until the issue
//! that builds them lands (see README.md).

use crate::pb::user_service_server::UserService;

pub struct UserApi;

#[tonic::async_trait]
impl UserService for UserApi {}
