//! RFC 9457 problem details: the one error shape of the API.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use throughline_contracts::event::FieldProblem;

/// Its JSON Schema (`#/components/schemas/Problem` in the OpenAPI document) is derived from
/// this type, so the document cannot describe a shape the API does not send.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// A URI naming the problem type; resolves to the README section that explains it.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Which fields were wrong, and why (extension member).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// Where the input is kept for an operator (extension member).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine_id: Option<String>,
    /// The pipeline step that rejected the input (extension member).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// For a file import (CTF, CIN census) stopped part-way: the records committed or quarantined
    /// before the problem (extension member).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Box<crate::import::ImportReport>>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            type_uri: format!("https://throughline.invalid/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            quarantine_id: None,
            step: None,
            report: None,
            retry_after: None,
        }
    }

    /// The store did not answer: retry later (with `Retry-After`).
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Hub unavailable",
            detail,
        );
        p.retry_after = Some(5);
        p
    }

    /// A query string that does not parse (axum's own rejection is plain text, not a problem).
    /// The parser's message names the parameter and what was expected.
    pub fn invalid_query(rejection: axum::extract::rejection::QueryRejection) -> Self {
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-query",
            "Query rejected",
            "the query string does not match this endpoint's parameters",
        );
        p.errors = vec![FieldProblem::new("query", rejection.body_text())];
        p
    }

    /// An input the pipeline quarantined: 403 `assertion-refused` when the source asserted what
    /// is not its own to say, 409 `idempotency-conflict` when an event id or idempotency key
    /// was already used for a different body, else 422 `invalid-input`. The detail names the
    /// step and the fields (with the rule, for a refusal), never a value.
    pub fn for_quarantined(step: &str, problems: &[FieldProblem]) -> Self {
        use crate::pipeline::step;
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        let (status, slug, title) = match step {
            step::AUTHORISE => (
                StatusCode::FORBIDDEN,
                "assertion-refused",
                "Assertion refused",
            ),
            step::IDEMPOTENCY => (
                StatusCode::CONFLICT,
                "idempotency-conflict",
                "Idempotency conflict",
            ),
            _ => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                "Input rejected",
            ),
        };
        let said: Vec<String> = if step == step::AUTHORISE || step == step::IDEMPOTENCY {
            problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.reason))
                .collect()
        } else {
            fields.iter().map(|f| (*f).to_owned()).collect()
        };
        Self::new(
            status,
            slug,
            title,
            format!(
                "rejected at step `{step}`: {}; the input is kept in quarantine",
                said.join("; ")
            ),
        )
    }

    pub fn unauthorised() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorised",
            "Missing or unknown API key",
            "send the source's API key as `Authorization: Bearer <key>`",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after;
        let mut res = (status, axum::Json(self)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
