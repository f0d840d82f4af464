//! `POST /v1/events` (canonical JSON) and `POST /v1/ingest/{source}` (the source's native
//! format). Both answer only after the pipeline's outcome is durable: 202 with the event ids once
//! committed, 422 with a problem naming each field once quarantined.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use throughline_contracts::adapter::{InputOutcome, RawInput};
use uuid::Uuid;

use super::AppState;
use super::problem::Problem;
use crate::config::Source;
use crate::pipeline::Origin;

#[derive(Serialize)]
struct Accepted {
    event_ids: Vec<Uuid>,
    /// True when every event was already committed earlier (a resubmission).
    duplicate: bool,
}

fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
}

// A problem is built once per rejected request and returned straight to axum: its size on the
// cold path does not matter, and boxing would only add noise to every handler.
#[allow(clippy::result_large_err)]
pub(super) fn authenticate<'s>(
    state: &'s AppState,
    headers: &HeaderMap,
) -> Result<&'s Source, Problem> {
    let key = api_key(headers).ok_or_else(Problem::unauthorised)?;
    state
        .pipeline
        .config()
        .source_for_key(key)
        .ok_or_else(Problem::unauthorised)
}

#[allow(clippy::result_large_err)]
fn body_or_problem(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Problem> {
    body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                status,
                "too-large",
                "Body too large",
                "the body exceeds the configured api.body_limit_bytes",
            )
        } else {
            Problem::new(
                status,
                "unreadable-body",
                "Body could not be read",
                "the request body could not be read",
            )
        }
    })
}

pub async fn post_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let source = authenticate(&state, &headers)?;
        let body = body_or_problem(body)?;
        Ok::<_, Problem>(submit(&state, source, &headers, body, "canonical-json").await)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub async fn post_native(
    State(state): State<AppState>,
    Path(source_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let source = authenticate(&state, &headers)?;
        if source.id != source_id {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "wrong-source",
                "API key belongs to another source",
                "this API key may only post to its own source",
            ));
        }
        let body = body_or_problem(body)?;
        let format = source.format.clone();
        Ok(submit(&state, source, &headers, body, &format).await)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn submit(
    state: &AppState,
    source: &Source,
    headers: &HeaderMap,
    body: Bytes,
    format: &str,
) -> Response {
    let raw = RawInput {
        source_id: source.id.clone(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
        received_at: chrono::Utc::now(),
        message_id: headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    match state.pipeline.process(&raw, format, Origin::Fresh).await {
        InputOutcome::Committed {
            event_ids,
            duplicate,
        } => (
            StatusCode::ACCEPTED,
            axum::Json(Accepted {
                event_ids,
                duplicate,
            }),
        )
            .into_response(),
        InputOutcome::Quarantined {
            quarantine_id,
            step,
            problems,
        } => {
            let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
            let mut p = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                "Input rejected",
                format!(
                    "rejected at step `{step}`: {}; the input is kept in quarantine",
                    fields.join(", ")
                ),
            );
            p.errors = problems;
            p.quarantine_id = Some(quarantine_id.to_string());
            p.step = Some(step);
            p.into_response()
        }
        InputOutcome::Unavailable { reason } => {
            let mut p = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Hub unavailable",
                reason,
            );
            p.retry_after = Some(5);
            p.into_response()
        }
    }
}
