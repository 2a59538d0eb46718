//! Who is signed in, as the session records it. accounts writes these keys
//! at login; every app reads them here, without depending on accounts.

use actix_session::Session;
use serde::{Deserialize, Serialize};

const KEY: &str = "_auth_user";

/// The signed-in user as the session remembers them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub is_staff: bool,
}

pub fn current_user(session: &Session) -> Option<SessionUser> {
    session.get::<SessionUser>(KEY).ok().flatten()
}

pub fn set_current_user(
    session: &Session,
    user: &SessionUser,
) -> Result<(), actix_session::SessionInsertError> {
    session.insert(KEY, user)
}
