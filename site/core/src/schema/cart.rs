use super::accounts::accounts_user;
use super::products::products_product;

diesel::table! {
    /// A customer's cart line (guests keep their cart in the session).
    cart_line (user_id, product_id) {
        user_id -> BigInt,
        product_id -> BigInt,
        quantity -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(cart_line -> products_product (product_id));
diesel::joinable!(cart_line -> accounts_user (user_id));
