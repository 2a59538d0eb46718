//! Uploaded and generated pictures under `MEDIA_ROOT`, served with WebP to
//! browsers that say they take it: a picture the shop stored with a
//! smaller WebP copy beside it (`x-card.jpg` and `x-card.webp`) is answered
//! with the copy when the request's `Accept` names `image/webp`, and every
//! such picture says `Vary: Accept` so caches keep both. Pages keep one
//! URL per picture.

use actix_files::NamedFile;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use site_core::Config;

/// A picture the shop named itself (`products/<token>-card.jpg`,
/// `products/demo-07.png`): lowercase letters, digits and hyphens, so
/// nothing in the path can step out of the media folder.
fn own_picture(rel: &str) -> Option<(&str, &str)> {
    let (dir, file) = rel.split_once('/')?;
    let (stem, ext) = file.rsplit_once('.')?;
    let named = dir == "products"
        && !stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (named && matches!(ext, "jpg" | "png")).then_some((dir, stem))
}

pub async fn prefer_webp(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let rel = req.path().trim_start_matches("/media/").to_string();
    let Some((dir, stem)) = own_picture(&rel) else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    let accepts = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("image/webp"));
    let webp = req
        .app_data::<web::Data<Config>>()
        .map(|c| c.media_root.join(dir).join(format!("{stem}.webp")))
        .filter(|p| accepts && p.is_file());
    let mut res = match webp {
        Some(path) => {
            let file = NamedFile::open_async(path).await?;
            let (http, _) = req.into_parts();
            let res = file.into_response(&http);
            ServiceResponse::new(http, res)
        }
        None => next.call(req).await?.map_into_boxed_body(),
    };
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::own_picture;

    #[test]
    fn only_the_shops_own_names_are_negotiated() {
        assert_eq!(
            own_picture("products/ab12-card.jpg"),
            Some(("products", "ab12-card"))
        );
        assert_eq!(
            own_picture("products/demo-07.png"),
            Some(("products", "demo-07"))
        );
        for other in [
            "products/../secret.jpg",
            "products/a/b.jpg",
            "avatars/a.jpg",
            "products/A.jpg",
            "products/x.gif",
            "products/.jpg",
        ] {
            assert_eq!(own_picture(other), None, "{other}");
        }
    }
}
