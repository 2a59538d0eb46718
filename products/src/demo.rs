//! The demo catalogue: deterministic categories, products and generated
//! product images, so every fresh clone shows the same shop.

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use site_core::db::{write_transaction, DbConn};
use site_core::forms::Slug;
use site_core::money::Currency;

use crate::models::{Category, NewCategory, NewProduct, Product};

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub categories: usize,
    pub products: usize,
    pub media_root: PathBuf,
    pub currency: Currency,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the catalogue already has products; seeding only fills an empty one")]
    NotEmpty,
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("writing the demo images under {path}: {message}")]
    Image { path: PathBuf, message: String },
    #[error("at least one category is needed")]
    NoCategories,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub categories: usize,
    pub products: usize,
    pub images: usize,
}

const CATEGORY_NAMES: [(&str, &str); 24] = [
    (
        "Coffee",
        "Beans, grinders and everything for the first cup.",
    ),
    ("Tea", "Loose leaf, pots and cosy things."),
    ("Books", "Stories, guides and *beautiful* reference."),
    ("Kitchen", "Tools that earn their drawer space."),
    ("Garden", "Seeds, pots and gloves for green thumbs."),
    ("Toys", "Play that lasts longer than the box."),
    ("Outdoor", "Gear for weekends outside."),
    (
        "Stationery",
        "Paper, pens and the joy of writing things down.",
    ),
    ("Audio", "Headphones and speakers for every room."),
    ("Lighting", "Lamps and bulbs, warm and bright."),
    ("Bags", "Carry more, worry less."),
    ("Shoes", "Comfortable pairs for every day."),
    ("Home", "Small upgrades for every room."),
    ("Bath", "Soft towels and simple care."),
    ("Bikes", "Parts and accessories for the ride."),
    ("Games", "Board games and puzzles for long evenings."),
    ("Pets", "Treats and toys for furry friends."),
    ("Art", "Paints, brushes and canvas."),
    ("Music", "Strings, sticks and sheet music."),
    ("Travel", "Pack light, arrive ready."),
    ("Baby", "Gentle things for little ones."),
    ("Fitness", "Mats, weights and bands."),
    ("Tools", "The right tool for the job."),
    ("Watches", "Time, beautifully kept."),
];
/// Departments a full demo groups its first categories under (by their
/// index in `CATEGORY_NAMES`), so the shop has a tree to browse. The
/// others stay at the top level.
const DEPARTMENTS: [(&str, &str, &[usize]); 5] = [
    (
        "Food & Drink",
        "Coffee, tea and what goes with them.",
        &[0, 1],
    ),
    (
        "Home & Garden",
        "The kitchen, the garden and every room between.",
        &[3, 4, 9, 12, 13],
    ),
    (
        "Books & Hobbies",
        "Reading, writing, making and playing.",
        &[2, 5, 7, 15, 17, 18],
    ),
    (
        "Outdoor & Sport",
        "For the trail, the road and the gym.",
        &[6, 14, 19, 21],
    ),
    (
        "Clothing & Accessories",
        "Bags, shoes and watches.",
        &[10, 11, 23],
    ),
];

/// A demo with at least this many categories groups them in departments.
pub const DEPARTMENTS_FROM: usize = 12;

const ADJECTIVES: [&str; 12] = [
    "Classic", "Deluxe", "Eco", "Smart", "Vintage", "Ultra", "Compact", "Pro", "Rustic", "Nordic",
    "Everyday", "Studio",
];
const MATERIALS: [&str; 10] = [
    "Oak", "Steel", "Linen", "Ceramic", "Copper", "Wool", "Bamboo", "Glass", "Leather", "Cotton",
];
const NOUNS: [&str; 12] = [
    "Lamp",
    "Chair",
    "Kettle",
    "Backpack",
    "Headphones",
    "Mug",
    "Notebook",
    "Jacket",
    "Watch",
    "Blender",
    "Basket",
    "Tray",
];

/// How many distinct images the demo generates; products share them.
const IMAGE_POOL: usize = 48;

/// A small deterministic mixer (splitmix64), so seeds need no RNG state.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn base_time() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 1, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .unwrap_or_default()
}

pub fn category_name(i: usize) -> (String, &'static str) {
    let (name, description) = CATEGORY_NAMES[i % CATEGORY_NAMES.len()];
    let round = i / CATEGORY_NAMES.len();
    if round == 0 {
        (name.to_string(), description)
    } else {
        (format!("{name} {}", round + 1), description)
    }
}

/// Seeds an empty catalogue. `progress` is called with the number of
/// products written so far.
pub fn seed(
    conn: &mut DbConn,
    opts: &SeedOptions,
    progress: &dyn Fn(u64),
) -> Result<SeedReport, SeedError> {
    if opts.categories == 0 {
        return Err(SeedError::NoCategories);
    }
    if Product::count(conn)? > 0 {
        return Err(SeedError::NotEmpty);
    }
    let images = write_images(&opts.media_root, opts.products.min(IMAGE_POOL))?;
    let base = base_time();
    write_transaction(conn, |conn| -> Result<SeedReport, SeedError> {
        let mut categories = Vec::with_capacity(opts.categories);
        for i in 0..opts.categories {
            let (name, description) = category_name(i);
            let slug = Slug::from_name(&name);
            categories.push(Category::insert(
                conn,
                &NewCategory {
                    name: &name,
                    slug: slug.as_str(),
                    description,
                    parent_id: None,
                    created_at: base,
                },
            )?);
        }
        if opts.categories >= DEPARTMENTS_FROM {
            for (name, description, members) in DEPARTMENTS {
                let leaves: Vec<i64> = members
                    .iter()
                    .filter_map(|i| categories.get(*i).map(|c| c.id))
                    .collect();
                if leaves.is_empty() {
                    continue;
                }
                let slug = Slug::from_name(name);
                let department = Category::insert(
                    conn,
                    &NewCategory {
                        name,
                        slug: slug.as_str(),
                        description,
                        parent_id: None,
                        created_at: base,
                    },
                )?;
                diesel::update(
                    site_core::schema::products_category::table
                        .filter(site_core::schema::products_category::id.eq_any(&leaves)),
                )
                .set(site_core::schema::products_category::parent_id.eq(Some(department.id)))
                .execute(conn)?;
            }
        }
        // Multi-row INSERTs of a thousand: a million products take
        // minutes, not hours.
        let mut start = 0;
        while start < opts.products {
            let end = (start + SEED_BATCH).min(opts.products);
            let owned: Vec<DemoProduct> = (start..end)
                .map(|i| demo_product(i, &categories, &images, opts.currency, base))
                .collect();
            let rows: Vec<NewProduct<'_>> = owned.iter().map(DemoProduct::row).collect();
            site_core::insert_many!(conn, site_core::schema::products_product::table, &rows)?;
            start = end;
            progress(end as u64);
        }
        progress(opts.products as u64);
        Ok(SeedReport {
            categories: categories.len(),
            products: opts.products,
            images: images.len(),
        })
    })
}

/// Products written per statement.
const SEED_BATCH: usize = 1000;

/// A demo product's values, owned until they are written.
struct DemoProduct {
    category_id: i64,
    name: String,
    slug: String,
    sku: String,
    description: String,
    price_minor: i64,
    currency: &'static str,
    stock: i64,
    image: String,
    at: NaiveDateTime,
    weight_grams: i64,
}

impl DemoProduct {
    fn row(&self) -> NewProduct<'_> {
        NewProduct {
            category_id: self.category_id,
            name: &self.name,
            slug: &self.slug,
            sku: &self.sku,
            description: &self.description,
            price_minor: self.price_minor,
            currency: self.currency,
            stock: self.stock,
            is_active: true,
            image: &self.image,
            created_at: self.at,
            updated_at: self.at,
            weight_grams: self.weight_grams,
        }
    }
}

/// The `i`-th demo product: the same on every machine.
fn demo_product(
    i: usize,
    categories: &[Category],
    images: &[String],
    currency: Currency,
    base: NaiveDateTime,
) -> DemoProduct {
    let h = mix(i as u64);
    let name = format!(
        "{} {} {}",
        ADJECTIVES[(h % 12) as usize],
        MATERIALS[((h >> 8) % 10) as usize],
        NOUNS[((h >> 16) % 12) as usize]
    );
    let sku = format!("DEMO-{:05}", i + 1);
    let category = &categories[i % categories.len()];
    // Prices end in .99 (or whole yen); one in ten is sold out.
    let whole = 3 + (h >> 24) % 197;
    let price_minor = if currency.exponent() == 0 {
        (whole * 100) as i64
    } else {
        (whole * 100 + 99) as i64
    };
    let stock = if (h >> 40).is_multiple_of(10) {
        0
    } else {
        1 + ((h >> 44) % 60) as i64
    };
    let description = format!(
        "The **{name}** is part of our {cat} range.\n\n\
         - Made to last, easy to care for\n- Ships in recyclable packaging\n- SKU `{sku}`\n\n\
         Every item in this demo shop is made up, but the checkout is real.",
        cat = category.name.to_lowercase(),
    );
    DemoProduct {
        category_id: category.id,
        slug: Slug::from_name(&name).as_str().to_string(),
        name,
        sku,
        description,
        price_minor,
        currency: currency.code(),
        stock,
        image: images
            .get(i % images.len().max(1))
            .cloned()
            .unwrap_or_default(),
        at: base + Duration::minutes(i as i64),
        // 50 g to 5 kg, so every weight band of the demo shipping is used.
        weight_grams: 50 + ((h >> 50) % 99) as i64 * 50,
    }
}

/// Writes `n` generated PNGs (gradients with a simple shape) under
/// `media_root/products/`; returns their paths relative to `media_root`.
fn write_images(media_root: &Path, n: usize) -> Result<Vec<String>, SeedError> {
    let dir = media_root.join("products");
    let err = |e: &dyn std::fmt::Display| SeedError::Image {
        path: dir.clone(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| err(&e))?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let rel = format!("products/demo-{i:02}.png");
        let path = media_root.join(&rel);
        if !path.exists() {
            demo_image(i).save(&path).map_err(|e| err(&e))?;
        }
        out.push(rel);
    }
    Ok(out)
}

fn hsl(h: f32, s: f32, l: f32) -> [u8; 3] {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let m = l - c / 2.0;
    let (r, g, b) = match (h as u32) / 60 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    [
        ((r + m) * 255.0) as u8,
        ((g + m) * 255.0) as u8,
        ((b + m) * 255.0) as u8,
    ]
}

pub fn demo_image(i: usize) -> image::RgbImage {
    const W: u32 = 480;
    const H: u32 = 360;
    let h = mix(i as u64 + 1000);
    let hue = (h % 360) as f32;
    let shape = (h >> 12) % 3;
    let top = hsl(hue, 0.45, 0.78);
    let bottom = hsl((hue + 40.0) % 360.0, 0.5, 0.62);
    let fg = hsl((hue + 180.0) % 360.0, 0.35, 0.92);
    image::RgbImage::from_fn(W, H, |x, y| {
        let (cx, cy) = (x as f32 - W as f32 / 2.0, y as f32 - H as f32 / 2.0);
        let inside = match shape {
            0 => cx * cx + cy * cy < 95.0 * 95.0,
            1 => cx.abs() < 90.0 && cy.abs() < 90.0,
            _ => cy > -90.0 && cy < 80.0 && cx.abs() < (cy + 90.0) * 0.6,
        };
        if inside {
            image::Rgb(fg)
        } else {
            let t = y as f32 / H as f32;
            image::Rgb([0, 1, 2].map(|k| (top[k] as f32 * (1.0 - t) + bottom[k] as f32 * t) as u8))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_deterministic_and_distinct() {
        assert_eq!(category_name(0).0, "Coffee");
        assert_eq!(category_name(24).0, "Coffee 2");
        assert_eq!(mix(7), mix(7));
        assert_ne!(mix(7), mix(8));
    }

    #[test]
    fn images_are_deterministic() {
        assert_eq!(demo_image(3).as_raw(), demo_image(3).as_raw());
        assert_ne!(demo_image(3).as_raw(), demo_image(4).as_raw());
    }
}
