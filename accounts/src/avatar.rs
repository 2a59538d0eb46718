//! Avatar uploads. The file name is only checked, never used; the content
//! must decode as an image (JPEG, PNG, GIF or WebP, whatever its name
//! says), and what is stored is our own re-encoding: a square PNG under
//! `MEDIA_ROOT/avatars/` with a random name.

use std::io::Cursor;
use std::path::Path;

use image::ImageFormat;

/// Uploads decoded at once, server-wide (shared with product pictures).
pub use site_core::images::DECODING;

pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Side of the stored square, in pixels.
pub const SIZE: u32 = 256;
/// Larger images are refused before decoding (a small file can claim to
/// be 50,000 pixels wide and ask for gigabytes).
const MAX_SIDE: u32 = 4096;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AvatarError {
    #[error("Choose an image file to upload.")]
    Missing,
    #[error("That file is too large. Upload an image of at most 2 MB.")]
    TooLarge,
    #[error("The upload could not be read. Please try again.")]
    Unreadable,
    #[error("That file name is not allowed. Rename the file (letters, digits, dots, dashes) and try again.")]
    BadName,
    #[error("That file is not an image we can read. Upload a JPEG, PNG, GIF or WebP picture.")]
    NotAnImage,
    #[error("That image is too large. Upload one at most 4096 pixels on each side.")]
    TooManyPixels,
}

/// Checks and re-encodes an upload: the PNG to store.
pub fn process(filename: &str, bytes: &[u8]) -> Result<Vec<u8>, AvatarError> {
    use site_core::images::UploadError;
    let img =
        site_core::images::decode(filename, bytes, MAX_BYTES, MAX_SIDE).map_err(|e| match e {
            UploadError::Missing => AvatarError::Missing,
            UploadError::TooLarge(_) => AvatarError::TooLarge,
            UploadError::BadName => AvatarError::BadName,
            UploadError::NotAnImage => AvatarError::NotAnImage,
            UploadError::TooManyPixels(_) => AvatarError::TooManyPixels,
        })?;
    let square = site_core::images::cover(&img, SIZE, SIZE);
    let mut out = Cursor::new(Vec::new());
    square
        .to_rgba8()
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|_| AvatarError::NotAnImage)?;
    Ok(out.into_inner())
}

/// Writes the PNG under `media_root/avatars/`; returns the path relative
/// to `media_root`.
pub fn store(media_root: &Path, png: &[u8]) -> std::io::Result<String> {
    let dir = media_root.join("avatars");
    std::fs::create_dir_all(&dir)?;
    let name = format!("avatars/{}.png", site_core::random_token(24).to_lowercase());
    std::fs::write(media_root.join(&name), png)?;
    Ok(name)
}

/// Deletes a stored avatar (one of ours, by its generated name).
pub fn remove(media_root: &Path, rel: &str) {
    let ours = rel.strip_prefix("avatars/").is_some_and(|n| {
        n.ends_with(".png") && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
    });
    if ours {
        let _ = std::fs::remove_file(media_root.join(rel));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn images_are_resized_to_a_square_png() {
        let out = process("me.jpg", &png(640, 480)).unwrap();
        let img = image::load_from_memory(&out).unwrap();
        assert_eq!((img.width(), img.height()), (SIZE, SIZE));
    }

    /// The checks themselves are `site_core::images`'; these are the
    /// avatar's own limits and messages.
    #[test]
    fn refusals_use_the_avatar_limits() {
        assert_eq!(
            process("a.png", &vec![0u8; MAX_BYTES + 1]),
            Err(AvatarError::TooLarge)
        );
        assert_eq!(
            process("a.png", &png(MAX_SIDE + 1, 1)),
            Err(AvatarError::TooManyPixels)
        );
        assert_eq!(
            process("a.png", b"<?php echo 1; ?>"),
            Err(AvatarError::NotAnImage)
        );
    }
}
