//! Image uploads, checked the same way everywhere (avatars, product
//! pictures): the browser's file name is only checked, never used; the
//! content must decode as a JPEG, PNG, GIF or WebP whatever its name says;
//! sizes and pixel counts are bounded before anything large is allocated.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// Uploads decoded at once, server-wide: each may take a blocking thread
/// (which database work shares) and up to 128 MB for a while.
pub static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum UploadError {
    #[error("Choose an image file to upload.")]
    Missing,
    #[error("That file is too large. Upload an image of at most {0} MB.")]
    TooLarge(usize),
    #[error("That file name is not allowed. Rename the file (letters, digits, dots, dashes) and try again.")]
    BadName,
    #[error("That file is not an image we can read. Upload a JPEG, PNG, GIF or WebP picture.")]
    NotAnImage,
    #[error("That image is too large. Upload one at most {0} pixels on each side.")]
    TooManyPixels(u32),
}

/// A name a browser would send for a file the user picked: no paths, no
/// control characters, not hidden, not absurdly long.
pub fn acceptable_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 200
        && !name.starts_with('.')
        && !name.contains("..")
        && !name.chars().any(|c| {
            c.is_control()
                || matches!(
                    c,
                    '/' | '\\' | '\0' | '<' | '>' | ':' | '"' | '|' | '?' | '*'
                )
        })
}

/// Checks an upload and decodes it: at most `max_bytes`, at most
/// `max_side` pixels on each side.
pub fn decode(
    filename: &str,
    bytes: &[u8],
    max_bytes: usize,
    max_side: u32,
) -> Result<DynamicImage, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Missing);
    }
    if bytes.len() > max_bytes {
        return Err(UploadError::TooLarge(max_bytes / (1024 * 1024)));
    }
    if !acceptable_name(filename) {
        return Err(UploadError::BadName);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| UploadError::NotAnImage)?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP) => {}
        _ => return Err(UploadError::NotAnImage),
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(max_side);
    limits.max_image_height = Some(max_side);
    limits.max_alloc = Some(128 * 1024 * 1024);
    reader.limits(limits);
    reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => UploadError::TooManyPixels(max_side),
        _ => UploadError::NotAnImage,
    })
}

/// The centre of `img` cut to the `w`:`h` shape and scaled to `w` x `h`
/// (a fast box filter: a Lanczos pass over a large photo would hold a
/// blocking thread for long).
pub fn cover(img: &DynamicImage, w: u32, h: u32) -> DynamicImage {
    let (iw, ih) = (img.width(), img.height());
    // The largest w:h box inside the image.
    let (cw, ch) = if u64::from(iw) * u64::from(h) > u64::from(ih) * u64::from(w) {
        ((u64::from(ih) * u64::from(w) / u64::from(h)) as u32, ih)
    } else {
        (iw, (u64::from(iw) * u64::from(h) / u64::from(w)) as u32)
    };
    img.crop_imm((iw - cw) / 2, (ih - ch) / 2, cw.max(1), ch.max(1))
        .thumbnail_exact(w, h)
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
    fn refusals() {
        let decode = |name: &str, bytes: &[u8]| decode(name, bytes, 1024 * 1024, 100).map(|_| ());
        assert_eq!(
            decode("a.png", b"<?php echo 1; ?>"),
            Err(UploadError::NotAnImage)
        );
        assert_eq!(
            decode("../../etc/passwd.png", &png(10, 10)),
            Err(UploadError::BadName)
        );
        assert_eq!(
            decode("a\u{0}.png", &png(10, 10)),
            Err(UploadError::BadName)
        );
        assert_eq!(
            decode("a.png", &vec![0u8; 1024 * 1024 + 1]),
            Err(UploadError::TooLarge(1))
        );
        assert_eq!(decode("a.png", b""), Err(UploadError::Missing));
        assert_eq!(
            decode("a.png", &png(101, 10)),
            Err(UploadError::TooManyPixels(100))
        );
        // An SVG is text that browsers run scripts in: not an image here.
        assert_eq!(
            decode(
                "a.svg",
                b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"
            ),
            Err(UploadError::NotAnImage)
        );
        assert!(decode("holiday photo (1).png", &png(50, 40)).is_ok());
    }

    #[test]
    fn cover_keeps_the_shape_asked_for() {
        let wide = DynamicImage::ImageRgb8(image::RgbImage::new(900, 300));
        let out = cover(&wide, 480, 360);
        assert_eq!((out.width(), out.height()), (480, 360));
        let tall = DynamicImage::ImageRgb8(image::RgbImage::new(300, 900));
        assert_eq!(cover(&tall, 160, 120).dimensions_tuple(), (160, 120));
    }

    trait Dims {
        fn dimensions_tuple(&self) -> (u32, u32);
    }

    impl Dims for DynamicImage {
        fn dimensions_tuple(&self) -> (u32, u32) {
            (self.width(), self.height())
        }
    }
}
