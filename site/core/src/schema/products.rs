use super::accounts::accounts_user;

diesel::table! {
    products_category (id) {
        id -> BigInt,
        name -> Text,
        slug -> Text,
        description -> Text,
        parent_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    products_product (id) {
        id -> BigInt,
        category_id -> BigInt,
        name -> Text,
        slug -> Text,
        sku -> Text,
        /// Markdown, rendered sanitised.
        description -> Text,
        /// Minor units of `currency` (cents for USD).
        price_minor -> BigInt,
        currency -> Text,
        /// Never below zero: a CHECK constraint backs the conditional UPDATE.
        stock -> BigInt,
        is_active -> Bool,
        /// Path under MEDIA_ROOT, empty when the product has no image.
        image -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        /// For weight-band shipping; 0 when not known.
        weight_grams -> BigInt,
        /// Shown reviews: how many, and the sum of their stars.
        rating_count -> BigInt,
        rating_sum -> BigInt,
    }
}

diesel::table! {
    /// A customer's rating (1 to 5) and words about a product they bought.
    products_review (id) {
        id -> BigInt,
        product_id -> BigInt,
        user_id -> BigInt,
        rating -> Integer,
        title -> Text,
        body -> Text,
        author -> Text,
        is_visible -> Bool,
        created_at -> Timestamp,
        moderated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// A product's pictures, resized once into the sizes pages use (paths
    /// under MEDIA_ROOT).
    products_image (id) {
        id -> BigInt,
        product_id -> BigInt,
        large_path -> Text,
        card_path -> Text,
        thumb_path -> Text,
        width -> Integer,
        height -> Integer,
        alt -> Text,
        position -> Integer,
        /// At most one per product (a partial unique index).
        is_main -> Bool,
        created_at -> Timestamp,
    }
}

diesel::joinable!(products_product -> products_category (category_id));
diesel::joinable!(products_image -> products_product (product_id));
diesel::joinable!(products_review -> products_product (product_id));
diesel::joinable!(products_review -> accounts_user (user_id));
