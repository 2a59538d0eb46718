//! What orders does for accounts (registered by `site`): a customer's
//! orders in their data export, and anonymised when they delete their
//! account.

use diesel::QueryResult;
use site_core::db::DbConn;
use site_core::hooks::AccountHook;

use crate::models::Order;

pub struct OrdersOfCustomer;

impl AccountHook for OrdersOfCustomer {
    fn export(
        &self,
        conn: &mut DbConn,
        user_id: i64,
    ) -> QueryResult<Option<(&'static str, serde_json::Value)>> {
        let count = Order::count_for_user(conn, user_id)?;
        let mut out = Vec::new();
        for order in Order::for_user(conn, user_id, count.max(1), 0)? {
            let lines = order.lines(conn)?;
            out.push(serde_json::to_value(order.view(&lines)).unwrap_or_default());
        }
        Ok(Some(("orders", serde_json::Value::Array(out))))
    }

    fn forget(&self, conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
        Order::anonymise_for_user(conn, user_id).map(|_| ())
    }
}
