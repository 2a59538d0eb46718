//! A product's pictures: each upload is checked (see `site_core::images`)
//! and resized once into the sizes the pages use, stored as JPEGs with
//! random names under `MEDIA_ROOT/products/`.

use std::io::Cursor;
use std::path::Path;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use image::{DynamicImage, ImageEncoder, RgbImage};
use serde::{Deserialize, Serialize};
use site_core::db::DbConn;
use site_core::images::UploadError;
use site_core::schema::{products_image as i, products_product as p};

/// Uploads larger than this are refused before decoding.
pub const MAX_BYTES: usize = 8 * 1024 * 1024;
/// Nor more pixels than this on a side.
pub const MAX_SIDE: u32 = 6000;
/// The large picture fits in this square.
pub const LARGE: u32 = 1200;
/// Cards and the product page's main picture: 4:3.
pub const CARD: (u32, u32) = (480, 360);
/// Thumbnails in the gallery and the admin.
pub const THUMB: (u32, u32) = (160, 120);

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = i)]
pub struct ProductImage {
    pub id: i64,
    pub product_id: i64,
    pub large_path: String,
    pub card_path: String,
    pub thumb_path: String,
    pub width: i32,
    pub height: i32,
    pub alt: String,
    pub position: i32,
    pub is_main: bool,
    pub created_at: NaiveDateTime,
}

impl ProductImage {
    /// A product's pictures: the main one first, then by position.
    pub fn for_product(conn: &mut DbConn, product_id: i64) -> QueryResult<Vec<ProductImage>> {
        i::table
            .filter(i::product_id.eq(product_id))
            .order((i::is_main.desc(), i::position.asc(), i::id.asc()))
            .select(ProductImage::as_select())
            .load(conn)
    }

    /// The pictures of several products (a product's variants), each
    /// product's in the order of [`ProductImage::for_product`].
    pub fn for_products(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<ProductImage>> {
        i::table
            .filter(i::product_id.eq_any(ids))
            .order((
                i::product_id.asc(),
                i::is_main.desc(),
                i::position.asc(),
                i::id.asc(),
            ))
            .select(ProductImage::as_select())
            .load(conn)
    }
}

/// The files one upload became (paths relative to `MEDIA_ROOT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub large: String,
    pub card: String,
    pub thumb: String,
    pub width: u32,
    pub height: u32,
    /// The name the browser gave, for people to recognise it.
    pub name: String,
}

/// Transparent pixels over white: JPEG has no transparency.
fn flatten(img: &DynamicImage) -> RgbImage {
    let rgba = img.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

fn jpeg(img: &RgbImage) -> Result<Vec<u8>, UploadError> {
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|_| UploadError::NotAnImage)?;
    Ok(out.into_inner())
}

/// A lossless WebP of `img`, if it is smaller than `than` bytes (the
/// picture's JPEG or PNG): flat, drawn pictures shrink a lot; photographs
/// usually do not, and then only the JPEG is kept. `media` serves the
/// WebP to browsers that take it.
pub fn webp_if_smaller(img: &RgbImage, than: usize) -> Option<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .ok()?;
    let out = out.into_inner();
    (out.len() < than).then_some(out)
}

/// Writes `bytes` at `path` (under the media root), and a smaller WebP
/// copy beside it (`.webp`) when there is one.
pub fn write_with_webp(
    root: &Path,
    path: &str,
    img: &RgbImage,
    bytes: &[u8],
) -> std::io::Result<()> {
    let full = root.join(path);
    std::fs::write(&full, bytes)?;
    if let Some(webp) = webp_if_smaller(img, bytes.len()) {
        std::fs::write(full.with_extension("webp"), webp)?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error("writing the picture: {0}")]
    Io(#[from] std::io::Error),
}

/// Checks an upload, resizes it and writes its three sizes.
pub fn store(media_root: &Path, filename: &str, bytes: &[u8]) -> Result<Stored, StoreError> {
    let img = site_core::images::decode(filename, bytes, MAX_BYTES, MAX_SIDE)?;
    let flat = DynamicImage::ImageRgb8(flatten(&img));
    let large = if flat.width() > LARGE || flat.height() > LARGE {
        flat.thumbnail(LARGE, LARGE)
    } else {
        flat.clone()
    };
    let card = site_core::images::cover(&flat, CARD.0, CARD.1);
    let thumb = site_core::images::cover(&flat, THUMB.0, THUMB.1);
    let dir = media_root.join("products");
    std::fs::create_dir_all(&dir)?;
    let base = format!("products/{}", site_core::random_token(20).to_lowercase());
    let mut stored = Stored {
        large: format!("{base}-large.jpg"),
        card: format!("{base}-card.jpg"),
        thumb: format!("{base}-thumb.jpg"),
        width: large.width(),
        height: large.height(),
        name: filename.chars().take(100).collect(),
    };
    for (path, img) in [
        (&stored.large, &large),
        (&stored.card, &card),
        (&stored.thumb, &thumb),
    ] {
        let rgb = img.to_rgb8();
        write_with_webp(media_root, path, &rgb, &jpeg(&rgb)?)?;
    }
    stored.name = stored.name.trim().to_string();
    Ok(stored)
}

/// Adds a picture to a product, after its others.
pub fn insert(
    conn: &mut DbConn,
    product_id: i64,
    stored: &Stored,
    alt: &str,
    position: Option<i32>,
) -> QueryResult<i64> {
    let position = match position {
        Some(p) => p,
        None => i::table
            .filter(i::product_id.eq(product_id))
            .select(diesel::dsl::max(i::position))
            .first::<Option<i32>>(conn)?
            .map_or(0, |m| m + 1),
    };
    diesel::insert_into(i::table)
        .values((
            i::product_id.eq(product_id),
            i::large_path.eq(&stored.large),
            i::card_path.eq(&stored.card),
            i::thumb_path.eq(&stored.thumb),
            i::width.eq(stored.width as i32),
            i::height.eq(stored.height as i32),
            i::alt.eq(alt),
            i::position.eq(position),
            i::is_main.eq(false),
            i::created_at.eq(site_core::now()),
        ))
        .execute(conn)?;
    i::table
        .filter(i::product_id.eq(product_id))
        .filter(i::large_path.eq(&stored.large))
        .select(i::id)
        .first(conn)
}

/// Makes `main` (or, when none is given or it is gone, the first by
/// position) the product's main picture, and its card the product's image
/// on listings. A product without pictures keeps what it had.
pub fn settle_main(conn: &mut DbConn, product_id: i64, main: Option<i64>) -> QueryResult<()> {
    let images = ProductImage::for_product(conn, product_id)?;
    let chosen = main
        .and_then(|m| images.iter().find(|img| img.id == m))
        .or_else(|| images.iter().find(|img| img.is_main))
        .or_else(|| images.iter().min_by_key(|img| (img.position, img.id)));
    let Some(chosen) = chosen else {
        return Ok(());
    };
    diesel::update(
        i::table
            .filter(i::product_id.eq(product_id))
            .filter(i::is_main.eq(true))
            .filter(i::id.ne(chosen.id)),
    )
    .set(i::is_main.eq(false))
    .execute(conn)?;
    diesel::update(i::table.find(chosen.id))
        .set(i::is_main.eq(true))
        .execute(conn)?;
    diesel::update(p::table.find(product_id))
        .set((
            p::image.eq(&chosen.card_path),
            p::updated_at.eq(site_core::now()),
        ))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_with_alpha(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(w, h, image::Rgba([0, 0, 0, 0]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn an_upload_becomes_three_jpegs() {
        let dir = tempfile::tempdir().unwrap();
        let stored = store(dir.path(), "see through.png", &png_with_alpha(2400, 1200)).unwrap();
        assert_eq!((stored.width, stored.height), (LARGE, LARGE / 2));
        for (path, size) in [
            (&stored.large, (LARGE, LARGE / 2)),
            (&stored.card, CARD),
            (&stored.thumb, THUMB),
        ] {
            assert!(path.starts_with("products/") && path.ends_with(".jpg"));
            let img = image::open(dir.path().join(path)).unwrap();
            assert_eq!((img.width(), img.height()), size);
            // Transparency became white, not black.
            assert_eq!(img.to_rgb8().get_pixel(0, 0).0, [255, 255, 255]);
        }
        assert_eq!(stored.name, "see through.png");
        assert!(matches!(
            store(dir.path(), "x.png", b"not an image at all"),
            Err(StoreError::Upload(UploadError::NotAnImage))
        ));
    }
}
