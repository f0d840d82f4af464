//! [`MeshReports`]: how a sending mailbox learns that a message it sent never arrived.
//!
//! MESH answers a send with a message id as soon as it has stored the message; whether the
//! recipient ever collects it is not known then. A message the recipient has not downloaded and
//! acknowledged within five days expires, and MESH puts a `REPORT` in the **sender's** inbox:
//! `Mex-MessageType: REPORT`, `Mex-StatusSuccess: ERROR`, `Mex-StatusCode: 14` ("undelivered"),
//! `Mex-LinkedMsgID` naming the message sent and `Mex-LocalID` repeating the sender's own local
//! id (NHS England, MESH API v2 specification, `mesh-api.yaml`, 2023; the `mesh-sandbox`
//! `/messageexchange/admin/report` endpoint makes the same report for tests). Other error
//! codes come the same way (for example `15`, a CP-IS file the spine refused).
//!
//! A sink that treated MESH's `202` as the end of the story would call such a notification
//! delivered for ever. The hub reads these reports and dead-letters the delivery instead
//! (`hub/src/deliver/mesh_reports.rs`).
//!
//! The inbox may also hold data messages that a hub source polling the same mailbox will take:
//! each listed message is looked at with `HEAD` (headers only), so a payload is never
//! downloaded here, and only reports are acknowledged.

use crate::client::MeshClient;
use crate::error::MeshError;
use crate::message::{MeshMessage, MessageType};

/// One report about a message this mailbox sent that did not reach its recipient.
///
/// Every field is routing metadata (ids and MESH's own status text), never child data: the
/// report carries no body, and its subject is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonDeliveryReport {
    /// The report's own MESH message id: acknowledge it once the report is recorded.
    pub report_id: String,
    /// `Mex-LinkedMsgID`: the MESH id of the message that was not delivered.
    pub linked_message_id: Option<String>,
    /// `Mex-LocalID`: the local id the message was sent with (the hub sends the delivery's
    /// idempotency key).
    pub local_id: Option<String>,
    /// `Mex-StatusCode`, for example `14` (undelivered).
    pub code: Option<String>,
    /// `Mex-StatusDescription`, MESH's own words.
    pub description: Option<String>,
}

impl NonDeliveryReport {
    /// Reads a report from a message's metadata, or `None` if the message is data, or a report
    /// that says the linked message succeeded.
    pub fn from_message(message: &MeshMessage) -> Option<Self> {
        if message.message_type != MessageType::Report {
            return None;
        }
        let status = &message.status;
        let succeeded = status
            .success
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("SUCCESS"))
            || status.code.as_deref() == Some("00");
        if succeeded {
            return None;
        }
        Some(Self {
            report_id: message.id.clone(),
            linked_message_id: status.linked_message_id.clone(),
            local_id: message.local_id.clone(),
            code: status.code.clone(),
            description: status.description.clone(),
        })
    }

    /// The reason a dead letter shows: MESH's code and description, bounded in length.
    pub fn reason(&self) -> String {
        let code = self.code.as_deref().unwrap_or("no code");
        let description: String = self
            .description
            .as_deref()
            .unwrap_or("no description")
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        format!("MESH non-delivery report (code {code}): {description}")
    }
}

/// Reads the non-delivery reports waiting in one mailbox's inbox.
#[derive(Debug, Clone)]
pub struct MeshReports {
    client: MeshClient,
}

impl MeshReports {
    /// Reports for `client`'s mailbox.
    pub fn new(client: MeshClient) -> Self {
        Self { client }
    }

    /// Lists the inbox and returns the non-delivery reports in it, oldest first. A message
    /// that vanished between the list and its `HEAD` (another reader acknowledged it) is
    /// skipped; a report saying a message succeeded is acknowledged at once, as nothing needs
    /// doing about it.
    pub async fn poll_once(&self) -> Result<Vec<NonDeliveryReport>, MeshError> {
        let mut reports = Vec::new();
        for id in self.client.list_inbox().await? {
            let message = match self.client.metadata(&id).await {
                Ok(m) => m,
                Err(MeshError::NotFound { .. } | MeshError::Gone { .. }) => continue,
                Err(e) => return Err(e),
            };
            if message.message_type != MessageType::Report {
                continue;
            }
            match NonDeliveryReport::from_message(&message) {
                Some(report) => reports.push(report),
                None => self.client.acknowledge(&message.id).await?,
            }
        }
        Ok(reports)
    }

    /// Removes a report from the inbox once it is recorded.
    pub async fn acknowledge(&self, report_id: &str) -> Result<(), MeshError> {
        self.client.acknowledge(report_id).await
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::*;

    fn message(headers: &[(&'static str, &'static str)]) -> MeshMessage {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_static(v));
        }
        MeshMessage::from_headers("REPORT1", &map, 1, bytes::Bytes::new())
    }

    #[test]
    fn an_undelivered_report_names_the_message_and_local_id() {
        // The headers of an expiry report as the MESH API specification describes it.
        let m = message(&[
            ("mex-messagetype", "REPORT"),
            ("mex-statussuccess", "ERROR"),
            ("mex-statuscode", "14"),
            (
                "mex-statusdescription",
                "Message not collected by recipient after 5 days",
            ),
            ("mex-linkedmsgid", "20261207SENT01"),
            ("mex-localid", "delivery-key-1"),
        ]);
        let r = NonDeliveryReport::from_message(&m).expect("a non-delivery report");
        assert_eq!(r.report_id, "REPORT1");
        assert_eq!(r.linked_message_id.as_deref(), Some("20261207SENT01"));
        assert_eq!(r.local_id.as_deref(), Some("delivery-key-1"));
        assert_eq!(
            r.reason(),
            "MESH non-delivery report (code 14): Message not collected by recipient after 5 days"
        );
    }

    #[test]
    fn data_messages_and_success_reports_are_not_non_delivery() {
        assert_eq!(
            NonDeliveryReport::from_message(&message(&[("mex-messagetype", "DATA")])),
            None
        );
        assert_eq!(
            NonDeliveryReport::from_message(&message(&[
                ("mex-messagetype", "REPORT"),
                ("mex-statussuccess", "SUCCESS"),
                ("mex-statuscode", "00"),
            ])),
            None
        );
    }

    #[test]
    fn a_report_without_status_headers_still_counts_and_its_reason_is_bounded() {
        let m = message(&[("mex-messagetype", "REPORT")]);
        let r = NonDeliveryReport::from_message(&m).expect("a report that does not say success");
        assert_eq!(
            r.reason(),
            "MESH non-delivery report (code no code): no description"
        );
        let long = NonDeliveryReport {
            description: Some("x".repeat(10_000)),
            ..r
        };
        assert!(long.reason().len() < 300);
    }
}
