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
    }
}

diesel::joinable!(products_product -> products_category (category_id));
