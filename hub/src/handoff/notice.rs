//! The hub's own notices (reminders, not-picked-up notices, escalations, no-lead-agency
//! notices): each is committed as an event about the child, so it shows in the child's
//! timeline and audit, and sent to one agency through [`route::disclose`], under the same
//! sharing-agreement rules as any notification. Refused or undeliverable, it is still never
//! silent: the refusal raises an operator alert.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use throughline_contracts::AgencyId;
use throughline_contracts::event::{Event, EventSource, SCHEMA_VERSION, Subject};
use throughline_contracts::kind::EventBody;
use uuid::Uuid;

use crate::config::Validated;
use crate::pipeline::route;
use crate::store::{self, StoreError};

/// The source recorded on the hub's own events. `throughline` is reserved: no configured agency
/// may use it.
pub const HUB_AGENCY: &str = "throughline";
pub const HUB_SOURCE_ID: &str = "hub";

fn hub_source() -> EventSource {
    EventSource {
        // A fixed, valid slug: parsing it cannot fail, and a test checks that it does not.
        agency: AgencyId::parse(HUB_AGENCY).unwrap_or_else(|_| unreachable!()),
        system: "throughline".into(),
        adapter: "handoff".into(),
    }
}

/// A notice, committed.
pub struct Sent {
    pub event_id: Uuid,
    /// Whether a delivery was queued: not when no sharing agreement covers the notice, the
    /// agency has no sink or is unknown (each of those is alerted instead).
    pub queued: bool,
}

/// Commits a notice about `child` and queues it for `recipient`.
#[allow(clippy::too_many_arguments)]
pub async fn send(
    conn: &mut AnyConnection,
    config: &Validated,
    child: Uuid,
    identifiers: &[(String, String)],
    body: EventBody,
    recipient: &AgencyId,
    now: DateTime<Utc>,
    causation_id: Option<Uuid>,
) -> Result<Sent, StoreError> {
    let event = Event {
        schema_version: SCHEMA_VERSION,
        id: Uuid::now_v7(),
        occurred_at: now,
        as_at: None,
        received_at: now,
        source: hub_source(),
        // The stored body names no identifiers: they are the child's linked record, added per
        // recipient below and trimmed to what each may see.
        subject: Subject::default(),
        body,
        correlation_id: None,
        causation_id,
    };
    store::events::insert(conn, &event, HUB_SOURCE_ID, child).await?;
    let Some(agency) = config.agencies.get(recipient) else {
        store::alerts::raise(
            conn,
            &format!("unknown_agency:{recipient}"),
            "unknown_agency",
            Some(recipient.as_str()),
            &format!(
                "a `{}` notice is addressed to `{recipient}`, which is not configured",
                event.kind()
            ),
        )
        .await?;
        return Ok(Sent {
            event_id: event.id,
            queued: false,
        });
    };
    let subject = route::linked_subject(identifiers, &event);
    let body = serde_json::to_value(&event.body).unwrap_or_default();
    let payload = body.get("payload").cloned().unwrap_or_default();
    let notification = route::disclose(
        conn,
        config,
        child,
        &subject,
        &payload,
        &event,
        agency,
        now.date_naive(),
    )
    .await?;
    if let Some((n, entry)) = &notification {
        store::audit::append(conn, entry).await?;
        store::deliveries::insert(conn, n).await?;
    }
    Ok(Sent {
        event_id: event.id,
        queued: notification.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hub_source_is_a_valid_agency_id() {
        assert!(AgencyId::parse(HUB_AGENCY).is_ok());
        assert_eq!(hub_source().agency.as_str(), HUB_AGENCY);
    }
}
