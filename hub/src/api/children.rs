//! `GET /v1/children/{id}/timeline`: what happened to a child, as one agency may see it.
//!
//! Only an agency that is or was involved with the child gets an answer (any other gets 404, so
//! child ids cannot be probed). Events the agency sent itself are shown whole; any other event
//! is shown only if a sharing agreement in force covers its kind for this agency, projected to
//! that agreement's fields as a notification would be (routes, which decide who is *sent*
//! what, do not narrow what an involved agency may *look up*). The hub's own notices are shown
//! only to the agency they were addressed to. Deliveries are the agency's own, handoffs those
//! it sent or received. Each view is audited as a disclosure.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use super::ingest::authenticate;
use super::problem::Problem;
use crate::pipeline::route;
use crate::projection::project;
use crate::store::{self, StoreError, audit::AuditEntry};

fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "No such child",
        "no child with this id is or was involved with this agency",
    )
}

pub async fn timeline(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let source = authenticate(&state, &headers)?;
        let child = Uuid::parse_str(&id).map_err(|_| not_found())?;
        let agency = source.agency.as_str();
        let config = state.pipeline.config();
        let view = async {
            let mut tx = state.pipeline.store().begin().await?;
            if !store::involvements::ever(&mut tx, child, agency).await? {
                return Ok::<_, StoreError>(None);
            }
            let identifiers = store::identity::identifiers_of(&mut tx, child).await?;
            let today = chrono::Utc::now().date_naive();
            let deliveries =
                store::deliveries::for_child_and_agency(&mut tx, child, agency).await?;
            let sent_here: std::collections::BTreeSet<&str> =
                deliveries.iter().map(|d| d.event_id.as_str()).collect();
            let mut events = Vec::new();
            let mut disclosed = std::collections::BTreeSet::new();
            let history = store::events::history_of(&mut tx, child).await?;
            for event in store::events::for_child(&mut tx, child).await? {
                // The hub's notices are addressed: each agency sees only its own.
                if event.source.agency.as_str() == crate::handoff::notice::HUB_AGENCY
                    && !sent_here.contains(event.id.to_string().as_str())
                {
                    continue;
                }
                let kind = event.kind();
                let body = serde_json::to_value(&event.body).unwrap_or_default();
                let payload = body.get("payload").cloned().unwrap_or_default();
                let entry = |payload: serde_json::Value, subject: serde_json::Value| {
                    json!({
                        "event_id": event.id,
                        "kind": kind,
                        "occurred_at": event.occurred_at,
                        "received_at": event.received_at,
                        "source_agency": event.source.agency,
                        // Restated the child's past: committed, but nobody was notified.
                        "history": history.contains(&event.id),
                        "subject": subject,
                        "payload": payload,
                    })
                };
                if event.source.agency.as_str() == agency {
                    events.push(entry(
                        payload,
                        serde_json::to_value(&event.subject).unwrap_or_default(),
                    ));
                    continue;
                }
                let Some(agreement) = config
                    .agreements
                    .iter()
                    .find(|g| g.agency == source.agency && g.covers(kind, today))
                else {
                    continue;
                };
                let subject = route::linked_subject(&identifiers, &event);
                let projected = project(&subject, &payload, &agreement.fields);
                disclosed.extend(projected.disclosed);
                events.push(entry(projected.payload, projected.subject));
            }
            let handoffs: Vec<_> = store::handoffs::for_child(&mut tx, child)
                .await?
                .into_iter()
                .filter(|h| h.to_agency == agency || h.from_agency == agency)
                .collect();
            store::audit::append(
                &mut tx,
                &AuditEntry {
                    actor: format!("source:{}", source.id),
                    action: "timeline.viewed".into(),
                    agency: Some(agency.to_owned()),
                    fields: Some(disclosed.into_iter().collect()),
                    detail: Some(format!(
                        "timeline of child {child}: {} event(s), {} delivery(ies), {} handoff(s)",
                        events.len(),
                        deliveries.len(),
                        handoffs.len()
                    )),
                    ..Default::default()
                },
            )
            .await?;
            tx.commit().await?;
            Ok(Some(json!({
                "child_id": child,
                "agency": agency,
                "events": events,
                "deliveries": deliveries,
                "handoffs": handoffs,
            })))
        }
        .await
        .map_err(|_| Problem::unavailable("the hub's store is unavailable; retry later"))?;
        let view = view.ok_or_else(not_found)?;
        Ok::<_, Problem>(axum::Json(view).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
