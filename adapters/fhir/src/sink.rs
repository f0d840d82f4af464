//! [`FhirNotificationSink`]: the hub's sink writing each notification to an agency's FHIR
//! server as a `Communication` about the patient.
//!
//! The Communication (built with fhir-sdk's R4B model, which matches R4 for this resource):
//! - `status` `completed`, `sent` now;
//! - `identifier`: the notification's idempotency key (under `identifier_system`), and it is
//!   created with `If-None-Exist` on that identifier, so a retried delivery (a timeout after the
//!   server had already stored it, a restart) finds the first one and creates no second;
//! - `subject`: the patient by NHS number (`subject.identifier`), the only way the receiver can
//!   file it. The number comes from the notification's *projected* subject: if the sharing
//!   agreement does not disclose `subject.identifiers.nhs_number`, the delivery fails for good
//!   with a reason saying so, rather than sending an unaddressed Communication;
//! - `recipient`: the agency's Organization by ODS code, when configured;
//! - `payload[0].contentString`: a short summary a person can read (kind, sending agency, the
//!   hub's pseudonymous child id) without any child data; `payload[1].contentAttachment`: the
//!   notification itself as JSON (`application/json`, base64), for systems that read it.
//!
//! Outcomes: 2xx is `Delivered` (201 made it; 200 found it already there). 408, 429, 5xx and
//! transport failures are `Retryable`, with the server's `Retry-After`. Anything else (400, 401
//! after a token renewal, 403, 422...) is `Permanent`, with the OperationOutcome's issue code and
//! scrubbed diagnostics.

use fhir_sdk::r4b::codes::EventStatus;
use fhir_sdk::r4b::resources::{Communication, CommunicationPayload, CommunicationPayloadContent};
use fhir_sdk::r4b::types::{Attachment, Identifier, Reference};
use throughline_contracts::adapter::{DeliveryOutcome, Sink};
use throughline_contracts::notification::Notification;

use crate::client::{Created, FhirClient};
use crate::config::FhirSinkConfig;
use crate::error::FhirError;
use crate::mapping::{NHS_NUMBER_SYSTEM, ODS_SYSTEMS};
use crate::poll::LinkStatus;

/// Writes notifications to one agency's FHIR server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FhirNotificationSink {
    client: FhirClient,
    recipient_ods: Option<String>,
    identifier_system: String,
    status: LinkStatus,
}

impl FhirNotificationSink {
    /// Validates `config`, builds the client and checks the server, so a wrong URL or
    /// credential stops start-up with an error naming it.
    pub async fn connect(config: &FhirSinkConfig) -> Result<Self, FhirError> {
        let sink = Self::build(config)?;
        sink.client.capabilities().await?;
        Ok(sink)
    }

    /// Validates `config` and builds the client, without contacting the server.
    pub fn build(config: &FhirSinkConfig) -> Result<Self, FhirError> {
        config.validate()?;
        Ok(Self {
            client: FhirClient::build(&config.server)?,
            recipient_ods: config
                .recipient_ods
                .as_deref()
                .map(|c| c.trim().to_ascii_uppercase()),
            identifier_system: config.identifier_system.trim().to_owned(),
            status: LinkStatus::new(true),
        })
    }

    /// A cheap handle on whether the last delivery reached the server, for `/readyz`.
    pub fn status_handle(&self) -> LinkStatus {
        self.status.clone()
    }

    /// The client, for tests that read back what was written.
    pub fn client(&self) -> &FhirClient {
        &self.client
    }

    /// The Communication for `notification`, or why there cannot be one.
    pub fn communication(
        &self,
        notification: &Notification,
        sent: &str,
    ) -> Result<Communication, String> {
        let nhs_number = notification
            .subject
            .get("identifiers")
            .and_then(|i| i.get("nhs_number"))
            .and_then(|n| n.as_str())
            .ok_or_else(|| {
                "the sharing agreement does not disclose subject.identifiers.nhs_number, which a \
                 FHIR Communication needs to name the patient"
                    .to_owned()
            })?;
        let json = serde_json::to_vec(notification)
            .map_err(|_| "the notification could not be serialised as JSON".to_owned())?;
        let identifier = |system: &str, value: &str| {
            Identifier::builder()
                .system(system.to_owned())
                .value(value.to_owned())
                .build()
                .map_err(|e| format!("an identifier could not be built ({e})"))
        };
        let reference = |ty: &str, id: Identifier| {
            Reference::builder()
                .r#type(ty.to_owned())
                .identifier(id)
                .build()
                .map_err(|e| format!("a reference could not be built ({e})"))
        };
        let summary = format!(
            "Throughline notification: {} from {} (hub child id {}). The notification is \
             attached as JSON.",
            notification.kind, notification.source_agency, notification.child_id
        );
        let payload = |content| {
            CommunicationPayload::builder()
                .content(content)
                .build()
                .map_err(|e| format!("a payload could not be built ({e})"))
        };
        let attachment = Attachment::builder()
            .content_type("application/json".to_owned())
            .data(fhir_sdk::Base64Binary(json))
            .build()
            .map_err(|e| format!("the attachment could not be built ({e})"))?;
        let mut recipients = Vec::new();
        if let Some(ods) = &self.recipient_ods {
            recipients.push(Some(reference(
                "Organization",
                identifier(ODS_SYSTEMS[0], ods)?,
            )?));
        }
        Communication::builder()
            .status(EventStatus::Completed)
            .identifier(vec![Some(identifier(
                &self.identifier_system,
                &notification.idempotency_key,
            )?)])
            .subject(reference(
                "Patient",
                identifier(NHS_NUMBER_SYSTEM, nhs_number)?,
            )?)
            .recipient(recipients)
            .sent(
                sent.parse()
                    .map_err(|_| "the sending time could not be written".to_owned())?,
            )
            .payload(vec![
                Some(payload(CommunicationPayloadContent::String(summary))?),
                Some(payload(CommunicationPayloadContent::Attachment(
                    attachment,
                ))?),
            ])
            .build()
            .map_err(|e| format!("the Communication could not be built ({e})"))
    }

    /// The `If-None-Exist` condition that finds an earlier attempt's Communication.
    fn condition(&self, notification: &Notification) -> String {
        let mut query = reqwest::Url::parse("http://x/").expect("a literal URL");
        query.query_pairs_mut().append_pair(
            "identifier",
            &format!(
                "{}|{}",
                self.identifier_system, notification.idempotency_key
            ),
        );
        query.query().unwrap_or_default().to_owned()
    }
}

#[async_trait::async_trait]
impl Sink for FhirNotificationSink {
    async fn deliver(&self, notification: &Notification) -> DeliveryOutcome {
        self.deliver_traced(notification, None).await
    }

    async fn deliver_traced(
        &self,
        notification: &Notification,
        traceparent: Option<&str>,
    ) -> DeliveryOutcome {
        let sent = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let body = match self
            .communication(notification, &sent)
            .and_then(|c| serde_json::to_vec(&c).map_err(|e| e.to_string()))
        {
            Ok(body) => body,
            Err(reason) => return DeliveryOutcome::Permanent { reason },
        };
        match self
            .client
            .create_if_none_exist(
                "Communication",
                body,
                &self.condition(notification),
                traceparent,
            )
            .await
        {
            Ok(created) => {
                self.status.set(true);
                tracing::debug!(
                    notification_id = %notification.notification_id,
                    recipient = %notification.recipient,
                    already_there = created == Created::AlreadyExisted,
                    "FHIR server holds the Communication"
                );
                DeliveryOutcome::Delivered
            }
            Err(error) => {
                self.status
                    .set(!matches!(error, FhirError::Transport { .. }));
                tracing::debug!(
                    notification_id = %notification.notification_id,
                    recipient = %notification.recipient,
                    error = %error,
                    "FHIR server did not take the Communication"
                );
                if error.is_retriable() {
                    DeliveryOutcome::Retryable {
                        retry_after: error.retry_after(),
                        reason: error.to_string(),
                    }
                } else {
                    DeliveryOutcome::Permanent {
                        reason: error.to_string(),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FhirServerConfig;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use throughline_contracts::AgencyId;
    use throughline_contracts::kind::EventKind;

    fn notification(subject: serde_json::Value) -> Notification {
        Notification {
            schema_version: 1,
            notification_id: uuid::Uuid::now_v7(),
            idempotency_key: "delivery-0190-abc".into(),
            recipient: AgencyId::parse("camhs-north").unwrap(),
            sharing_agreement: "dsa-1".into(),
            event_id: uuid::Uuid::now_v7(),
            kind: EventKind::ReferralMade,
            occurred_at: chrono::Utc::now(),
            source_agency: AgencyId::parse("acute-trust").unwrap(),
            child_id: uuid::Uuid::now_v7(),
            subject,
            payload: serde_json::json!({ "referral_id": "R1" }),
        }
    }

    fn sink() -> FhirNotificationSink {
        let mut config = FhirSinkConfig::new(FhirServerConfig::new("http://127.0.0.1:1/fhir/R4"));
        config.recipient_ods = Some("rxx".into());
        FhirNotificationSink::build(&config).unwrap()
    }

    #[test]
    fn the_communication_names_the_patient_recipient_and_idempotency_key() {
        let n = notification(serde_json::json!({
            "identifiers": { "nhs_number": "9990000018" },
            "demographics": { "family_name": "Testchild" }
        }));
        let c = sink().communication(&n, "2026-02-01T10:00:00Z").unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["resourceType"], "Communication");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["sent"], "2026-02-01T10:00:00Z");
        assert_eq!(v["identifier"][0]["value"], "delivery-0190-abc");
        assert_eq!(v["subject"]["identifier"]["system"], NHS_NUMBER_SYSTEM);
        assert_eq!(v["subject"]["identifier"]["value"], "9990000018");
        assert_eq!(v["recipient"][0]["identifier"]["value"], "RXX");
        let summary = v["payload"][0]["contentString"].as_str().unwrap();
        assert!(summary.contains("referral.made") && summary.contains("acute-trust"));
        assert!(summary.contains(&n.child_id.to_string()));
        assert!(!summary.contains("9990000018") && !summary.contains("Testchild"));
        let attachment = &v["payload"][1]["contentAttachment"];
        assert_eq!(attachment["contentType"], "application/json");
        let decoded = STANDARD
            .decode(attachment["data"].as_str().unwrap())
            .unwrap();
        let back: Notification = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(back.notification_id, n.notification_id);
    }

    #[tokio::test]
    async fn without_a_disclosed_nhs_number_the_delivery_fails_for_good() {
        let n = notification(serde_json::json!({ "identifiers": { "upn": "A123" } }));
        let DeliveryOutcome::Permanent { reason } = sink().deliver(&n).await else {
            panic!("expected a permanent failure")
        };
        assert!(
            reason.contains("subject.identifiers.nhs_number"),
            "{reason}"
        );
    }

    #[test]
    fn the_condition_is_the_encoded_identifier_search() {
        let n = notification(serde_json::json!({}));
        assert_eq!(
            sink().condition(&n),
            "identifier=urn%3Athroughline%3Aidempotency-key%7Cdelivery-0190-abc"
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_is_retryable() {
        let n = notification(serde_json::json!({ "identifiers": { "nhs_number": "9990000018" } }));
        let outcome = sink().deliver(&n).await;
        assert!(
            matches!(outcome, DeliveryOutcome::Retryable { .. }),
            "{outcome:?}"
        );
    }
}
