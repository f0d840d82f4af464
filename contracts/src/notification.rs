//! The rendered notification a sink delivers to one agency.
//!
//! It carries the event's metadata (never child data), the hub's pseudonymous child id, and the
//! subject and payload *projected* to the fields the recipient's sharing agreement allows. A sink
//! serialises it as it is; it never sees the unprojected event.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AgencyId;
use crate::kind::EventKind;

#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Notification {
    pub schema_version: u32,
    /// Unique per delivery (event × recipient).
    pub notification_id: Uuid,
    /// Stable across every attempt to deliver this notification, including after a restart:
    /// receivers deduplicate on it.
    pub idempotency_key: String,
    pub recipient: AgencyId,
    /// The sharing agreement under which this disclosure is made.
    pub sharing_agreement: String,
    pub event_id: Uuid,
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    pub source_agency: AgencyId,
    /// The hub's stable, pseudonymous id for the child: the same for every notification about
    /// the same child, so receivers can order and group without identifiers.
    pub child_id: Uuid,
    /// The subject (identifiers, demographics) projected to the permitted fields.
    pub subject: serde_json::Value,
    /// The payload projected to the permitted fields.
    pub payload: serde_json::Value,
}

impl std::fmt::Debug for Notification {
    /// Redacts subject and payload: both may hold child data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notification")
            .field("notification_id", &self.notification_id)
            .field("recipient", &self.recipient)
            .field("event_id", &self.event_id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl JsonSchema for EventKind {
    fn schema_name() -> Cow<'static, str> {
        "EventKind".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        schemars::json_schema!({ "type": "string", "enum": names })
    }
}
