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

/// Tells the admin's delete page that products and customers with orders
/// are deactivated, not deleted: the orders must keep what they refer to.
pub struct OrdersKeepTheirRecords;

impl site_core::admin::Related for OrdersKeepTheirRecords {
    fn delete_plan(
        &self,
        conn: &mut DbConn,
        app: &str,
        model: &str,
        id: i64,
    ) -> QueryResult<site_core::admin::DeletePlan> {
        use diesel::prelude::*;
        use site_core::schema::{orders_line as l, orders_order as o};
        let mut plan = site_core::admin::DeletePlan::default();
        let orders: i64 = match (app, model) {
            // A product's orders, or its variants' (deleting it would
            // delete them).
            ("products", "product") => l::table
                .filter(
                    l::product_id.eq(id).or(l::product_id.eq_any(
                        site_core::schema::products_product::table
                            .filter(site_core::schema::products_product::parent_id.eq(id))
                            .select(site_core::schema::products_product::id.nullable()),
                    )),
                )
                .select(l::order_id)
                .distinct()
                .count()
                .get_result(conn)?,
            ("accounts", "user") => o::table
                .filter(o::user_id.eq(id))
                .count()
                .get_result(conn)?,
            _ => 0,
        };
        if orders > 0 {
            let what = if orders == 1 {
                "1 order refers".to_string()
            } else {
                format!("{orders} orders refer")
            };
            plan.deactivates_instead = Some(format!(
                "{what} to it and must keep doing so, so it is deactivated instead"
            ));
        }
        Ok(plan)
    }
}
