//! `/v1/handoffs`: what an agency has handed or been handed, and its answer.
//!
//! Every route is authenticated with an agency's source API key and shows only handoffs that
//! agency sent or received. Acknowledging is only for the receiver: the answer is committed as
//! a `handoff.acknowledged` event through the pipeline like any other input, so it is routed to
//! the other agencies involved, audited, deduplicated by `Idempotency-Key`, and quarantined with
//! a reason if it cannot be taken.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use throughline_contracts::AgencyId;
use throughline_contracts::kind::HandoffOutcome;
use uuid::Uuid;

use super::AppState;
use super::ingest::{authenticate, body_or_problem, submit};
use super::problem::Problem;
use crate::handoff::exemption::{self, Exemption, ExemptionError};
use crate::pipeline::route;
use crate::projection::project;
use crate::store::{self, handoffs::Handoff};

/// The body of `POST /v1/handoffs/{id}/acknowledge`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Acknowledgement {
    outcome: HandoffOutcome,
    #[serde(default)]
    new_owner: Option<AgencyId>,
    #[serde(default)]
    reason: Option<String>,
}

fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "No such handoff",
        "no handoff with this id was sent to or by this agency",
    )
}

fn unavailable() -> Problem {
    Problem::unavailable("the hub's store is unavailable; retry later")
}

#[allow(clippy::result_large_err)]
async fn load(state: &AppState, id: &str) -> Result<Handoff, Problem> {
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let mut conn = state
        .pipeline
        .store()
        .acquire()
        .await
        .map_err(|_| unavailable())?;
    store::handoffs::get(&mut conn, id)
        .await
        .map_err(|_| unavailable())?
        .ok_or_else(not_found)
}

pub async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let source = authenticate(&state, &headers)?;
        let body = body_or_problem(body)?;
        let h = load(&state, &id).await?;
        if h.to_agency != source.agency.as_str() {
            if h.from_agency == source.agency.as_str() {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "not-receiver",
                    "Only the receiving agency may acknowledge",
                    "this handoff was sent by this agency; only its receiver may acknowledge it",
                ));
            }
            return Err(not_found());
        }
        let ack: Acknowledgement = serde_json::from_slice(&body).map_err(|e| {
            let mut p = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-acknowledgement",
                "Acknowledgement rejected",
                "the body must be {\"outcome\": \"accepted\" | \"declined\" | \"redirected\", \"new_owner\"?: agency id, \"reason\"?: text}",
            );
            p.errors = vec![throughline_contracts::event::FieldProblem::new(
                "body",
                e.to_string(),
            )];
            p
        })?;
        let identifiers = {
            let mut conn = state
                .pipeline
                .store()
                .acquire()
                .await
                .map_err(|_| unavailable())?;
            store::identity::identifiers_of(&mut conn, h.child_id)
                .await
                .map_err(|_| unavailable())?
        };
        // The answer names the child by the identifiers this agency may see under its sharing
        // agreements, never by more: the event is recorded as the agency's own.
        let config = state.pipeline.config();
        let today = Utc::now().date_naive();
        let fields: Vec<String> = config
            .agreements
            .iter()
            .filter(|g| g.agency == source.agency && g.in_force(today))
            .flat_map(|g| g.fields.iter().cloned())
            .collect();
        let subject = json!({"identifiers": route::identifiers_json(&identifiers)});
        let visible = project(&subject, &json!({}), &fields).subject;
        let mut ids = visible.get("identifiers").cloned().unwrap_or_default();
        crate::pipeline::authorise::keep_assertable_local_ids(source, &mut ids);
        if ids.as_object().is_none_or(|m| m.is_empty()) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "no-visible-identifier",
                "Answer from the agency's own system",
                "this agency's sharing agreements let it see none of the child's identifiers; \
                 answer with the matching event from its own system instead",
            ));
        }
        let mut payload = json!({"handoff_id": h.id, "outcome": ack.outcome});
        if let Some(owner) = &ack.new_owner {
            payload["new_owner"] = json!(owner);
        }
        if let Some(reason) = &ack.reason {
            payload["reason"] = json!(reason);
        }
        let submission = json!({
            "schema_version": 1,
            "occurred_at": chrono::Utc::now(),
            "source": {"agency": source.agency, "system": source.system, "adapter": "http-ingest"},
            "subject": {"identifiers": ids},
            "kind": "handoff.acknowledged",
            "payload": payload,
        });
        let body = Bytes::from(serde_json::to_vec(&submission).unwrap_or_default());
        Ok(submit(&state, source, &headers, body, "canonical-json").await)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The body of `POST /v1/handoffs/{id}/exemption`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ExemptionRequest {
    reason: Exemption,
    #[serde(default)]
    from: Option<DateTime<Utc>>,
    #[serde(default)]
    until: Option<DateTime<Utc>>,
}

/// The body of `POST /v1/handoffs/{id}/exemption/end`.
#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ExemptionEnd {
    #[serde(default)]
    at: Option<DateTime<Utc>>,
}

#[allow(clippy::result_large_err)]
fn parse_body<T: serde::de::DeserializeOwned + Default>(
    body: &Bytes,
    expected: &str,
) -> Result<T, Problem> {
    if body.is_empty() {
        return Ok(T::default());
    }
    parse_required(body, expected)
}

#[allow(clippy::result_large_err)]
fn parse_required<T: serde::de::DeserializeOwned>(
    body: &Bytes,
    expected: &str,
) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        let mut p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            "Request body rejected",
            format!("the body must be {expected}"),
        );
        p.errors = vec![throughline_contracts::event::FieldProblem::new(
            "body",
            e.to_string(),
        )];
        p
    })
}

fn exemption_problem(e: ExemptionError) -> Problem {
    let status = match e {
        ExemptionError::NotFound => return not_found(),
        ExemptionError::NotAllowed => StatusCode::FORBIDDEN,
        ExemptionError::Store(_) => return unavailable(),
        _ => StatusCode::CONFLICT,
    };
    Problem::new(
        status,
        "exemption-refused",
        "Exemption refused",
        e.to_string(),
    )
}

pub async fn start_exemption(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let source = authenticate(&state, &headers)?;
        let body = body_or_problem(body)?;
        let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
        let req: ExemptionRequest = parse_required(
            &body,
            "{\"reason\": \"child_away\" | \"exceptional_circumstances\" | \"institution_closed\" | \"missed_appointment\" | \"other\", \"from\"?: time, \"until\"?: time}",
        )?;
        let from = req.from.unwrap_or_else(Utc::now);
        let h = exemption::pause(&state.pipeline, id, &source.agency, from, req.until, req.reason)
            .await
            .map_err(exemption_problem)?;
        Ok::<_, Problem>(axum::Json(h).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub async fn end_exemption(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let source = authenticate(&state, &headers)?;
        let body = body_or_problem(body)?;
        let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
        let req: ExemptionEnd = parse_body(&body, "{\"at\"?: time}")?;
        let h = exemption::resume(
            &state.pipeline,
            id,
            &source.agency,
            req.at.unwrap_or_else(Utc::now),
        )
        .await
        .map_err(exemption_problem)?;
        Ok::<_, Problem>(axum::Json(h).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let source = authenticate(&state, &headers)?;
        let h = load(&state, &id).await?;
        let agency = source.agency.as_str();
        if h.to_agency != agency && h.from_agency != agency {
            return Err(not_found());
        }
        Ok::<_, Problem>(axum::Json(h).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ListQuery {
    /// Only handoffs still waiting for an answer.
    #[serde(default)]
    open: bool,
    /// Handoffs to list, newest first (default 100; at least 1, at most 1000).
    #[serde(default = "default_limit")]
    limit: i64,
}

/// The answer to `GET /v1/handoffs`, newest first.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct HandoffList {
    handoffs: Vec<Handoff>,
}

fn default_limit() -> i64 {
    100
}

pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let source = authenticate(&state, &headers)?;
        let Query(q) = query.map_err(Problem::invalid_query)?;
        let mut conn = state
            .pipeline
            .store()
            .acquire()
            .await
            .map_err(|_| unavailable())?;
        let handoffs = store::handoffs::list(
            &mut conn,
            Some(source.agency.as_str()),
            q.open,
            q.limit.clamp(1, 1000),
        )
        .await
        .map_err(|_| unavailable())?;
        Ok::<_, Problem>(axum::Json(HandoffList { handoffs }).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
