//! `POST /v1/events` (canonical JSON) and `POST /v1/ingest/{source}` (the source's native
//! format). Both answer only after the pipeline's outcome is durable: 202 with the event ids once
//! committed, 422 with a problem naming each field once quarantined.
//!
//! `POST /v1/ingest/{source}/ctf` imports a school's Common Transfer File pupil by pupil
//! ([`import::import_ctf`]), `POST /v1/ingest/{source}/cin` a local authority's CIN census
//! child by child ([`import::import_cin`]), and `POST /v1/ingest/{source}/file` a file in the
//! source's own format, row by row where the format reads rows ([`import::import_extract`]).
//! Each answers 200 with the import report, or a problem naming why the file was refused or
//! where it stopped. Their bodies are whole files, bounded by `api.file_upload_limit_bytes` and
//! streamed to disk ([`super::upload`]), not by `api.body_limit_bytes`.

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use throughline_contracts::adapter::{InputOutcome, RawInput};
use tracing::Instrument;
use uuid::Uuid;

use super::AppState;
use super::problem::Problem;
use super::upload;
use crate::config::Source;
use crate::import::{self, FileKind, ImportError};
use crate::pipeline::Origin;
use crate::telemetry::{self, TARGET};

/// The answer to an input that was committed.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Accepted {
    event_ids: Vec<Uuid>,
    /// True when every event was already committed earlier (a resubmission).
    duplicate: bool,
}

pub(super) fn api_key(headers: &HeaderMap) -> Option<&str> {
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
pub(super) fn body_or_problem(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Problem> {
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
        let source = authenticate_as(&state, &headers, &source_id)?;
        let body = body_or_problem(body)?;
        let format = source.format.clone();
        Ok::<_, Problem>(submit(&state, source, &headers, body, &format).await)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The body is the whole file, bounded by `api.file_upload_limit_bytes`.
pub async fn post_ctf(
    State(state): State<AppState>,
    Path(source_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let source = authenticate_as(&state, &headers, &source_id)?;
        let limit = state.pipeline.config().api.file_upload_limit_bytes;
        let upload = upload::spool(&headers, body, limit).await?;
        let report = import::import_ctf(
            &state.pipeline,
            &source.id,
            upload.digest,
            upload.file,
            |_| {},
        )
        .await
        .map_err(import_problem)?;
        Ok::<_, Problem>((StatusCode::OK, axum::Json(report)).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The body is the whole census, bounded by `api.file_upload_limit_bytes`.
pub async fn post_cin(
    State(state): State<AppState>,
    Path(source_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let source = authenticate_as(&state, &headers, &source_id)?;
        let limit = state.pipeline.config().api.file_upload_limit_bytes;
        let upload = upload::spool(&headers, body, limit).await?;
        let report = import::import_cin(
            &state.pipeline,
            &source.id,
            upload.digest,
            upload.file,
            |_| {},
        )
        .await
        .map_err(import_problem)?;
        Ok::<_, Problem>((StatusCode::OK, axum::Json(report)).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// A file in the source's own format, bounded by `api.file_upload_limit_bytes`: row by row when
/// the format reads rows (`social-care-csv`, `mapping:<id>`), otherwise one input, which is then
/// also bounded by `api.body_limit_bytes` as the same body posted to `/v1/ingest/{source}` is.
pub async fn post_file(
    State(state): State<AppState>,
    Path(source_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let source = authenticate_as(&state, &headers, &source_id)?;
        let api = &state.pipeline.config().api;
        let upload = upload::spool(&headers, body, api.file_upload_limit_bytes).await?;
        if import::reads_rows(&state.pipeline, &source.id) {
            let report = import::import_extract(
                &state.pipeline,
                &source.id,
                upload.digest,
                upload.file,
                |_| {},
            )
            .await
            .map_err(import_problem)?;
            return Ok((StatusCode::OK, axum::Json(report)).into_response());
        }
        let body = import::single::read_input(upload.file, api.body_limit_bytes).map_err(|e| {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Body too large",
                e.to_string(),
            )
        })?;
        let report = import::import_input(&state.pipeline, &source.id, upload.digest, body)
            .await
            .map_err(import_problem)?;
        // A rejected input is answered as `/v1/ingest/{source}` answers it: a 422 problem
        // naming the step and the fields, with where the input is kept.
        if let (Some(quarantine_id), Some(step)) = (report.quarantine_id, &report.step) {
            let mut p = Problem::for_quarantined(step, &report.problems);
            p.errors = report.problems;
            p.quarantine_id = Some(quarantine_id.to_string());
            p.step = Some(step.clone());
            return Err(p);
        }
        Ok::<_, Problem>((StatusCode::OK, axum::Json(report)).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The source the API key belongs to, which must be `source_id`.
#[allow(clippy::result_large_err)]
fn authenticate_as<'s>(
    state: &'s AppState,
    headers: &HeaderMap,
    source_id: &str,
) -> Result<&'s Source, Problem> {
    let source = authenticate(state, headers)?;
    if source.id != source_id {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "wrong-source",
            "API key belongs to another source",
            "this API key may only post to its own source",
        ));
    }
    Ok(source)
}

/// Why a file was not (wholly) imported. The detail is the error with its causes, which name
/// where and why and never a child's data; a partial report says what was done before it.
fn import_problem(e: ImportError) -> Problem {
    let file = |kind: FileKind, what: &str| (format!("{}-{what}", kind.slug()), kind.title());
    let (status, slug, title) = match &e {
        ImportError::Refused(read) => {
            let (slug, kind) = file(read.kind(), "refused");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                slug,
                format!("{kind} refused"),
            )
        }
        ImportError::NotTheSendingSchool { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "ctf-not-the-sending-school".to_owned(),
            "CTF from another school".to_owned(),
        ),
        ImportError::Stopped { report, .. } => {
            let (slug, kind) = file(report.kind(), "stopped");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                slug,
                format!("{kind} could not be read to its end"),
            )
        }
        ImportError::Unavailable { .. } | ImportError::InputUnavailable { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable".to_owned(),
            "Hub unavailable".to_owned(),
        ),
        ImportError::NotAnExtract { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "not-an-extract".to_owned(),
            "Not a file of rows".to_owned(),
        ),
        ImportError::UnknownSource(_) => (
            StatusCode::NOT_FOUND,
            "unknown-source".to_owned(),
            "Unknown source".to_owned(),
        ),
        ImportError::Encode { .. } => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal".to_owned(),
            "Internal error".to_owned(),
        ),
    };
    let mut p = Problem::new(status, &slug, &title, e.full_message());
    p.report = e.partial_report().cloned().map(Box::new);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        p.retry_after = Some(5);
    }
    p
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
    // The request's span: the caller's `traceparent`, if it sent one, is its parent, so the
    // input's trace continues the caller's.
    let span = tracing::info_span!(target: TARGET, "http.ingest", source_id = %source.id, otel.kind = "server");
    if let Some(parent) = headers
        .get(telemetry::TRACEPARENT)
        .and_then(|v| v.to_str().ok())
    {
        telemetry::set_parent(&span, parent);
    }
    let outcome = state
        .pipeline
        .process(&raw, format, Origin::Fresh)
        .instrument(span)
        .await;
    match outcome {
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
            let mut p = Problem::for_quarantined(&step, &problems);
            p.errors = problems;
            p.quarantine_id = Some(quarantine_id.to_string());
            p.step = Some(step);
            p.into_response()
        }
        InputOutcome::Unavailable { reason } => Problem::unavailable(reason).into_response(),
    }
}
