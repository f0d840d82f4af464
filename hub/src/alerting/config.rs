//! `[[operator_channels]]`: where operators hear about alerts. Each field's doc comment is its
//! reference documentation (README, "Configuration reference").

use std::path::Path;

use serde::Deserialize;

use crate::config::ConfigError;

/// One operator channel. Every notice goes to every channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OperatorChannelConfig {
    /// A signed JSON POST, signed exactly like agency webhooks (`Throughline-Signature`).
    Webhook(WebhookChannelConfig),
    /// An email through an SMTP relay.
    Smtp(SmtpChannelConfig),
}

impl OperatorChannelConfig {
    /// The channel's id: the key its sends are recorded under.
    pub fn id(&self) -> &str {
        match self {
            Self::Webhook(c) => &c.id,
            Self::Smtp(c) => &c.id,
        }
    }

    /// Where notices link to: `<dashboard_url>/alerts`.
    pub fn dashboard_url(&self) -> Option<&str> {
        match self {
            Self::Webhook(c) => c.dashboard_url.as_deref(),
            Self::Smtp(c) => c.dashboard_url.as_deref(),
        }
    }
}

/// `type = "webhook"`.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookChannelConfig {
    /// The channel's id, unique among operator channels (e.g. `ops-chat`). Changing it makes
    /// the hub treat it as a new channel.
    pub id: String,
    /// The absolute `http` or `https` URL notices are POSTed to.
    pub url: String,
    /// The HMAC-SHA256 key notices are signed with (at least 16 bytes); `${ENV}` or
    /// `${file:/path}`, never written in the file.
    pub secret: String,
    /// How long one attempt may take, in milliseconds (1 to 300000; default 10000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The dashboard's external address (e.g. `https://hub.example.org/dashboard`): notices
    /// link to its alerts page. Absent: notices carry no link.
    #[serde(default)]
    pub dashboard_url: Option<String>,
}

/// `type = "smtp"`.
#[derive(Debug, Clone, Deserialize)]
pub struct SmtpChannelConfig {
    /// The channel's id, unique among operator channels (e.g. `ops-email`).
    pub id: String,
    /// The SMTP relay's host name.
    pub host: String,
    /// The relay's port (default 587, submission).
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// Upgrade the connection with STARTTLS before sending, and refuse a relay that cannot
    /// (default true). Only a relay on loopback should be used with `false`.
    #[serde(default = "default_true")]
    pub starttls: bool,
    /// The sender address, e.g. `Throughline <throughline@example.org>`.
    pub from: String,
    /// The recipients (at least one).
    pub to: Vec<String>,
    /// The SMTP user name, if the relay wants one (`${ENV}` allowed).
    #[serde(default)]
    pub username: Option<String>,
    /// The SMTP password, with `username`; `${ENV}` or `${file:/path}`, never written in the file.
    #[serde(default)]
    pub password: Option<String>,
    /// How long one attempt may take, in milliseconds (1 to 300000; default 10000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// As for webhook channels: the dashboard's external address, for the link in each email.
    #[serde(default)]
    pub dashboard_url: Option<String>,
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_smtp_port() -> u16 {
    587
}

fn default_true() -> bool {
    true
}

/// Checks every channel, pushing one error per problem, each naming its key.
pub fn check(file: &Path, channels: &[OperatorChannelConfig], errors: &mut Vec<ConfigError>) {
    let mut ids = std::collections::BTreeSet::new();
    for (i, c) in channels.iter().enumerate() {
        let key = |k: &str| format!("operator_channels[{i}].{k}");
        let id = c.id();
        if id.is_empty()
            || !id
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "-_.".contains(ch))
        {
            errors.push(ConfigError::new(
                file,
                &key("id"),
                "must be lowercase letters, digits, `-`, `_` or `.`",
            ));
        } else if !ids.insert(id.to_owned()) {
            errors.push(ConfigError::new(
                file,
                &key("id"),
                format!("`{id}` is used by another operator channel"),
            ));
        }
        if let Some(url) = c.dashboard_url()
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            errors.push(ConfigError::new(
                file,
                &key("dashboard_url"),
                "must be an absolute http or https URL",
            ));
        }
        match c {
            OperatorChannelConfig::Webhook(w) => {
                if let Err(e) = super::webhook::webhook_config(w).build() {
                    let k = e.key().unwrap_or("url");
                    errors.push(ConfigError::new(file, &key(k), e.to_string()));
                }
            }
            OperatorChannelConfig::Smtp(s) => {
                if s.host.trim().is_empty() {
                    errors.push(ConfigError::new(file, &key("host"), "must not be empty"));
                }
                if !(1..=300_000).contains(&s.timeout_ms) {
                    errors.push(ConfigError::new(
                        file,
                        &key("timeout_ms"),
                        format!("must be between 1 and 300000, found {}", s.timeout_ms),
                    ));
                }
                if s.from.parse::<lettre::message::Mailbox>().is_err() {
                    errors.push(ConfigError::new(
                        file,
                        &key("from"),
                        "must be an email address, optionally with a name",
                    ));
                }
                if s.to.is_empty() {
                    errors.push(ConfigError::new(
                        file,
                        &key("to"),
                        "must list at least one address",
                    ));
                }
                for (j, to) in s.to.iter().enumerate() {
                    if to.parse::<lettre::message::Mailbox>().is_err() {
                        errors.push(ConfigError::new(
                            file,
                            &format!("operator_channels[{i}].to[{j}]"),
                            "must be an email address, optionally with a name",
                        ));
                    }
                }
                if s.username.is_some() != s.password.is_some() {
                    errors.push(ConfigError::new(
                        file,
                        &key("password"),
                        "username and password go together: set both or neither",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;

    #[test]
    fn every_channel_problem_is_reported_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "short").unwrap();
        let text = format!(
            r#"
[[operator_channels]]
type = "webhook"
id = "ops"
url = "ftp://example.org/hook"
secret = "${{file:{}}}"

[[operator_channels]]
type = "smtp"
id = "ops"
host = "smtp.example.org"
from = "not an address"
to = []
username = "throughline"
"#,
            secret.display()
        );
        let errors = load_str(std::path::Path::new("hub.toml"), &text)
            .expect_err("refused")
            .0;
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        for key in [
            "operator_channels[0].url",
            "operator_channels[1].id",
            "operator_channels[1].from",
            "operator_channels[1].to",
            "operator_channels[1].password",
        ] {
            assert!(keys.contains(&key), "{key} not reported: {errors:?}");
        }
    }

    #[test]
    fn a_valid_channel_list_loads() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "a-secret-of-at-least-sixteen-bytes").unwrap();
        let text = format!(
            r#"
[[operator_channels]]
type = "webhook"
id = "ops-chat"
url = "https://ops.example.org/hooks/throughline"
secret = "${{file:{}}}"

[[operator_channels]]
type = "smtp"
id = "ops-email"
host = "smtp.example.org"
from = "Throughline <throughline@example.org>"
to = ["duty@example.org"]
"#,
            secret.display()
        );
        let config = load_str(std::path::Path::new("hub.toml"), &text).expect("loads");
        assert_eq!(config.operator_channels.len(), 2);
        assert_eq!(config.operator_channels[1].id(), "ops-email");
    }
}
