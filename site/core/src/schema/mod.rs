//! Every `table!` of the shop, one file per app (diesel needs joined tables
//! in one crate). Kept by hand: `print-schema` differs per backend, and a
//! test checks both backends' migrations match what is written here.

mod accounts;
mod cart;
mod core;
mod orders;
mod payments;
mod products;

pub use self::accounts::*;
pub use self::cart::*;
pub use self::core::*;
pub use self::orders::*;
pub use self::payments::*;
pub use self::products::*;

diesel::allow_tables_to_appear_in_same_query!(
    accounts_user,
    accounts_recovery_code,
    accounts_login_failure,
    accounts_address,
    accounts_group,
    accounts_permission,
    accounts_group_permission,
    accounts_user_group,
    accounts_user_permission,
    core_session,
    core_outbox,
    core_job,
    admin_log,
    cart_line,
    products_category,
    products_product,
    products_image,
    products_review,
    products_product_type,
    products_attribute,
    products_attribute_value,
    products_search_word,
    orders_order,
    orders_line,
    orders_adjustment,
    orders_shipping_method,
    orders_shipping_band,
    orders_voucher,
    orders_voucher_use,
    orders_tax_rate,
    orders_event,
    orders_invoice_counter,
    orders_invoice,
    orders_payment_method,
    orders_billing_address,
    payments_payment,
    payments_transaction,
    payments_webhook_event,
    gateway_checkout,
    gateway_refund,
    gateway_webhook,
);
