//! The AMQP headers and properties Throughline reads and writes.
//!
//! Notifications carry the same metadata as the webhook's HTTP headers, as message headers, so a
//! receiver can route, order and deduplicate without parsing the body: the event id and kind,
//! the idempotency key (also the message-id property), the schema version, and the hub's
//! pseudonymous child id, which is the key for per-child ordering. Quarantined inputs are
//! dead-lettered with `x-throughline-*` headers saying why, in the style of RabbitMQ's own
//! `x-death` and Kafka Connect's error context headers. None of these values is child data.

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use throughline_contracts::event::FieldProblem;
use throughline_contracts::notification::Notification;
use uuid::Uuid;

/// The event a notification is about; also read as an input's id when it has no message-id.
pub const EVENT_ID_HEADER: &str = "throughline-event-id";
/// The event's kind, e.g. `referral.made`.
pub const EVENT_KIND_HEADER: &str = "throughline-event-kind";
/// Stable across every attempt to deliver one notification: receivers deduplicate on it.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// The notification schema version of the body.
pub const SCHEMA_VERSION_HEADER: &str = "throughline-schema-version";
/// The hub's pseudonymous child id: the same for every notification about one child.
pub const CHILD_ID_HEADER: &str = "throughline-child-id";
/// The delivery attempt's W3C trace context, under the name the W3C's draft AMQP binding of
/// Trace Context gives it, so a receiver can join the hub's trace. It names the trace only.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// The hub's quarantine record for a dead-lettered input.
pub const QUARANTINE_ID_HEADER: &str = "x-throughline-quarantine-id";
/// The pipeline step that rejected a dead-lettered input.
pub const QUARANTINE_STEP_HEADER: &str = "x-throughline-step";
/// Why a dead-lettered input was rejected: `field: reason; field: reason`.
pub const QUARANTINE_REASON_HEADER: &str = "x-throughline-reason";

/// AMQP's persistent delivery mode: the broker writes the message to disk.
pub const PERSISTENT: u8 = 2;

/// Why a notification cannot be expressed as AMQP properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PropertiesError(pub(crate) &'static str);

/// The properties a notification is published with: persistent JSON, the idempotency key as
/// message-id, the metadata headers and, for a traced attempt, its `traceparent`.
pub(crate) fn notification_properties(
    notification: &Notification,
    traceparent: Option<&str>,
) -> Result<BasicProperties, PropertiesError> {
    let message_id = ShortString::try_new(notification.idempotency_key.as_str()).map_err(|_| {
        PropertiesError("idempotency key is longer than the 255 bytes an AMQP message-id holds")
    })?;
    let mut headers = FieldTable::default();
    headers.insert(
        EVENT_ID_HEADER.into(),
        long_string(notification.event_id.to_string()),
    );
    headers.insert(
        EVENT_KIND_HEADER.into(),
        long_string(notification.kind.as_str()),
    );
    headers.insert(
        IDEMPOTENCY_KEY_HEADER.into(),
        long_string(notification.idempotency_key.as_str()),
    );
    headers.insert(
        SCHEMA_VERSION_HEADER.into(),
        AMQPValue::LongLongInt(i64::from(notification.schema_version)),
    );
    headers.insert(
        CHILD_ID_HEADER.into(),
        long_string(notification.child_id.to_string()),
    );
    if let Some(traceparent) = traceparent {
        headers.insert(TRACEPARENT_HEADER.into(), long_string(traceparent));
    }
    Ok(BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_content_type("application/json".into())
        .with_message_id(message_id)
        .with_headers(headers))
}

/// The properties of the dead-letter copy of a quarantined input: the original's, made
/// persistent, with the quarantine headers added.
///
/// The original's `expiration` is dropped: a per-message TTL would let the broker discard the
/// dead-letter copy unseen.
pub(crate) fn quarantine_properties(
    original: &BasicProperties,
    quarantine_id: Uuid,
    step: &str,
    problems: &[FieldProblem],
) -> BasicProperties {
    let mut headers = original.headers().clone().unwrap_or_default();
    headers.insert(
        QUARANTINE_ID_HEADER.into(),
        long_string(quarantine_id.to_string()),
    );
    headers.insert(QUARANTINE_STEP_HEADER.into(), long_string(step));
    headers.insert(
        QUARANTINE_REASON_HEADER.into(),
        long_string(problems_text(problems)),
    );
    let mut properties = original.clone();
    if properties.expiration().is_some() {
        properties = without_expiration(properties);
    }
    properties
        .with_delivery_mode(PERSISTENT)
        .with_headers(headers)
}

/// `field: reason; field: reason`. Problem reasons never contain child data (the contract of
/// [`FieldProblem`]), so this is safe to put in a header.
pub fn problems_text(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// An input's upstream id: its message-id property, or else its `throughline-event-id` header.
pub(crate) fn input_message_id(properties: &BasicProperties) -> Option<String> {
    if let Some(id) = properties.message_id()
        && !id.as_str().is_empty()
    {
        return Some(id.as_str().to_owned());
    }
    properties
        .headers()
        .as_ref()
        .and_then(|headers| string_header(headers, EVENT_ID_HEADER))
        .filter(|id| !id.is_empty())
}

/// A header's value when it is a string (long or short) of valid UTF-8.
pub fn string_header(headers: &FieldTable, name: &str) -> Option<String> {
    match headers.inner().get(name)? {
        AMQPValue::LongString(s) => String::from_utf8(s.as_bytes().to_vec()).ok(),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

fn long_string(text: impl Into<Vec<u8>>) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text))
}

/// `BasicProperties` has setters but no way to clear one: rebuild without `expiration`.
fn without_expiration(p: BasicProperties) -> BasicProperties {
    let mut out = BasicProperties::default();
    if let Some(v) = p.content_type() {
        out = out.with_content_type(v.clone());
    }
    if let Some(v) = p.content_encoding() {
        out = out.with_content_encoding(v.clone());
    }
    if let Some(v) = p.headers() {
        out = out.with_headers(v.clone());
    }
    if let Some(v) = p.delivery_mode() {
        out = out.with_delivery_mode(*v);
    }
    if let Some(v) = p.priority() {
        out = out.with_priority(*v);
    }
    if let Some(v) = p.correlation_id() {
        out = out.with_correlation_id(v.clone());
    }
    if let Some(v) = p.reply_to() {
        out = out.with_reply_to(v.clone());
    }
    if let Some(v) = p.message_id() {
        out = out.with_message_id(v.clone());
    }
    if let Some(v) = p.timestamp() {
        out = out.with_timestamp(*v);
    }
    if let Some(v) = p.kind() {
        out = out.with_type(v.clone());
    }
    if let Some(v) = p.user_id() {
        out = out.with_user_id(v.clone());
    }
    if let Some(v) = p.app_id() {
        out = out.with_app_id(v.clone());
    }
    if let Some(v) = p.cluster_id() {
        out = out.with_cluster_id(v.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_id_property_wins_over_the_event_id_header() {
        let mut headers = FieldTable::default();
        headers.insert(EVENT_ID_HEADER.into(), long_string("event-1"));
        let both = BasicProperties::default()
            .with_message_id("msg-1".into())
            .with_headers(headers.clone());
        assert_eq!(input_message_id(&both), Some("msg-1".to_owned()));
        let header_only = BasicProperties::default().with_headers(headers);
        assert_eq!(input_message_id(&header_only), Some("event-1".to_owned()));
        assert_eq!(input_message_id(&BasicProperties::default()), None);
    }

    #[test]
    fn a_short_string_event_id_header_is_read_and_other_types_are_not() {
        let mut headers = FieldTable::default();
        headers.insert(
            EVENT_ID_HEADER.into(),
            AMQPValue::ShortString("event-2".into()),
        );
        assert_eq!(
            string_header(&headers, EVENT_ID_HEADER),
            Some("event-2".into())
        );
        headers.insert(EVENT_ID_HEADER.into(), AMQPValue::LongLongInt(7));
        assert_eq!(string_header(&headers, EVENT_ID_HEADER), None);
    }

    #[test]
    fn problems_are_joined_field_colon_reason() {
        let problems = [
            FieldProblem::new("occurred_at", "must not be in the future"),
            FieldProblem::new("subject.identifiers", "at least one is required"),
        ];
        assert_eq!(
            problems_text(&problems),
            "occurred_at: must not be in the future; subject.identifiers: at least one is required"
        );
        assert_eq!(problems_text(&[]), "");
    }

    #[test]
    fn quarantine_copies_keep_the_original_properties_persistently_without_a_ttl() {
        let mut headers = FieldTable::default();
        headers.insert("x-origin".into(), long_string("lcs"));
        let original = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_message_id("msg-9".into())
            .with_expiration("60000".into())
            .with_delivery_mode(1)
            .with_headers(headers);
        let id = Uuid::now_v7();
        let copy = quarantine_properties(
            &original,
            id,
            "validate",
            &[FieldProblem::new("id", "must be a UUIDv7")],
        );
        assert_eq!(copy.delivery_mode(), &Some(PERSISTENT));
        assert_eq!(copy.expiration(), &None);
        assert_eq!(copy.message_id(), original.message_id());
        assert_eq!(copy.content_type(), original.content_type());
        let headers = copy.headers().clone().unwrap();
        assert_eq!(string_header(&headers, "x-origin"), Some("lcs".into()));
        assert_eq!(
            string_header(&headers, QUARANTINE_ID_HEADER),
            Some(id.to_string())
        );
        assert_eq!(
            string_header(&headers, QUARANTINE_STEP_HEADER),
            Some("validate".into())
        );
        assert_eq!(
            string_header(&headers, QUARANTINE_REASON_HEADER),
            Some("id: must be a UUIDv7".into())
        );
    }
}
