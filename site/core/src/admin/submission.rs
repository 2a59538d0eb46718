//! A submitted admin form, URL-encoded or multipart: its text fields (a
//! name may repeat, for ticked boxes) and its files, read with limits.

use std::path::{Path, PathBuf};

use actix_multipart::Multipart;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use crate::http::AppError;

/// An uploaded file.
#[derive(Debug, Clone)]
pub struct Upload {
    pub field: String,
    /// The name the browser gave (never used as a path).
    pub filename: String,
    pub data: UploadData,
}

#[derive(Debug, Clone)]
pub enum UploadData {
    Memory(Vec<u8>),
    /// Spooled to a file (large imports); removed by its owner.
    Disk {
        path: PathBuf,
        bytes: u64,
    },
}

impl Upload {
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            UploadData::Memory(b) => b,
            UploadData::Disk { .. } => &[],
        }
    }

    pub fn len(&self) -> u64 {
        match &self.data {
            UploadData::Memory(b) => b.len() as u64,
            UploadData::Disk { bytes, .. } => *bytes,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub fields: Vec<(String, String)>,
    pub files: Vec<Upload>,
}

/// How much a form may send.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest file kept in memory; a larger one is refused.
    pub max_file_bytes: u64,
    /// Write files here instead of keeping them (then `max_file_bytes`
    /// applies on disk).
    pub spool_dir: Option<PathBuf>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 10 * 1024 * 1024,
            spool_dir: None,
        }
    }
}

/// Text fields of a form may hold this much in all.
const MAX_TEXT_BYTES: usize = 1024 * 1024;
/// Files kept in memory (those not spooled to disk) may hold this much in
/// all, however many a form sends.
const MAX_MEMORY_FILE_BYTES: usize = 64 * 1024 * 1024;

impl Submission {
    pub fn first(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order (ticked boxes).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }

    pub fn file(&self, name: &str) -> Option<&Upload> {
        self.files
            .iter()
            .find(|f| f.field == name && !f.filename.is_empty() && !f.is_empty())
    }

    /// The selected ids of a change list (`_selected` boxes).
    pub fn ids(&self, name: &str) -> Result<Vec<i64>, AppError> {
        let mut ids = Vec::new();
        for raw in self.all(name) {
            ids.push(raw.trim().parse::<i64>().map_err(|_| {
                AppError::BadRequest(format!("{raw:?} is not an id of this list."))
            })?);
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Reads the request body, URL-encoded or multipart.
    pub async fn read(
        req: &HttpRequest,
        payload: web::Payload,
        limits: &Limits,
    ) -> Result<Submission, AppError> {
        let content_type = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            read_multipart(Multipart::new(req.headers(), payload), limits).await
        } else {
            let body = payload
                .to_bytes_limited(MAX_TEXT_BYTES)
                .await
                .map_err(|_| AppError::BadRequest("The form is too large.".into()))?
                .map_err(|e| AppError::BadRequest(format!("The form could not be read: {e}")))?;
            Ok(Submission {
                fields: url::form_urlencoded::parse(&body).into_owned().collect(),
                files: Vec::new(),
            })
        }
    }

    /// Removes files spooled to disk.
    pub fn discard_files(&self) {
        for f in &self.files {
            if let UploadData::Disk { path, .. } = &f.data {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

fn too_large(limit: u64) -> AppError {
    AppError::BadRequest(format!(
        "The file is too large: the limit is {} MB.",
        limit / (1024 * 1024)
    ))
}

async fn read_multipart(mut mp: Multipart, limits: &Limits) -> Result<Submission, AppError> {
    let unreadable = |e: actix_multipart::MultipartError| {
        AppError::BadRequest(format!("The upload could not be read: {e}"))
    };
    let mut out = Submission::default();
    let mut text_bytes = 0usize;
    let mut file_bytes = 0usize;
    while let Some(field) = mp.next().await {
        let mut field = field.map_err(unreadable)?;
        let name = field.name().unwrap_or("").to_string();
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string);
        match filename {
            None => {
                let mut value = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(unreadable)?;
                    text_bytes += chunk.len();
                    if text_bytes > MAX_TEXT_BYTES {
                        return Err(AppError::BadRequest("The form is too large.".into()));
                    }
                    value.extend_from_slice(&chunk);
                }
                out.fields
                    .push((name, String::from_utf8_lossy(&value).into_owned()));
            }
            Some(filename) => {
                let data = match &limits.spool_dir {
                    None => {
                        let mut bytes = Vec::new();
                        while let Some(chunk) = field.next().await {
                            let chunk = chunk.map_err(unreadable)?;
                            if (bytes.len() + chunk.len()) as u64 > limits.max_file_bytes {
                                return Err(too_large(limits.max_file_bytes));
                            }
                            file_bytes += chunk.len();
                            if file_bytes > MAX_MEMORY_FILE_BYTES {
                                return Err(AppError::BadRequest(format!(
                                    "The files are too large together: send at most {} MB \
                                     in one form.",
                                    MAX_MEMORY_FILE_BYTES / (1024 * 1024)
                                )));
                            }
                            bytes.extend_from_slice(&chunk);
                        }
                        UploadData::Memory(bytes)
                    }
                    Some(dir) => spool(&mut field, dir, limits.max_file_bytes).await?,
                };
                out.files.push(Upload {
                    field: name,
                    filename,
                    data,
                });
            }
        }
    }
    Ok(out)
}

/// Writes a file part to a fresh file under `dir`, chunk by chunk.
async fn spool(
    field: &mut actix_multipart::Field,
    dir: &Path,
    limit: u64,
) -> Result<UploadData, AppError> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    let path = dir.join(format!("upload-{}", crate::random_token(16)));
    let mut file = std::fs::File::create(&path).map_err(AppError::internal)?;
    let mut written = 0u64;
    while let Some(chunk) = field.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(AppError::BadRequest(format!(
                    "The upload could not be read: {e}"
                )));
            }
        };
        written += chunk.len() as u64;
        if written > limit {
            drop(file);
            let _ = std::fs::remove_file(&path);
            return Err(too_large(limit));
        }
        if let Err(e) = file.write_all(&chunk) {
            let _ = std::fs::remove_file(&path);
            return Err(AppError::internal(e));
        }
    }
    Ok(UploadData::Disk {
        path,
        bytes: written,
    })
}
