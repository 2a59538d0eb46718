//! Static files: embedded in the binary, served under content-hashed names
//! with a year-long immutable cache, and exported by `site collectstatic`.

use std::collections::HashMap;
use std::path::Path;

use include_dir::{include_dir, Dir};
use sha2::{Digest, Sha256};

static STATIC_DIR: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../static");

pub struct StaticFile {
    pub bytes: &'static [u8],
    pub content_type: String,
    /// Served under this name (`css/shop.1a2b3c4d5e6f.css`).
    pub hashed: String,
}

/// The manifest: logical path -> file, and hashed path -> logical path.
pub struct StaticFiles {
    files: HashMap<String, StaticFile>,
    by_hashed: HashMap<String, String>,
}

impl StaticFiles {
    pub fn embedded() -> Self {
        let mut files = HashMap::new();
        let mut by_hashed = HashMap::new();
        let mut stack = vec![&STATIC_DIR];
        while let Some(dir) = stack.pop() {
            for entry in dir.entries() {
                match entry {
                    include_dir::DirEntry::Dir(d) => stack.push(d),
                    include_dir::DirEntry::File(f) => {
                        let logical = f.path().to_string_lossy().replace('\\', "/");
                        let hashed = hashed_name(&logical, f.contents());
                        let content_type = mime_guess::from_path(f.path())
                            .first_or_octet_stream()
                            .essence_str()
                            .to_string();
                        by_hashed.insert(hashed.clone(), logical.clone());
                        files.insert(
                            logical,
                            StaticFile {
                                bytes: f.contents(),
                                content_type,
                                hashed,
                            },
                        );
                    }
                }
            }
        }
        StaticFiles { files, by_hashed }
    }

    /// The URL path for a logical name, or `None` if there is no such file.
    pub fn url(&self, logical: &str) -> Option<String> {
        self.files
            .get(logical.trim_start_matches('/'))
            .map(|f| format!("/static/{}", f.hashed))
    }

    /// Looks a request path up (hashed or plain); `true` when it was hashed
    /// and so may be cached for ever.
    pub fn lookup(&self, path: &str) -> Option<(&StaticFile, bool)> {
        if let Some(logical) = self.by_hashed.get(path) {
            return self.files.get(logical).map(|f| (f, true));
        }
        self.files.get(path).map(|f| (f, false))
    }

    /// Writes every file under both names into `dir`, for a CDN or nginx.
    pub fn collect(&self, dir: &Path) -> std::io::Result<usize> {
        for (logical, file) in &self.files {
            for name in [logical.as_str(), file.hashed.as_str()] {
                let target = dir.join(name);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(target, file.bytes)?;
            }
        }
        Ok(self.files.len())
    }
}

fn hashed_name(logical: &str, bytes: &[u8]) -> String {
    let digest = hex::encode(&Sha256::digest(bytes)[..6]);
    match logical.rsplit_once('.') {
        Some((stem, ext)) if !stem.ends_with('/') => format!("{stem}.{digest}.{ext}"),
        _ => format!("{logical}.{digest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        let a = hashed_name("css/shop.css", b"body{}");
        assert!(a.starts_with("css/shop.") && a.ends_with(".css"));
        assert_ne!(a, hashed_name("css/shop.css", b"body{color:red}"));
    }

    #[test]
    fn embedded_css_is_served_under_its_hash() {
        let s = StaticFiles::embedded();
        let url = s.url("css/shop.css").expect("shop.css is embedded");
        let (file, immutable) = s.lookup(url.trim_start_matches("/static/")).unwrap();
        assert!(immutable);
        assert_eq!(file.content_type, "text/css");
        let dir = tempfile::tempdir().unwrap();
        assert!(s.collect(dir.path()).unwrap() > 0);
        assert!(dir.path().join("css/shop.css").exists());
    }
}
