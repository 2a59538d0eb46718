//! Hooks through which an upstream app asks downstream apps to act,
//! without depending on them (DESIGN: upstream never calls downstream).
//! accounts raises them; `site` registers each app's implementation.

use std::sync::Arc;

use futures_util::future::LocalBoxFuture;

use crate::db::DbConn;
use crate::http::{AppError, RequestContext};

/// What other apps do about a customer's account.
pub trait AccountHook: Send + Sync {
    /// Just after a login, in the new session: e.g. merge the guest's cart
    /// into the customer's.
    fn logged_in<'a>(
        &'a self,
        _rq: &'a RequestContext,
        _user_id: i64,
    ) -> LocalBoxFuture<'a, Result<(), AppError>> {
        Box::pin(async { Ok(()) })
    }

    /// What this app keeps about the user, for their data export, under
    /// a name of its own (e.g. "orders").
    fn export(
        &self,
        _conn: &mut DbConn,
        _user_id: i64,
    ) -> diesel::QueryResult<Option<(&'static str, serde_json::Value)>> {
        Ok(None)
    }

    /// In the transaction that deletes the account: delete or anonymise
    /// what this app keeps about the user.
    fn forget(&self, _conn: &mut DbConn, _user_id: i64) -> diesel::QueryResult<()> {
        Ok(())
    }
}

/// Every registered hook, in registration order (app data).
#[derive(Clone, Default)]
pub struct AccountHooks(pub Vec<Arc<dyn AccountHook>>);
