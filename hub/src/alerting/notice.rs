//! What a notice says. Never child data: the alert's kind, agency, counts, hub ids and times,
//! and a link to the dashboard. Alert details are written by the hub from hub ids, agency ids
//! and sinks' failure summaries, which carry no child data either.

use serde::Serialize;

use crate::store::alerts::Alert;

/// One notice, as sent: `alert.opened` or `alert.resolved` about one alert episode.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    /// Stable across retries: receivers deduplicate on it (`Idempotency-Key`).
    pub notice_id: String,
    /// `alert.opened` or `alert.resolved`.
    pub kind: String,
    pub alert: Alert,
    /// `<dashboard_url>/alerts`, when the channel has a `dashboard_url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard_link: Option<String>,
}

impl Notice {
    pub fn new(
        notice_id: &str,
        transition: &str,
        alert: Alert,
        dashboard_url: Option<&str>,
    ) -> Self {
        Self {
            notice_id: notice_id.to_owned(),
            kind: format!("alert.{transition}"),
            alert,
            dashboard_link: dashboard_url.map(|u| format!("{}/alerts", u.trim_end_matches('/'))),
        }
    }

    /// One line for an email subject or a chat message.
    pub fn summary(&self) -> String {
        let what = if self.kind == "alert.resolved" {
            "resolved"
        } else {
            "opened"
        };
        match &self.alert.agency {
            Some(agency) => format!("[throughline] {what}: {} ({agency})", self.alert.kind),
            None => format!("[throughline] {what}: {}", self.alert.kind),
        }
    }

    /// The plain-text body of an email.
    pub fn text(&self) -> String {
        let a = &self.alert;
        let mut s = format!(
            "{}\n\n{}\n\nalert: {}\nkind: {}\nagency: {}\noccurrences: {}\nfirst seen: {}\nlast seen: {}\n",
            self.summary(),
            a.detail,
            a.id,
            a.kind,
            a.agency.as_deref().unwrap_or("-"),
            a.occurrences,
            a.first_at.to_rfc3339(),
            a.last_at.to_rfc3339(),
        );
        if let Some(at) = a.resolved_at {
            s.push_str(&format!("resolved: {}\n", at.to_rfc3339()));
        }
        if let Some(link) = &self.dashboard_link {
            s.push_str(&format!("\n{link}\n"));
        }
        s.push_str(&format!("\nnotice: {}\n", self.notice_id));
        s
    }
}
