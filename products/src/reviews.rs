//! Reviews and ratings. A signed-in customer with an order of a product
//! that was paid (or shipped, or delivered) rates it once, 1 to 5 stars,
//! with an optional title and a few words; it shows at once. Staff hide a
//! review (and show it again) from the admin. The product keeps the count
//! and sum of its shown ratings, changed in the same transaction as the
//! review, so cards and pages show the average without reading reviews.
//! Text is kept as typed and escaped when shown: no markup reaches a page.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use site_core::db::{write_transaction, DbConn};
use site_core::schema::{
    accounts_user as u, orders_line as l, orders_order as o, products_product as p,
    products_review as r,
};

pub const MAX_TITLE: usize = 120;
pub const MAX_BODY: usize = 5_000;
/// Reviews a product page shows (the newest).
pub const SHOWN: i64 = 20;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = r)]
pub struct Review {
    pub id: i64,
    pub product_id: i64,
    pub user_id: i64,
    pub rating: i32,
    pub title: String,
    pub body: String,
    pub author: String,
    pub is_visible: bool,
    pub created_at: NaiveDateTime,
}

/// A product's shown ratings, as cards and pages print them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rating {
    pub count: i64,
    /// To one decimal: 4.3.
    pub average: f64,
    /// The average as printed: "4.3", "4.0".
    pub shown: String,
    /// Whole stars to draw (the average rounded): 4.
    pub stars: i64,
}

impl Rating {
    pub fn of(count: i64, sum: i64) -> Option<Rating> {
        (count > 0).then(|| {
            let average = sum as f64 / count as f64;
            let rounded = (average * 10.0).round() / 10.0;
            Rating {
                count,
                average: rounded,
                shown: format!("{rounded:.1}"),
                stars: average.round().clamp(1.0, 5.0) as i64,
            }
        })
    }
}

/// What a customer typed, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewForm {
    pub rating: i32,
    pub title: String,
    pub body: String,
}

/// Each field's problem, for the form to show beside it.
pub type FieldErrors = Vec<(&'static str, String)>;

impl ReviewForm {
    pub fn parse(
        rating: Option<&str>,
        title: Option<&str>,
        body: Option<&str>,
    ) -> Result<ReviewForm, FieldErrors> {
        let mut errors = FieldErrors::new();
        let rating = match rating.map(str::trim).unwrap_or("").parse::<i32>() {
            Ok(n @ 1..=5) => n,
            _ => {
                errors.push(("rating", "Choose from one to five stars.".into()));
                0
            }
        };
        let title = title.unwrap_or("").trim().to_string();
        if title.chars().count() > MAX_TITLE {
            errors.push((
                "title",
                format!("Keep the title to {MAX_TITLE} characters or fewer."),
            ));
        }
        let body = body.unwrap_or("").trim().replace("\r\n", "\n");
        if body.chars().count() > MAX_BODY {
            errors.push((
                "body",
                format!("Keep the review to {MAX_BODY} characters or fewer."),
            ));
        }
        if errors.is_empty() {
            Ok(ReviewForm {
                rating,
                title,
                body,
            })
        } else {
            Err(errors)
        }
    }
}

/// Whether `user` has an order of `product` that was paid, shipped or
/// delivered (not one still waiting for payment, nor one cancelled).
pub fn bought(conn: &mut DbConn, user: i64, product: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        l::table
            .inner_join(o::table)
            .filter(o::user_id.eq(user))
            .filter(
                // The product itself, or one of its variants.
                l::product_id.eq(product).or(l::product_id.eq_any(
                    p::table
                        .filter(p::parent_id.eq(product))
                        .select(p::id.nullable()),
                )),
            )
            .filter(o::status.eq_any(["paid", "shipped", "delivered"])),
    ))
    .get_result(conn)
}

/// `user`'s review of `product`, shown or not.
pub fn of_user(conn: &mut DbConn, user: i64, product: i64) -> QueryResult<Option<Review>> {
    r::table
        .filter(r::user_id.eq(user))
        .filter(r::product_id.eq(product))
        .select(Review::as_select())
        .first(conn)
        .optional()
}

/// A product's newest shown reviews.
pub fn shown(conn: &mut DbConn, product: i64, limit: i64) -> QueryResult<Vec<Review>> {
    r::table
        .filter(r::product_id.eq(product))
        .filter(r::is_visible.eq(true))
        .order((r::created_at.desc(), r::id.desc()))
        .limit(limit)
        .select(Review::as_select())
        .load(conn)
}

/// How a review's author is shown: "Ada L.", or "A customer".
pub fn author_name(first: &str, last: &str) -> String {
    let first = first.trim();
    match (first.is_empty(), last.trim().chars().next()) {
        (true, _) => "A customer".into(),
        (false, Some(initial)) => format!("{first} {}.", initial.to_uppercase()),
        (false, None) => first.to_string(),
    }
}

/// What demo customers say, by stars: (title, text).
const DEMO_WORDS: [&[(&str, &str)]; 5] = [
    &[(
        "Disappointed",
        "Not what the pictures promised. It went back the same week.",
    )],
    &[
        (
            "Not for me",
            "It works, but it feels cheaper than the price suggests.",
        ),
        (
            "Could be better",
            "Arrived late and the finish was already scuffed.",
        ),
    ],
    &[
        ("Does the job", "Fine for everyday use; nothing special."),
        (
            "Okay",
            "Good value, though I expected it to be a bit bigger.",
        ),
    ],
    &[
        (
            "Very good",
            "Well made and exactly as described. Delivery was quick.",
        ),
        (
            "Happy with it",
            "Solid, looks good, and the size is right. One small scratch.",
        ),
        (
            "Recommended",
            "Used it every day for a month and it still looks new.",
        ),
    ],
    &[
        (
            "Love it",
            "Beautifully made. I have already ordered another as a gift.",
        ),
        (
            "Exactly what I wanted",
            "Great quality, fast delivery, and it fits perfectly.",
        ),
        (
            "Five stars",
            "Better than I hoped for the price. Would buy again.",
        ),
        ("", ""),
    ],
];

#[derive(Insertable)]
#[diesel(table_name = r)]
struct DemoReview {
    product_id: i64,
    user_id: i64,
    rating: i32,
    title: String,
    body: String,
    author: String,
    is_visible: bool,
    created_at: NaiveDateTime,
}

/// Reviews for the demo: about half of what each demo customer bought
/// (paid, shipped or delivered; a variant's review is its product's) gets
/// one, mostly four or five stars, written a few days after the order.
/// Deterministic. The products' totals are recounted after. Returns how
/// many were written.
pub fn seed_demo(conn: &mut DbConn) -> QueryResult<usize> {
    let bought: Vec<(i64, i64, Option<i64>, NaiveDateTime, String, String)> = l::table
        .inner_join(o::table.inner_join(u::table))
        .inner_join(p::table)
        .filter(o::status.eq_any(["paid", "shipped", "delivered"]))
        .order((o::id, l::id))
        .select((
            u::id,
            p::id,
            p::parent_id,
            o::created_at,
            u::first_name,
            u::last_name,
        ))
        .load(conn)?;
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for (user, product, parent, at, first, last) in bought {
        let product = parent.unwrap_or(product);
        if !seen.insert((user, product)) {
            continue;
        }
        let h = crate::demo::mix(((user as u64) << 32) ^ product as u64);
        if h % 2 == 1 {
            continue;
        }
        // Mostly pleased: 5, 5, 5, 4, 4, 4, 3, 2, 1 in ten.
        let rating = match (h >> 8) % 10 {
            0..=3 => 5,
            4..=6 => 4,
            7 => 3,
            8 => 2,
            _ => 1,
        };
        let words = DEMO_WORDS[rating as usize - 1];
        let (title, body) = words[((h >> 16) % words.len() as u64) as usize];
        rows.push(DemoReview {
            product_id: product,
            user_id: user,
            rating,
            title: title.into(),
            body: body.into(),
            author: author_name(&first, &last),
            is_visible: true,
            // Days after the order, never in the future.
            created_at: (at + chrono::Duration::days(2 + ((h >> 24) % 12) as i64))
                .min(site_core::now()),
        });
    }
    for chunk in rows.chunks(500) {
        site_core::insert_many!(conn, r::table, chunk)?;
    }
    diesel::sql_query(
        "UPDATE products_product SET          rating_count = (SELECT COUNT(*) FROM products_review r              WHERE r.product_id = products_product.id AND r.is_visible),          rating_sum = COALESCE((SELECT SUM(r.rating) FROM products_review r              WHERE r.product_id = products_product.id AND r.is_visible), 0)          WHERE id IN (SELECT product_id FROM products_review)",
    )
    .execute(conn)?;
    Ok(rows.len())
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("You have already reviewed this product.")]
    AlreadyReviewed,
    #[error("Only customers who bought this product can review it.")]
    NotBought,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Adds `user`'s review of `product`, shown at once, and counts it on the
/// product, in one transaction. A second review by the same customer (two
/// tabs, a double click) is refused by the unique index.
pub fn submit(
    conn: &mut DbConn,
    product: i64,
    user: i64,
    form: &ReviewForm,
) -> Result<Review, SubmitError> {
    write_transaction(conn, |conn| {
        if !bought(conn, user, product)? {
            return Err(SubmitError::NotBought);
        }
        let (first, last): (String, String) = u::table
            .find(user)
            .select((u::first_name, u::last_name))
            .first(conn)?;
        let inserted = diesel::insert_into(r::table)
            .values((
                r::product_id.eq(product),
                r::user_id.eq(user),
                r::rating.eq(form.rating),
                r::title.eq(&form.title),
                r::body.eq(&form.body),
                r::author.eq(author_name(&first, &last)),
                r::is_visible.eq(true),
                r::created_at.eq(site_core::now()),
            ))
            .execute(conn);
        match inserted {
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => return Err(SubmitError::AlreadyReviewed),
            other => other?,
        };
        count(conn, product, 1, form.rating)?;
        Ok(of_user(conn, user, product)?.ok_or(diesel::result::Error::NotFound)?)
    })
}

/// Adds (or, with `by` -1, takes away) one rating on the product's totals.
fn count(conn: &mut DbConn, product: i64, by: i64, rating: i32) -> QueryResult<()> {
    diesel::update(p::table.find(product))
        .set((
            p::rating_count.eq(p::rating_count + by),
            p::rating_sum.eq(p::rating_sum + by * i64::from(rating)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Shows or hides a review (staff); whether it changed.
pub fn set_visible(conn: &mut DbConn, id: i64, visible: bool) -> QueryResult<bool> {
    write_transaction(conn, |conn| {
        let Some((product, rating)) = r::table
            .find(id)
            .filter(r::is_visible.ne(visible))
            .select((r::product_id, r::rating))
            .first::<(i64, i32)>(conn)
            .optional()?
        else {
            return Ok(false);
        };
        // Guarded by the state it moves from: of two staff (or a double
        // click) hiding it at once, one changes it and counts.
        let changed = diesel::update(r::table.find(id).filter(r::is_visible.ne(visible)))
            .set((
                r::is_visible.eq(visible),
                r::moderated_at.eq(Some(site_core::now())),
            ))
            .execute(conn)?;
        if changed == 1 {
            count(conn, product, if visible { 1 } else { -1 }, rating)?;
        }
        Ok(changed == 1)
    })
}

/// Deletes a review, taking it off the product's totals if it was shown.
pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    write_transaction(conn, |conn| {
        let Some((product, rating, visible)) = r::table
            .find(id)
            .select((r::product_id, r::rating, r::is_visible))
            .first::<(i64, i32, bool)>(conn)
            .optional()?
        else {
            return Ok(false);
        };
        let gone =
            diesel::delete(r::table.find(id).filter(r::is_visible.eq(visible))).execute(conn)?;
        if gone == 1 && visible {
            count(conn, product, -1, rating)?;
        }
        Ok(gone == 1)
    })
}

/// Deletes every review `user` wrote, taking the shown ones off their
/// products' totals (their account is being deleted).
pub fn forget(conn: &mut DbConn, user: i64) -> QueryResult<usize> {
    let ids: Vec<i64> = r::table
        .filter(r::user_id.eq(user))
        .select(r::id)
        .load(conn)?;
    for id in &ids {
        delete(conn, *id)?;
    }
    Ok(ids.len())
}

/// A customer's reviews in their data export, and deleted (off the
/// averages) with their account.
pub struct ReviewsOfCustomer;

impl site_core::hooks::AccountHook for ReviewsOfCustomer {
    fn export(
        &self,
        conn: &mut DbConn,
        user_id: i64,
    ) -> QueryResult<Option<(&'static str, serde_json::Value)>> {
        let mine: Vec<Review> = r::table
            .filter(r::user_id.eq(user_id))
            .order(r::id)
            .select(Review::as_select())
            .load(conn)?;
        Ok(Some((
            "reviews",
            serde_json::to_value(mine).unwrap_or_default(),
        )))
    }

    fn forget(&self, conn: &mut DbConn, user_id: i64) -> QueryResult<()> {
        forget(conn, user_id).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_average_to_one_decimal_and_round_to_stars() {
        assert_eq!(Rating::of(0, 0), None);
        let r = Rating::of(3, 13).unwrap();
        assert_eq!((r.count, r.average, r.stars), (3, 4.3, 4));
        assert_eq!(Rating::of(1, 4).unwrap().shown, "4.0");
        assert_eq!(Rating::of(2, 9).unwrap().stars, 5);
    }

    #[test]
    fn the_form_wants_a_star_rating_and_bounded_text() {
        assert_eq!(
            ReviewForm::parse(Some("4"), Some(" Sturdy "), Some("Good.\r\nReally.")).unwrap(),
            ReviewForm {
                rating: 4,
                title: "Sturdy".into(),
                body: "Good.\nReally.".into()
            }
        );
        for bad in [None, Some(""), Some("0"), Some("6"), Some("four")] {
            let errors = ReviewForm::parse(bad, None, None).unwrap_err();
            assert_eq!(errors[0].0, "rating");
        }
        let long = "x".repeat(MAX_BODY + 1);
        let errors = ReviewForm::parse(Some("5"), None, Some(&long)).unwrap_err();
        assert_eq!(errors[0].0, "body");
    }

    #[test]
    fn authors_are_shown_by_first_name_and_initial() {
        assert_eq!(author_name("Ada", "lovelace"), "Ada L.");
        assert_eq!(author_name("Ada", ""), "Ada");
        assert_eq!(author_name(" ", "Lovelace"), "A customer");
    }
}
