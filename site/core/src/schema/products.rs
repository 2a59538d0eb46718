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
        /// The product this is a variant of (carts and orders hold
        /// variants; the parent is shown and found, never sold).
        parent_id -> Nullable<BigInt>,
        product_type_id -> Nullable<BigInt>,
        /// A parent: its stock is its active variants' sum, its price their
        /// lowest.
        has_variants -> Bool,
        /// More words search finds it by: its category's (and that one's
        /// parent's) name, its variants' values.
        search_terms -> Text,
    }
}

diesel::table! {
    /// A kind of product and what its variants differ by ("Shoes": Size,
    /// Colour).
    products_product_type (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    products_attribute (id) {
        id -> BigInt,
        product_type_id -> BigInt,
        name -> Text,
        position -> Integer,
    }
}

diesel::table! {
    /// A variant's value of an attribute.
    products_attribute_value (product_id, attribute_id) {
        product_id -> BigInt,
        attribute_id -> BigInt,
        value -> Text,
    }
}

diesel::table! {
    /// Every word of the products' names and search terms, kept by
    /// triggers: what a misspelt search is corrected to.
    products_search_word (word) {
        word -> Text,
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
diesel::joinable!(products_attribute -> products_product_type (product_type_id));
diesel::joinable!(products_attribute_value -> products_attribute (attribute_id));
diesel::joinable!(products_attribute_value -> products_product (product_id));
diesel::joinable!(products_image -> products_product (product_id));
diesel::joinable!(products_review -> products_product (product_id));
diesel::joinable!(products_review -> accounts_user (user_id));
