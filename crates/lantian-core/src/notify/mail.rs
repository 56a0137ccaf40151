//! E-mail over SMTP with lettre: STARTTLS, implicit TLS, or plain to a server on this machine;
//! optional authentication; a connection pool.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailConfig, MailTls};
use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// Why a delivery failed: worth retrying, or not.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("temporary: {0}")]
    Temporary(String),
    #[error("permanent: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), DeliveryError>;
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(cfg: &MailConfig) -> Result<SmtpMailer> {
        let bad = |e: lettre::transport::smtp::Error| Error::Internal(anyhow::anyhow!("mail: {e}"));
        let builder = match cfg.tls {
            MailTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
            MailTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host).map_err(bad)?,
            MailTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host).map_err(bad)?,
        };
        let mut builder = builder.port(cfg.port).timeout(Some(Duration::from_secs(cfg.timeout_secs)));
        if !cfg.username.is_empty() {
            builder = builder.credentials(Credentials::new(cfg.username.clone(), cfg.password.expose().to_string()));
        }
        let from: Mailbox = cfg.from.parse().map_err(|e| Error::Internal(anyhow::anyhow!("mail.from: {e}")))?;
        Ok(SmtpMailer { transport: builder.build(), from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), DeliveryError> {
        let to: Mailbox =
            mail.to.parse().map_err(|e| DeliveryError::Permanent(format!("bad recipient address: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone())
            .map_err(|e| DeliveryError::Permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(DeliveryError::Permanent(e.to_string())),
            Err(e) => Err(DeliveryError::Temporary(e.to_string())),
        }
    }
}
