//! The Kafka record headers the adapter writes and reads.
//!
//! The sink writes the same metadata the webhook sink sends as HTTP headers, under lowercase
//! names, so a receiver can route, deduplicate and check the schema without parsing the value.
//! None of them carries child data. The source reads only `content-type`, to pick the input's
//! format the way an HTTP source would.

use rdkafka::message::{Header, Headers, OwnedHeaders};
use throughline_contracts::notification::Notification;

/// The event the notification is about.
pub const EVENT_ID_HEADER: &str = "throughline-event-id";
/// The event's kind, e.g. `referral.made`, so receivers can route without parsing the value.
pub const EVENT_KIND_HEADER: &str = "throughline-event-kind";
/// Receivers deduplicate on this; it is the same on every attempt for one notification.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// The notification schema version of the value.
pub const SCHEMA_VERSION_HEADER: &str = "throughline-schema-version";
/// The media type of the value: written by the sink, read by the source.
pub const CONTENT_TYPE_HEADER: &str = "content-type";
/// The media type of every notification the sink publishes.
pub const JSON_CONTENT_TYPE: &str = "application/json";
/// A traced delivery attempt's W3C trace context, under the header name OpenTelemetry's Kafka
/// instrumentations read, so a consumer can join the hub's trace. It names the trace only.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// The headers published with one notification, with `traceparent` for a traced attempt.
pub fn notification_headers(
    notification: &Notification,
    traceparent: Option<&str>,
) -> OwnedHeaders {
    let event_id = notification.event_id.to_string();
    let schema_version = notification.schema_version.to_string();
    let traced = traceparent.map(|value| (TRACEPARENT_HEADER, value));
    [
        (EVENT_ID_HEADER, event_id.as_str()),
        (EVENT_KIND_HEADER, notification.kind.as_str()),
        (
            IDEMPOTENCY_KEY_HEADER,
            notification.idempotency_key.as_str(),
        ),
        (SCHEMA_VERSION_HEADER, schema_version.as_str()),
        (CONTENT_TYPE_HEADER, JSON_CONTENT_TYPE),
    ]
    .into_iter()
    .chain(traced)
    .fold(
        OwnedHeaders::new_with_capacity(6),
        |headers, (key, value)| {
            headers.insert(Header {
                key,
                value: Some(value),
            })
        },
    )
}

/// The value of the first header called `name` (ASCII case-insensitively, since producers differ
/// in how they spell `Content-Type`), if it is present, has a value and is UTF-8.
pub fn header_str<'a, H: Headers>(headers: &'a H, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|header| header.key.eq_ignore_ascii_case(name))
        .and_then(|header| header.value)
        .and_then(|value| std::str::from_utf8(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use throughline_contracts::AgencyId;
    use throughline_contracts::kind::EventKind;

    #[test]
    fn notification_headers_carry_metadata_only() {
        let event_id = "0190a6f2-0000-7000-8000-000000000001".parse().unwrap();
        let notification = Notification {
            schema_version: 1,
            notification_id: "0190a6f2-0000-7000-8000-000000000002".parse().unwrap(),
            idempotency_key: "0190a6f2/camhs-north".into(),
            recipient: AgencyId::parse("camhs-north").unwrap(),
            sharing_agreement: "north-isa".into(),
            event_id,
            kind: EventKind::ReferralMade,
            occurred_at: chrono::Utc::now(),
            source_agency: AgencyId::parse("st-marys-primary").unwrap(),
            child_id: "0190a6f2-0000-7000-8000-000000000003".parse().unwrap(),
            subject: serde_json::json!({ "given_name": "CANARY" }),
            payload: serde_json::json!({}),
        };
        let headers = notification_headers(&notification, None);
        assert_eq!(headers.count(), 5);
        assert_eq!(header_str(&headers, TRACEPARENT_HEADER), None);
        assert_eq!(
            header_str(&headers, EVENT_ID_HEADER),
            Some(event_id.to_string().as_str())
        );
        assert_eq!(
            header_str(&headers, EVENT_KIND_HEADER),
            Some(EventKind::ReferralMade.as_str())
        );
        assert_eq!(
            header_str(&headers, IDEMPOTENCY_KEY_HEADER),
            Some("0190a6f2/camhs-north")
        );
        assert_eq!(header_str(&headers, SCHEMA_VERSION_HEADER), Some("1"));
        assert_eq!(
            header_str(&headers, "Content-Type"),
            Some("application/json")
        );
        assert!(
            headers
                .iter()
                .all(|h| !h.value.unwrap().starts_with(b"CANARY"))
        );

        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let traced = notification_headers(&notification, Some(traceparent));
        assert_eq!(traced.count(), 6);
        assert_eq!(header_str(&traced, TRACEPARENT_HEADER), Some(traceparent));
    }

    #[test]
    fn header_str_skips_absent_and_non_utf8_values() {
        let headers = OwnedHeaders::new()
            .insert(Header::<&str> {
                key: "content-type",
                value: None,
            })
            .insert(Header {
                key: "x-bytes",
                value: Some(&[0xff_u8, 0xfe][..]),
            });
        assert_eq!(header_str(&headers, "content-type"), None);
        assert_eq!(header_str(&headers, "x-bytes"), None);
        assert_eq!(header_str(&headers, "missing"), None);
    }
}
