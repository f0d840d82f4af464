//! An operator channel, built once from its configuration: one attempt to send one notice.

use super::config::OperatorChannelConfig;
use super::notice::Notice;
use super::smtp::SmtpChannel;
use super::webhook::WebhookChannel;

/// A running channel. Sending is one attempt; the notifier owns retries.
pub enum Channel {
    Webhook(WebhookChannel),
    /// Boxed: lettre's transport is large, and channels are few.
    Smtp(Box<SmtpChannel>),
}

impl Channel {
    /// Builds the channel; configuration was checked when the hub loaded it.
    pub fn build(config: &OperatorChannelConfig) -> Result<Self, String> {
        Ok(match config {
            OperatorChannelConfig::Webhook(c) => Self::Webhook(WebhookChannel::new(c)?),
            OperatorChannelConfig::Smtp(c) => Self::Smtp(Box::new(SmtpChannel::new(c)?)),
        })
    }

    pub fn id(&self) -> &str {
        match self {
            Self::Webhook(c) => c.id(),
            Self::Smtp(c) => c.id(),
        }
    }

    pub fn dashboard_url(&self) -> Option<&str> {
        match self {
            Self::Webhook(c) => c.dashboard_url(),
            Self::Smtp(c) => c.dashboard_url(),
        }
    }

    /// One attempt. The error is a status line or a kind of failure, never a body.
    pub async fn send(&self, notice: &Notice) -> Result<(), String> {
        match self {
            Self::Webhook(c) => c.send(notice).await,
            Self::Smtp(c) => c.send(notice).await,
        }
    }
}
