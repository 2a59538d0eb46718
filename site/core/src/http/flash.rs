//! One-time messages shown on the next page rendered for the session.

use actix_session::Session;
use serde::{Deserialize, Serialize};

const KEY: &str = "_flash";

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Success,
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    pub level: Level,
    pub text: String,
}

pub fn push(session: &Session, level: Level, text: String) {
    let mut all: Vec<Flash> = session.get(KEY).ok().flatten().unwrap_or_default();
    all.push(Flash { level, text });
    if let Err(e) = session.insert(KEY, all) {
        tracing::warn!(error = %e, "could not store a flash message");
    }
}

/// Removes and returns the session's messages (empty without a session).
pub fn take(session: &Session) -> Vec<Flash> {
    match session.get::<Vec<Flash>>(KEY) {
        Ok(Some(all)) => {
            session.remove(KEY);
            all
        }
        _ => Vec::new(),
    }
}

/// Puts the session's pending `messages` into every page (and clears them).
pub struct Messages;

impl crate::templates::ContextProcessor for Messages {
    fn process(&self, req: &actix_web::HttpRequest, ctx: &mut tera::Context) {
        use actix_session::SessionExt;
        ctx.insert("messages", &take(&req.get_session()));
    }
}
