//! The demo catalogue: deterministic categories, products and generated
//! product images, so every fresh clone shows the same shop.

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl, SelectableHelper};
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

/// What each category (by its index in `CATEGORY_NAMES`) sells: words
/// that go before a kind of product, the kinds, and the price range in
/// whole units. Names are "{word} {kind}": "Ethiopian Whole Beans" in
/// Coffee, "Trail Running Shoes" in Shoes.
struct Range {
    words: &'static [&'static str],
    kinds: &'static [&'static str],
    low: u64,
    high: u64,
}

const RANGES: [Range; 24] = [
    Range {
        words: &[
            "Ethiopian",
            "Colombian",
            "House",
            "Dark Roast",
            "Decaf",
            "Single-Origin",
        ],
        kinds: &[
            "Whole Beans",
            "Ground Coffee",
            "Espresso Blend",
            "Cold Brew Pack",
            "Drip Bags",
        ],
        low: 8,
        high: 29,
    },
    Range {
        words: &[
            "Assam",
            "Darjeeling",
            "Jasmine",
            "Earl Grey",
            "Sencha",
            "Rooibos",
        ],
        kinds: &[
            "Loose Leaf Tea",
            "Tea Bags",
            "Tea Tin",
            "Teapot",
            "Tea Sampler",
        ],
        low: 5,
        high: 45,
    },
    Range {
        words: &[
            "Illustrated",
            "Pocket",
            "Collected",
            "Hardback",
            "Field",
            "Beginner's",
        ],
        kinds: &[
            "Cookbook",
            "Travel Guide",
            "Novel",
            "Atlas",
            "Poetry Collection",
            "Field Guide",
        ],
        low: 9,
        high: 49,
    },
    Range {
        words: &[
            "Cast Iron",
            "Stainless",
            "Enamel",
            "Copper",
            "Oak",
            "Ceramic",
        ],
        kinds: &[
            "Skillet",
            "Saucepan",
            "Chef's Knife",
            "Cutting Board",
            "Mixing Bowl",
            "Kettle",
        ],
        low: 12,
        high: 149,
    },
    Range {
        words: &[
            "Heirloom",
            "Terracotta",
            "Galvanised",
            "Organic",
            "Raised",
            "Bamboo",
        ],
        kinds: &[
            "Seed Kit",
            "Plant Pot",
            "Watering Can",
            "Garden Gloves",
            "Trowel",
            "Herb Planter",
        ],
        low: 5,
        high: 69,
    },
    Range {
        words: &[
            "Wooden", "Wind-Up", "Plush", "Magnetic", "Stacking", "Rainbow",
        ],
        kinds: &[
            "Train Set",
            "Building Blocks",
            "Teddy Bear",
            "Puzzle Cube",
            "Spinning Top",
            "Marble Run",
        ],
        low: 9,
        high: 79,
    },
    Range {
        words: &[
            "Ultralight",
            "Two-Person",
            "Insulated",
            "Waterproof",
            "Folding",
            "Alpine",
        ],
        kinds: &[
            "Tent",
            "Sleeping Bag",
            "Camping Stove",
            "Headlamp",
            "Water Bottle",
            "Camp Chair",
        ],
        low: 15,
        high: 299,
    },
    Range {
        words: &[
            "Dot Grid", "Linen", "Recycled", "Fountain", "Brass", "Pocket",
        ],
        kinds: &[
            "Notebook",
            "Pen",
            "Sketchbook",
            "Desk Organiser",
            "Planner",
            "Letter Set",
        ],
        low: 4,
        high: 59,
    },
    Range {
        words: &[
            "Wireless",
            "Noise-Cancelling",
            "Studio",
            "Portable",
            "Bookshelf",
            "Retro",
        ],
        kinds: &[
            "Headphones",
            "Speaker",
            "Earbuds",
            "Turntable",
            "Radio",
            "Soundbar",
        ],
        low: 29,
        high: 399,
    },
    Range {
        words: &["Brass", "Paper", "Arc", "Dimmable", "Rattan", "Industrial"],
        kinds: &[
            "Table Lamp",
            "Floor Lamp",
            "Pendant Light",
            "Desk Lamp",
            "LED Bulb",
            "String Lights",
        ],
        low: 9,
        high: 249,
    },
    Range {
        words: &["Canvas", "Leather", "Waxed", "Recycled", "Weekend", "City"],
        kinds: &[
            "Backpack",
            "Tote Bag",
            "Messenger Bag",
            "Duffel Bag",
            "Crossbody Bag",
        ],
        low: 29,
        high: 229,
    },
    Range {
        words: &[
            "Trail",
            "Everyday",
            "Canvas",
            "Leather",
            "Court",
            "Waterproof",
        ],
        kinds: &[
            "Running Shoes",
            "Sneakers",
            "Chelsea Boots",
            "Walking Boots",
            "Loafers",
        ],
        low: 49,
        high: 189,
    },
    Range {
        words: &["Linen", "Wool", "Velvet", "Woven", "Ceramic", "Oak"],
        kinds: &[
            "Cushion Cover",
            "Throw Blanket",
            "Vase",
            "Wall Mirror",
            "Side Table",
            "Candle",
        ],
        low: 12,
        high: 249,
    },
    Range {
        words: &[
            "Waffle",
            "Organic Cotton",
            "Lavender",
            "Bamboo",
            "Eucalyptus",
            "Cedar",
        ],
        kinds: &[
            "Bath Towel",
            "Bath Mat",
            "Soap Bar",
            "Bath Robe",
            "Body Wash",
            "Shower Caddy",
        ],
        low: 6,
        high: 89,
    },
    Range {
        words: &[
            "Alloy",
            "Carbon",
            "Rechargeable",
            "Puncture-Proof",
            "Folding",
            "Commuter",
        ],
        kinds: &[
            "Bike Light Set",
            "Bike Lock",
            "Pannier",
            "Tyre",
            "Pump",
            "Helmet",
        ],
        low: 9,
        high: 149,
    },
    Range {
        words: &[
            "Classic",
            "Cooperative",
            "1000-Piece",
            "Pocket",
            "Family",
            "Strategy",
        ],
        kinds: &[
            "Board Game",
            "Jigsaw Puzzle",
            "Card Game",
            "Chess Set",
            "Dice Game",
        ],
        low: 9,
        high: 69,
    },
    Range {
        words: &[
            "Orthopaedic",
            "Chew-Proof",
            "Grain-Free",
            "Reflective",
            "Catnip",
            "Cosy",
        ],
        kinds: &[
            "Dog Bed",
            "Dog Toy",
            "Cat Treats",
            "Dog Lead",
            "Cat Scratcher",
            "Pet Bowl",
        ],
        low: 4,
        high: 99,
    },
    Range {
        words: &[
            "Watercolour",
            "Acrylic",
            "Oil",
            "Charcoal",
            "Gouache",
            "Beginner",
        ],
        kinds: &[
            "Paint Set",
            "Brush Set",
            "Canvas Pack",
            "Easel",
            "Sketch Pencils",
        ],
        low: 7,
        high: 129,
    },
    Range {
        words: &[
            "Acoustic",
            "Maple",
            "Beginner",
            "Chromatic",
            "Concert",
            "Travel",
        ],
        kinds: &[
            "Ukulele",
            "Guitar Strings",
            "Drumsticks",
            "Harmonica",
            "Music Stand",
            "Metronome",
        ],
        low: 6,
        high: 199,
    },
    Range {
        words: &[
            "Carry-On",
            "Packable",
            "Merino",
            "Compression",
            "Hard-Shell",
            "Leather",
        ],
        kinds: &[
            "Suitcase",
            "Packing Cubes",
            "Travel Pillow",
            "Passport Wallet",
            "Luggage Tag",
        ],
        low: 9,
        high: 249,
    },
    Range {
        words: &["Organic", "Muslin", "Wooden", "Soft", "Knitted", "Bamboo"],
        kinds: &[
            "Swaddle",
            "Baby Blanket",
            "Rattle",
            "Teether",
            "Sleep Suit",
            "Bib Set",
        ],
        low: 6,
        high: 59,
    },
    Range {
        words: &[
            "Non-Slip",
            "Adjustable",
            "Cork",
            "Cast Iron",
            "Resistance",
            "Foam",
        ],
        kinds: &[
            "Yoga Mat",
            "Dumbbell",
            "Kettlebell",
            "Resistance Bands",
            "Foam Roller",
            "Skipping Rope",
        ],
        low: 9,
        high: 149,
    },
    Range {
        words: &[
            "Cordless",
            "Precision",
            "Folding",
            "Magnetic",
            "Heavy-Duty",
            "Compact",
        ],
        kinds: &[
            "Drill",
            "Screwdriver Set",
            "Tape Measure",
            "Spirit Level",
            "Hammer",
            "Utility Knife",
        ],
        low: 7,
        high: 179,
    },
    Range {
        words: &[
            "Automatic",
            "Field",
            "Dive",
            "Minimalist",
            "Chronograph",
            "Solar",
        ],
        kinds: &["Watch", "Pocket Watch", "Watch Strap", "Watch Winder"],
        low: 49,
        high: 499,
    },
];

/// Products that come in sizes and colours: a product type each, the
/// category it fits (index in `CATEGORY_NAMES`), and its variants' values
/// (one row per attribute).
struct VariedKind {
    category: usize,
    kind: &'static str,
    attributes: &'static [(&'static str, &'static [&'static str])],
}

const VARIED: [VariedKind; 2] = [
    VariedKind {
        category: 11,
        kind: "Shoes",
        attributes: &[
            ("Size", &["39", "40", "41", "42", "43", "44"]),
            ("Colour", &["Black", "Stone"]),
        ],
    },
    VariedKind {
        category: 10,
        kind: "Bags",
        attributes: &[("Colour", &["Black", "Tan", "Olive"])],
    },
];

/// Products of a varied kind get variants only among the first this many
/// of the catalogue: enough to browse and buy, and seeding a million
/// products stays a matter of minutes.
const VARIED_WITHIN: usize = 20_000;

/// A small deterministic mixer (splitmix64), so seeds need no RNG state.
pub(crate) fn mix(mut x: u64) -> u64 {
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
    let images = write_images(&opts.media_root, opts.categories, opts.products)?;
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
        // What search finds each category's products by besides their
        // own words: the category's name and its department's.
        let terms: Vec<String> = categories
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let department = DEPARTMENTS
                    .iter()
                    .find(|(_, _, members)| members.contains(&k))
                    .filter(|_| opts.categories >= DEPARTMENTS_FROM);
                match department {
                    Some((name, _, _)) => format!("{} {name}", c.name),
                    None => c.name.clone(),
                }
            })
            .collect();
        // Multi-row INSERTs of a thousand: a million products take
        // minutes, not hours.
        let mut start = 0;
        while start < opts.products {
            let end = (start + SEED_BATCH).min(opts.products);
            let owned: Vec<DemoProduct> = (start..end)
                .map(|i| demo_product(i, &categories, &terms, &images, opts.currency, base))
                .collect();
            let rows: Vec<NewProduct<'_>> = owned.iter().map(DemoProduct::row).collect();
            site_core::insert_many!(conn, site_core::schema::products_product::table, &rows)?;
            start = end;
            progress(end as u64);
        }
        // PostgreSQL plans from statistics, and has none of the rows this
        // transaction wrote: without them it scanned the whole table for
        // each parent whose variants it totals (seconds per batch at a
        // million products).
        if let DbConn::Postgres(_) = conn {
            diesel::sql_query("ANALYZE products_product").execute(conn)?;
        }
        seed_variants(conn, &categories, opts, base)?;
        progress(opts.products as u64);
        Ok(SeedReport {
            categories: categories.len(),
            products: opts.products,
            images: images.iter().filter(|p| !p.is_empty()).count(),
        })
    })
}

/// Products written per statement.
const SEED_BATCH: usize = 1000;

#[derive(diesel::Insertable)]
#[diesel(table_name = site_core::schema::products_product)]
struct VariantRow {
    category_id: i64,
    name: String,
    slug: String,
    sku: String,
    description: String,
    price_minor: i64,
    currency: String,
    stock: i64,
    is_active: bool,
    image: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    weight_grams: i64,
    parent_id: Option<i64>,
    product_type_id: Option<i64>,
}

#[derive(diesel::Insertable)]
#[diesel(table_name = site_core::schema::products_attribute_value)]
struct ValueRow {
    product_id: i64,
    attribute_id: i64,
    value: String,
}

/// A variant's own picture (see `images`): the demo's are one drawing
/// in the variant's colour, the same file in every size.
#[derive(diesel::Insertable)]
#[diesel(table_name = site_core::schema::products_image)]
struct ImageRow {
    product_id: i64,
    large_path: String,
    card_path: String,
    thumb_path: String,
    width: i32,
    height: i32,
    alt: String,
    position: i32,
    is_main: bool,
    created_at: NaiveDateTime,
}

impl ImageRow {
    fn demo(product_id: i64, path: String, at: NaiveDateTime) -> ImageRow {
        let (w, h) = crate::demo_art::SIZE;
        ImageRow {
            product_id,
            large_path: path.clone(),
            card_path: path.clone(),
            thumb_path: path,
            width: w as i32,
            height: h as i32,
            alt: String::new(),
            position: 0,
            is_main: true,
            created_at: at,
        }
    }
}

/// Writes a picture of `varied`'s drawing in each of its colours (the
/// values of its "Colour" attribute); colour -> path under `media_root`.
fn colour_pictures(
    media_root: &Path,
    varied: &VariedKind,
) -> Result<std::collections::HashMap<&'static str, String>, SeedError> {
    let mut out = std::collections::HashMap::new();
    let colours = varied
        .attributes
        .iter()
        .filter(|(a, _)| *a == "Colour")
        .flat_map(|(_, values)| values.iter());
    for colour in colours {
        let Some(svg) = crate::demo_art::coloured_svg(varied.category, colour) else {
            continue;
        };
        let rel = format!(
            "products/demo-art-{}-{}.png",
            varied.kind.to_lowercase(),
            colour.to_lowercase()
        );
        write_picture(media_root, &rel, || crate::demo_art::rasterise(&svg)).map_err(|e| {
            SeedError::Image {
                path: media_root.join(&rel),
                message: e.to_string(),
            }
        })?;
        out.insert(*colour, rel);
    }
    Ok(out)
}

/// Gives the demo's shoes sizes and colours and its bags colours: a
/// product type each, and a variant per combination with its own SKU and
/// stock (some sold out), written in batches.
fn seed_variants(
    conn: &mut DbConn,
    categories: &[Category],
    opts: &SeedOptions,
    base: NaiveDateTime,
) -> Result<(), SeedError> {
    use site_core::schema::products_product as p;
    let products = opts.products;
    for varied in &VARIED {
        if varied.category >= categories.len() {
            continue;
        }
        // Each colour's picture, shared by the variants in that colour.
        let pictures = colour_pictures(&opts.media_root, varied)?;
        let colour = varied.attributes.iter().position(|(a, _)| *a == "Colour");
        let mut pictured: std::collections::HashMap<String, String> =
            std::collections::HashMap::new();
        let names: Vec<&str> = varied.attributes.iter().map(|(a, _)| *a).collect();
        let kind = crate::variants::create_type(conn, varied.kind, &names)?;
        let attributes = crate::variants::attributes(conn, kind)?;
        let skus: Vec<String> = (0..products.min(VARIED_WITHIN))
            .filter(|i| i % categories.len() == varied.category)
            .map(|i| format!("DEMO-{:05}", i + 1))
            .collect();
        for chunk in skus.chunks(SEED_BATCH / 8) {
            let parents: Vec<Product> = p::table
                .filter(p::sku.eq_any(chunk))
                .select(Product::as_select())
                .load(conn)?;
            let mut rows = Vec::new();
            let mut values = std::collections::HashMap::new();
            for parent in &parents {
                let mut combos: Vec<Vec<&str>> = vec![Vec::new()];
                for (_, choices) in varied.attributes {
                    combos = combos
                        .into_iter()
                        .flat_map(|c| {
                            choices.iter().map(move |v| {
                                let mut next = c.clone();
                                next.push(*v);
                                next
                            })
                        })
                        .collect();
                }
                for (n, combo) in combos.iter().enumerate() {
                    let h = mix(parent.id as u64 * 64 + n as u64);
                    let sku = format!("{}-{}", parent.sku, combo.join("-").to_uppercase());
                    let owned: Vec<String> = combo.iter().map(|v| v.to_string()).collect();
                    let picture = colour
                        .and_then(|c| combo.get(c))
                        .and_then(|c| pictures.get(*c));
                    if let Some(picture) = picture {
                        pictured.insert(sku.clone(), picture.clone());
                    }
                    rows.push(VariantRow {
                        category_id: parent.category_id,
                        name: crate::variants::variant_name(&parent.name, &owned),
                        slug: parent.slug.clone(),
                        sku: sku.clone(),
                        description: String::new(),
                        price_minor: parent.price_minor,
                        currency: parent.currency.clone(),
                        // One in five sold out, the rest 1 to 12.
                        stock: if h.is_multiple_of(5) {
                            0
                        } else {
                            1 + (h >> 8) as i64 % 12
                        },
                        is_active: true,
                        image: picture.unwrap_or(&parent.image).clone(),
                        created_at: base,
                        updated_at: base,
                        weight_grams: parent.weight_grams,
                        parent_id: Some(parent.id),
                        product_type_id: Some(kind),
                    });
                    values.insert(sku, owned);
                }
            }
            site_core::insert_many!(conn, p::table, &rows)?;
            let ids: Vec<i64> = parents.iter().map(|p| p.id).collect();
            let children: Vec<(i64, String)> = p::table
                .filter(p::parent_id.eq_any(&ids))
                .select((p::id, p::sku))
                .load(conn)?;
            let mut value_rows = Vec::new();
            let mut image_rows = Vec::new();
            for (id, sku) in children {
                if let Some(path) = pictured.remove(&sku) {
                    image_rows.push(ImageRow::demo(id, path, base));
                }
                for (attribute, value) in attributes
                    .iter()
                    .zip(values.remove(&sku).unwrap_or_default())
                {
                    value_rows.push(ValueRow {
                        product_id: id,
                        attribute_id: attribute.id,
                        value,
                    });
                }
            }
            site_core::insert_many!(
                conn,
                site_core::schema::products_attribute_value::table,
                &value_rows
            )?;
            site_core::insert_many!(conn, site_core::schema::products_image::table, &image_rows)?;
            diesel::update(p::table.filter(p::id.eq_any(&ids)))
                .set(p::product_type_id.eq(kind))
                .execute(conn)?;
            crate::models::refresh_parents(conn, &ids)?;
            crate::search::refresh_terms(conn, crate::search::Scope::Products(&ids))?;
        }
    }
    Ok(())
}

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
    search_terms: String,
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
            search_terms: &self.search_terms,
        }
    }
}

/// The `i`-th demo product: the same on every machine.
fn demo_product(
    i: usize,
    categories: &[Category],
    terms: &[String],
    images: &[String],
    currency: Currency,
    base: NaiveDateTime,
) -> DemoProduct {
    let h = mix(i as u64);
    let category = &categories[i % categories.len()];
    let range = &RANGES[(i % categories.len()) % RANGES.len()];
    // Every kind in turn, with each word once, before any name repeats.
    let round = i / categories.len();
    let (words, kinds) = (range.words.len(), range.kinds.len());
    let name = format!(
        "{} {}",
        range.words[(round / kinds + round) % words],
        range.kinds[round % kinds]
    );
    let sku = format!("DEMO-{:05}", i + 1);
    // Prices end in .99 (or whole yen); one in ten is sold out.
    let whole = range.low + (h >> 24) % (range.high - range.low + 1);
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
            .get(picture_of(i, categories.len()))
            .cloned()
            .unwrap_or_default(),
        at: base + Duration::minutes(i as i64),
        // 50 g to 5 kg, so every weight band of the demo shipping is used.
        weight_grams: 50 + ((h >> 50) % 99) as i64 * 50,
        search_terms: terms[i % categories.len()].clone(),
    }
}

/// Writes the pictures products of `categories` categories show (a drawing
/// of the category's kind of product, in each colouring; only those the
/// first `products` products use) under `media_root/products/`. Returns
/// each picture's path relative to `media_root`, by its index in
/// `demo_art` (empty where no product shows it).
fn write_images(
    media_root: &Path,
    categories: usize,
    products: usize,
) -> Result<Vec<String>, SeedError> {
    let dir = media_root.join("products");
    let err = |e: &dyn std::fmt::Display| SeedError::Image {
        path: dir.clone(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| err(&e))?;
    let mut out = vec![String::new(); crate::demo_art::COUNT];
    for i in 0..products.min(categories.max(1) * crate::demo_art::COLOURINGS) {
        let at = picture_of(i, categories);
        if !out[at].is_empty() {
            continue;
        }
        let rel = format!("products/demo-art-{at:02}.png");
        write_picture(media_root, &rel, || crate::demo_art::picture(at)).map_err(|e| err(&e))?;
        out[at] = rel;
    }
    Ok(out)
}

/// Writes a demo picture (drawn by `draw`) as PNG and WebP at `rel`
/// under `media_root`, unless an earlier seed wrote it already.
fn write_picture(
    media_root: &Path,
    rel: &str,
    draw: impl FnOnce() -> image::RgbImage,
) -> Result<(), Box<dyn std::error::Error>> {
    if media_root.join(rel).exists() {
        return Ok(());
    }
    let img = draw();
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)?;
    crate::images::write_with_webp(media_root, rel, &img, png.get_ref())?;
    Ok(())
}

/// The picture demo product `i` shows: its category's drawing, the
/// colouring changing with each round through the categories.
fn picture_of(i: usize, categories: usize) -> usize {
    let categories = categories.max(1);
    crate::demo_art::index(
        i % categories,
        (i / categories) % crate::demo_art::COLOURINGS,
    )
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
    fn products_show_their_category_s_drawing() {
        // 50 categories: products 0 and 50 are both coffee, coloured
        // apart; product 24 (the 25th category, "Coffee 2") draws as
        // coffee too.
        assert_eq!(picture_of(0, 50), crate::demo_art::index(0, 0));
        assert_eq!(picture_of(50, 50), crate::demo_art::index(0, 1));
        assert_eq!(picture_of(24, 50), crate::demo_art::index(0, 0));
        assert_eq!(picture_of(11, 50), crate::demo_art::index(11, 0));
    }
}
