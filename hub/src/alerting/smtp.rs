//! Notices as plain-text email through an SMTP relay (lettre, on tokio with rustls).

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::config::SmtpChannelConfig;
use super::notice::Notice;

pub struct SmtpChannel {
    id: String,
    from: Mailbox,
    to: Vec<Mailbox>,
    dashboard_url: Option<String>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpChannel {
    pub fn new(c: &SmtpChannelConfig) -> Result<Self, String> {
        let from = c
            .from
            .parse::<Mailbox>()
            .map_err(|_| "`from` is not an email address".to_owned())?;
        let to =
            c.to.iter()
                .map(|t| t.parse::<Mailbox>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| "`to` holds something that is not an email address".to_owned())?;
        let mut builder = if c.starttls {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host)
                .map_err(|e| format!("cannot set up STARTTLS: {e}"))?
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host)
        }
        .port(c.port)
        .timeout(Some(Duration::from_millis(c.timeout_ms)));
        if let (Some(user), Some(password)) = (&c.username, &c.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            id: c.id.clone(),
            from,
            to,
            dashboard_url: c.dashboard_url.clone(),
            transport: builder.build(),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn dashboard_url(&self) -> Option<&str> {
        self.dashboard_url.as_deref()
    }

    pub async fn send(&self, notice: &Notice) -> Result<(), String> {
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(notice.summary())
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            message = message.to(to.clone());
        }
        let message = message
            .body(notice.text())
            .map_err(|e| format!("cannot build the email: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            // lettre's errors name the SMTP reply or the connection failure, not the message.
            .map_err(|e| format!("SMTP: {e}"))
    }
}
