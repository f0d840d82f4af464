//! Route: who hears about this event, and exactly what each may see.
//!
//! Recipients are the agencies involved with the child whose role a route lists for the event's
//! kind, other than the sender. Each recipient then needs a sharing agreement in force that
//! covers the kind: deny by default. With one, the notification is projected to the agreement's
//! fields; without one, nothing is sent, an operator alert is raised and the refusal is audited.
//! Every decision (allowed, denied, or no recipient at all) goes to the audit log.

use std::collections::BTreeSet;

use sqlx::AnyConnection;
use throughline_contracts::AgencyId;
use throughline_contracts::event::{Event, SCHEMA_VERSION};
use throughline_contracts::notification::Notification;
use uuid::Uuid;

use crate::config::{Agency, Validated};
use crate::projection::project;
use crate::store::{self, StoreError, audit::AuditEntry};

/// The idempotency key of the notification of `event` to `agency`: derived from both, so it is
/// the same on every attempt, after any restart, and even if the event is routed again.
pub fn idempotency_key(event_id: Uuid, agency: &AgencyId) -> String {
    format!("{event_id}/{agency}")
}

/// The event's subject with its identifiers completed from the child's linked record: each
/// recipient needs *its own* identifier for the child (a school its UPN, a trust its NHS number),
/// whichever one the sender happened to hold. Projection then trims it to what may be shared.
pub fn linked_subject(identifiers: &[(String, String)], event: &Event) -> serde_json::Value {
    let mut subject = serde_json::to_value(&event.subject).unwrap_or_default();
    subject["identifiers"] = identifiers_json(identifiers);
    subject
}

/// A child's linked identifiers, (scheme, value) as the store keeps them, in the envelope's
/// `subject.identifiers` shape.
pub fn identifiers_json(identifiers: &[(String, String)]) -> serde_json::Value {
    let mut local_ids = Vec::new();
    let mut ids = serde_json::Map::new();
    for (scheme, value) in identifiers {
        match scheme.as_str() {
            "nhs" => {
                ids.insert("nhs_number".into(), value.clone().into());
            }
            "upn" => {
                ids.insert("upn".into(), value.clone().into());
            }
            other => {
                if let Some((agency, system)) =
                    other.strip_prefix("local:").and_then(|s| s.split_once('/'))
                {
                    local_ids.push(
                        serde_json::json!({"agency": agency, "system": system, "value": value}),
                    );
                }
            }
        }
    }
    if !local_ids.is_empty() {
        ids.insert("local_ids".into(), local_ids.into());
    }
    serde_json::Value::Object(ids)
}

/// `identifiers` are every identifier linked to the child, as identity resolution left them.
/// Audit entries for what is sent (and for sending nothing) go to `audit`, which the commit
/// writes with its other rows; refusals are written at once, with their alerts.
pub async fn route(
    conn: &mut AnyConnection,
    config: &Validated,
    child: Uuid,
    identifiers: &[(String, String)],
    event: &Event,
    audit_out: &mut Vec<AuditEntry>,
) -> Result<Vec<Notification>, StoreError> {
    let kind = event.kind();
    let roles: BTreeSet<&str> = config
        .routes
        .iter()
        .filter(|r| r.kinds.contains(kind))
        .flat_map(|r| r.roles.iter().map(String::as_str))
        .collect();
    let involved = store::involvements::active(conn, child).await?;

    // Built on first use: most events reach no one.
    let mut subject: Option<serde_json::Value> = None;
    let body = serde_json::to_value(&event.body).unwrap_or_default();
    let payload = body.get("payload").cloned().unwrap_or_default();
    let today = chrono::Utc::now().date_naive();

    let mut notifications = Vec::new();
    for agency_id in involved {
        if agency_id == event.source.agency.as_str() {
            continue;
        }
        let Some(agency) = AgencyId::parse(&agency_id)
            .ok()
            .and_then(|a| config.agencies.get(&a))
        else {
            deny(
                conn,
                &audit(
                    event,
                    "route.denied",
                    Some(&agency_id),
                    None,
                    None,
                    "agency not configured".into(),
                ),
                &format!("unknown_agency:{agency_id}"),
                "unknown_agency",
                &format!("agency `{agency_id}` is involved with a child but is not configured"),
            )
            .await?;
            continue;
        };
        if !roles.contains(agency.role.as_str()) {
            continue;
        }
        let subject = subject.get_or_insert_with(|| linked_subject(identifiers, event));
        if let Some((n, entry)) =
            disclose(conn, config, child, subject, &payload, event, agency, today).await?
        {
            notifications.push(n);
            audit_out.push(entry);
        }
    }
    if notifications.is_empty() {
        audit_out.push(audit(
            event,
            "route.none",
            None,
            None,
            None,
            format!("{kind}: no recipient"),
        ));
    }
    Ok(notifications)
}

/// An audit entry about routing `event`.
fn audit(
    event: &Event,
    action: &str,
    agency: Option<&str>,
    agreement: Option<&str>,
    fields: Option<Vec<String>>,
    detail: String,
) -> AuditEntry {
    AuditEntry {
        actor: "hub".into(),
        action: action.into(),
        event_id: Some(event.id),
        agency: agency.map(str::to_owned),
        sharing_agreement: agreement.map(str::to_owned),
        fields,
        detail: Some(detail),
    }
}

/// The notification of `event` to one `agency`, if a sharing agreement in force covers its kind
/// and the agency has a sink: projected to the agreement's fields, with the audit entry of the
/// disclosure for the caller to write with the delivery. Otherwise the
/// refusal is audited and raised as an alert, and there is no notification. Routing calls this
/// for each involved agency; the hub's own notices (reminders, escalations) call it for the one
/// agency they address, under the same rules.
#[allow(clippy::too_many_arguments)]
pub async fn disclose(
    conn: &mut AnyConnection,
    config: &Validated,
    child: Uuid,
    subject: &serde_json::Value,
    payload: &serde_json::Value,
    event: &Event,
    agency: &Agency,
    today: chrono::NaiveDate,
) -> Result<Option<(Notification, AuditEntry)>, StoreError> {
    let kind = event.kind();
    let Some(agreement) = config
        .agreements
        .iter()
        .find(|g| g.agency == agency.id && g.covers(kind, today))
    else {
        deny(
            conn,
            &audit(
                event,
                "route.denied",
                Some(agency.id.as_str()),
                None,
                None,
                "no sharing agreement in force covers this kind".into(),
            ),
            &format!("no_sharing_agreement:{}:{kind}", agency.id),
            "no_sharing_agreement",
            &format!(
                "`{}` should receive `{kind}`, but no sharing agreement in force covers it: not sent",
                agency.id
            ),
        )
        .await?;
        return Ok(None);
    };
    if agency.sink.is_none() {
        deny(
            conn,
            &audit(
                event,
                "route.denied",
                Some(agency.id.as_str()),
                Some(&agreement.id),
                None,
                "no sink configured".into(),
            ),
            &format!("no_sink:{}", agency.id),
            "no_sink",
            &format!(
                "`{}` should receive `{kind}` but has no sink configured: not sent",
                agency.id
            ),
        )
        .await?;
        return Ok(None);
    }
    let projected = project(subject, payload, &agreement.fields);
    let entry = audit(
        event,
        "route.allowed",
        Some(agency.id.as_str()),
        Some(&agreement.id),
        Some(projected.disclosed.clone()),
        format!("{kind} sent to `{}` (role `{}`)", agency.id, agency.role),
    );
    let notification = Notification {
        schema_version: SCHEMA_VERSION,
        notification_id: Uuid::now_v7(),
        idempotency_key: idempotency_key(event.id, &agency.id),
        recipient: agency.id.clone(),
        sharing_agreement: agreement.id.clone(),
        event_id: event.id,
        kind,
        occurred_at: event.occurred_at,
        source_agency: event.source.agency.clone(),
        child_id: child,
        subject: projected.subject,
        payload: projected.payload,
    };
    Ok(Some((notification, entry)))
}

/// A refusal to send: audited, and raised to operators as an alert (one per open problem).
async fn deny(
    conn: &mut AnyConnection,
    entry: &AuditEntry,
    alert_key: &str,
    alert_kind: &str,
    alert_detail: &str,
) -> Result<(), StoreError> {
    store::alerts::raise(
        conn,
        alert_key,
        alert_kind,
        entry.agency.as_deref(),
        alert_detail,
    )
    .await?;
    store::audit::append(conn, entry).await
}
