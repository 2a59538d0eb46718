//! Sending email with lettre: SMTP when `SMTP_URL` is set, otherwise `.eml`
//! files under `var/mail/` (development), or memory (tests). Messages are
//! multipart: a plain-text part and an HTML part, both from templates.
//!
//! Nothing sends mail from a request: code writes an [`Email`] to the
//! outbox ([`outbox::enqueue`]) in the transaction that causes it, and the
//! mail worker delivers it with retries.

pub mod admin;
pub mod outbox;

use std::sync::{Arc, Mutex};

use lettre::message::{Mailbox, MultiPart};
use lettre::{FileTransport, Message, SmtpTransport, Transport};

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {0:?}")]
    Address(String),
    #[error("could not build the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("writing the mail file: {0}")]
    File(#[from] lettre::transport::file::Error),
    #[error("creating the mail directory: {0}")]
    Dir(#[from] std::io::Error),
}

/// One email ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Email {
    /// An email from the templates `{template}.txt` and `{template}.html`,
    /// both rendered with `ctx`.
    pub fn render(
        renderer: &crate::templates::Renderer,
        template: &str,
        to: &str,
        subject: impl Into<String>,
        ctx: &tera::Context,
    ) -> Result<Email, tera::Error> {
        Ok(Email {
            to: to.to_string(),
            subject: subject.into(),
            text: renderer.render(&format!("{template}.txt"), ctx)?,
            html: renderer.render(&format!("{template}.html"), ctx)?,
        })
    }
}

/// What the memory backend sent: each message as RFC 5322 bytes.
pub type SentMail = Arc<Mutex<Vec<Vec<u8>>>>;

#[derive(Clone)]
enum Backend {
    Smtp(SmtpTransport),
    File(FileTransport, std::path::PathBuf),
    Memory(SentMail),
}

#[derive(Clone)]
pub struct Mailer {
    backend: Backend,
    from: Mailbox,
}

/// `SMTP_URL` as lettre reads it: `smtp://host:25` (plain, for a local
/// relay), `smtp://user:pass@host:587?tls=required` (STARTTLS) or
/// `smtps://user:pass@host:465` (TLS from the first byte).
fn smtp_transport(raw: &str) -> Result<SmtpTransport, MailError> {
    Ok(SmtpTransport::from_url(raw)?
        .timeout(Some(std::time::Duration::from_secs(10)))
        .build())
}

impl MailError {
    /// Whether trying again later cannot help (a bad address, a message
    /// the server refuses for good).
    pub fn is_permanent(&self) -> bool {
        match self {
            MailError::Address(_) | MailError::Build(_) => true,
            MailError::Smtp(e) => e.is_permanent(),
            MailError::File(_) | MailError::Dir(_) => false,
        }
    }
}

impl Mailer {
    pub fn from_config(cfg: &Config) -> Result<Self, MailError> {
        let from: Mailbox = cfg
            .from_email
            .parse()
            .map_err(|_| MailError::Address(cfg.from_email.clone()))?;
        let backend = match &cfg.smtp_url {
            Some(url) => Backend::Smtp(smtp_transport(url)?),
            None => Backend::File(FileTransport::new(&cfg.mail_dir), cfg.mail_dir.clone()),
        };
        Ok(Mailer { backend, from })
    }

    /// A mailer that keeps messages in memory; the handle reads them back.
    pub fn memory(from: &str) -> (Self, SentMail) {
        let store = Arc::new(Mutex::new(Vec::new()));
        let mailer = Mailer {
            backend: Backend::Memory(store.clone()),
            from: from.parse().expect("a valid from address"),
        };
        (mailer, store)
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Smtp(_) => "smtp",
            Backend::File(..) => "file",
            Backend::Memory(_) => "memory",
        }
    }

    /// The message; `message_id` (`<...@host>`) when every attempt must
    /// carry the same one.
    pub fn build(&self, email: &Email, message_id: Option<&str>) -> Result<Message, MailError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|_| MailError::Address(email.to.clone()))?;
        let mut builder = Message::builder();
        if let Some(id) = message_id {
            builder = builder.message_id(Some(id.to_string()));
        }
        Ok(builder
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))?)
    }

    /// The domain of the from address, for Message-IDs.
    pub fn domain(&self) -> &str {
        self.from.email.domain()
    }

    /// Sends now (blocking: call it from `web::block` or a worker thread).
    /// Code serving a request uses the outbox instead.
    pub fn send(&self, email: &Email, message_id: Option<&str>) -> Result<(), MailError> {
        let message = self.build(email, message_id)?;
        match &self.backend {
            Backend::Smtp(t) => {
                t.send(&message)?;
            }
            Backend::File(t, dir) => {
                std::fs::create_dir_all(dir)?;
                t.send(&message)?;
            }
            Backend::Memory(store) => store
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(message.formatted()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_backend_writes_eml() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::from_lookup(|_| None).unwrap();
        cfg.mail_dir = dir.path().join("mail");
        let m = Mailer::from_config(&cfg).unwrap();
        assert_eq!(m.backend_name(), "file");
        m.send(
            &Email {
                to: "a@example.com".into(),
                subject: "Hi".into(),
                text: "t".into(),
                html: "<p>h</p>".into(),
            },
            None,
        )
        .unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
            .unwrap()
            .collect();
        assert_eq!(files.len(), 1);
    }

    #[test]
    fn bad_recipient_is_an_error() {
        let (m, _) = Mailer::memory("shop@example.com");
        let e = m.send(
            &Email {
                to: "not an address".into(),
                subject: "x".into(),
                text: "".into(),
                html: "".into(),
            },
            None,
        );
        assert!(matches!(e, Err(MailError::Address(_))));
    }
}
