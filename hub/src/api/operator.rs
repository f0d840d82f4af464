//! Read-only endpoints for operators' own tools: `GET /v1/deliveries`, `GET /v1/quarantine`,
//! `GET /v1/quarantine/{id}` and `GET /v1/agencies`, the same facts as the dashboard's pages.
//!
//! They show every agency's traffic, so a source's key never opens them: only
//! `api.operator_api_key` does (hashed like a source's key; unset, the endpoints answer 403).
//! Nothing here is child data: a delivery is its ids, status and last error; a quarantined
//! input is shown with every value masked as the dashboard masks it for a role that may not see
//! child data (the unmasked input, whose viewing is audited, stays with the CLI and the
//! dashboard's admins).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::Any;
use sqlx::pool::PoolConnection;
use uuid::Uuid;

use super::AppState;
use super::ingest::api_key;
use super::problem::Problem;
use crate::dashboard::masking;
use crate::store::{self, deliveries::DeliverySummary, quarantine::QuarantineSummary};

/// The operator key, and nothing else.
#[allow(clippy::result_large_err)]
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<(), Problem> {
    let config = state.pipeline.config();
    if config.operator_key_sha256.is_none() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "operator-api-off",
            "Operator endpoints are off",
            "this hub has no api.operator_api_key, so its operator endpoints are off",
        ));
    }
    let unauthorised = || {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorised",
            "Missing or unknown API key",
            "send the hub's operator key (api.operator_api_key) as `Authorization: Bearer <key>`",
        )
    };
    let key = api_key(headers).ok_or_else(unauthorised)?;
    if config.is_operator_key(key) {
        return Ok(());
    }
    if config.source_for_key(key).is_some() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "operator-only",
            "A source's key cannot open operator endpoints",
            "these endpoints show every agency's traffic: send the hub's operator key",
        ));
    }
    Err(unauthorised())
}

fn unavailable() -> Problem {
    Problem::unavailable("the hub's store is unavailable; retry later")
}

/// A connection for an endpoint's reads; a store that does not answer is the client's 503.
async fn connection(state: &AppState) -> Result<PoolConnection<Any>, Problem> {
    state
        .pipeline
        .store()
        .acquire()
        .await
        .map_err(|_| unavailable())
}

/// The cursor of the page after a full one (`rows` as long as `limit`), made from its last
/// row; none after a shorter page, which is the last.
fn next_cursor<T>(rows: &[T], limit: i64, cursor: impl FnOnce(&T) -> String) -> Option<String> {
    (rows.len() as i64 == limit)
        .then(|| rows.last().map(cursor))
        .flatten()
}

fn invalid_cursor() -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-cursor",
        "Cursor rejected",
        "`cursor` must be the `next_cursor` of a previous page, unchanged",
    )
}

const DEFAULT_LIMIT: u16 = 100;

/// A delivery's status (`discarded`: a dead letter an operator set aside).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Dead,
    Discarded,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => store::deliveries::PENDING,
            Self::Delivered => store::deliveries::DELIVERED,
            Self::Dead => store::deliveries::DEAD,
            Self::Discarded => store::deliveries::DISCARDED,
        }
    }
}

/// The query of `GET /v1/deliveries`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// Only deliveries in this status.
    status: Option<DeliveryStatus>,
    /// Only deliveries to this agency (its id).
    agency: Option<String>,
    /// Deliveries per page, newest first (default 100).
    #[schemars(range(min = 1, max = 1000))]
    limit: Option<u16>,
    /// The previous page's `next_cursor`, for the page after it.
    #[schemars(pattern(r"^[0-9]{1,18}$"))]
    cursor: Option<String>,
}

/// One page of deliveries, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeliveryPage {
    deliveries: Vec<DeliverySummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// The page size asked for, or a problem naming the bound.
#[allow(clippy::result_large_err)]
fn limit(limit: Option<u16>) -> Result<i64, Problem> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=1000 => Ok(i64::from(n)),
        _ => {
            let mut p = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-query",
                "Query rejected",
                "the query string does not match this endpoint's parameters",
            );
            p.errors = vec![throughline_contracts::event::FieldProblem::new(
                "limit",
                "must be from 1 to 1000",
            )];
            Err(p)
        }
    }
}

/// A deliveries cursor: the last delivery's place in the queues (`seq`).
#[allow(clippy::result_large_err)]
fn parse_delivery_cursor(cursor: &str) -> Result<i64, Problem> {
    cursor.parse().map_err(|_| invalid_cursor())
}

pub async fn deliveries(
    State(state): State<AppState>,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Json<DeliveryPage>, Problem> {
    authenticate(&state, &headers)?;
    let Query(q) = query.map_err(Problem::invalid_query)?;
    let limit = limit(q.limit)?;
    let before_seq = q.cursor.as_deref().map(parse_delivery_cursor).transpose()?;
    let mut conn = connection(&state).await?;
    let rows = store::deliveries::page(
        &mut conn,
        &store::deliveries::PageQuery {
            status: q.status.map(DeliveryStatus::as_str),
            agency: q.agency.as_deref(),
            before_seq,
            limit,
        },
    )
    .await
    .map_err(|_| unavailable())?;
    let next_cursor = next_cursor(&rows, limit, |(seq, _)| seq.to_string());
    Ok(Json(DeliveryPage {
        deliveries: rows.into_iter().map(|(_, d)| d).collect(),
        next_cursor,
    }))
}

/// A quarantined input's status.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineStatus {
    Held,
    Replayed,
    Discarded,
}

impl QuarantineStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Replayed => "replayed",
            Self::Discarded => "discarded",
        }
    }
}

/// The query of `GET /v1/quarantine`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantineQuery {
    /// Only inputs in this status.
    status: Option<QuarantineStatus>,
    /// Only inputs from this source (its id).
    source: Option<String>,
    /// Inputs per page, newest first (default 100).
    #[schemars(range(min = 1, max = 1000))]
    limit: Option<u16>,
    /// The previous page's `next_cursor`, for the page after it.
    #[schemars(pattern(
        r"^[0-9]{1,15}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ))]
    cursor: Option<String>,
}

/// One page of quarantined inputs, newest first: the step and reasons, never the input.
#[derive(Debug, Serialize, JsonSchema)]
pub struct QuarantinePage {
    quarantine: Vec<QuarantineSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// A quarantine cursor: the last item's `received_at` (ms since the epoch) and id.
#[allow(clippy::result_large_err)]
fn parse_quarantine_cursor(cursor: &str) -> Result<(DateTime<Utc>, &str), Problem> {
    let (ms, id) = cursor.split_once('_').ok_or_else(invalid_cursor)?;
    let at = ms
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(invalid_cursor)?;
    Uuid::parse_str(id).map_err(|_| invalid_cursor())?;
    Ok((at, id))
}

pub async fn quarantine(
    State(state): State<AppState>,
    query: Result<Query<QuarantineQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Json<QuarantinePage>, Problem> {
    authenticate(&state, &headers)?;
    let Query(q) = query.map_err(Problem::invalid_query)?;
    let limit = limit(q.limit)?;
    let after = q
        .cursor
        .as_deref()
        .map(parse_quarantine_cursor)
        .transpose()?;
    let mut conn = connection(&state).await?;
    let items = store::quarantine::page(
        &mut conn,
        &store::quarantine::PageQuery {
            status: q.status.map(QuarantineStatus::as_str),
            source_id: q.source.as_deref(),
            after,
            limit,
        },
    )
    .await
    .map_err(|_| unavailable())?;
    let next_cursor = next_cursor(&items, limit, |i| {
        format!("{}_{}", i.received_at.timestamp_millis(), i.id)
    });
    Ok(Json(QuarantinePage {
        quarantine: items,
        next_cursor,
    }))
}

/// One quarantined input, its values masked.
#[derive(Debug, Serialize, JsonSchema)]
pub struct QuarantineView {
    #[serde(flatten)]
    summary: QuarantineSummary,
    /// The source's native format the input was read as.
    format: String,
    /// The `Content-Type` it was sent with, if any.
    content_type: Option<String>,
    /// The input's size in bytes.
    size_bytes: usize,
    /// The input with every value that could be child data replaced by `•••` (JSON: its
    /// structure and message fields kept; CSV: its header row kept; other formats withheld).
    raw_masked: String,
    /// The events a successful replay committed.
    replayed_event_ids: Vec<String>,
}

fn quarantine_not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "No such quarantine item",
        "no quarantined input has this id",
    )
}

pub async fn quarantine_item(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<QuarantineView>, Problem> {
    authenticate(&state, &headers)?;
    let id = Uuid::parse_str(&id).map_err(|_| quarantine_not_found())?;
    let mut conn = connection(&state).await?;
    let item = store::quarantine::get(&mut conn, id)
        .await
        .map_err(|_| unavailable())?
        .ok_or_else(quarantine_not_found)?;
    Ok(Json(QuarantineView {
        raw_masked: masking::mask(&item.raw.body, &item.format),
        size_bytes: item.raw.body.len(),
        content_type: item.raw.content_type,
        replayed_event_ids: item
            .replayed_event_ids
            .map(|ids| {
                ids.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        format: item.format,
        summary: item.summary,
    }))
}

/// Whether an agency's sink is connected.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// A broker link (AMQP, Kafka, MESH...) that is connected.
    Up,
    /// A broker link that is not connected: deliveries wait.
    Down,
    /// A sink with no standing link (a webhook, FHIR): each delivery is its own request.
    PerRequest,
    /// No sink: the agency only sends.
    None,
}

/// Who paused an agency's deliveries, when and why.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PauseView {
    since: DateTime<Utc>,
    by: String,
    reason: String,
}

/// One agency as an operator sees it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AgencyView {
    id: String,
    name: String,
    role: String,
    /// Its sink's adapter (`webhook`, `amqp`, ...), or none if it only sends.
    sink: Option<&'static str>,
    link: LinkStatus,
    /// Set while its deliveries are paused.
    paused: Option<PauseView>,
    /// Deliveries waiting to be sent to it.
    backlog: i64,
    /// Of those, how many failed at least once and wait for a retry.
    retrying: i64,
    /// Dead letters: deliveries that failed for good, waiting for an operator.
    dead: i64,
    /// When its most recent delivery succeeded.
    last_success: Option<DateTime<Utc>>,
}

/// Every configured agency.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AgencyList {
    agencies: Vec<AgencyView>,
}

pub async fn agencies(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<AgencyList>, Problem> {
    authenticate(&state, &headers)?;
    let config = state.pipeline.config();
    let links = state.links.all();
    let mut conn = connection(&state).await?;
    let views = async {
        let pauses = store::agencies::pauses(&mut conn).await?;
        let counts = store::overview::by_agency_and_status(&mut conn).await?;
        let mut views = Vec::new();
        for a in config.agencies.values() {
            let id = a.id.as_str();
            let health = store::agencies::queue_health(&mut conn, id).await?;
            let link = links.iter().find(|l| l.direction == "sink" && l.name == id);
            let count = |status: &str| -> i64 {
                counts
                    .iter()
                    .filter(|c| c.agency == id && c.status == status)
                    .map(|c| c.n)
                    .sum()
            };
            views.push(AgencyView {
                id: id.to_owned(),
                name: a.name.clone(),
                role: a.role.clone(),
                sink: a.sink.as_ref().map(|s| s.adapter()),
                link: match (&a.sink, link) {
                    (None, _) => LinkStatus::None,
                    (Some(_), Some(l)) if l.connected() => LinkStatus::Up,
                    (Some(_), Some(_)) => LinkStatus::Down,
                    (Some(_), None) => LinkStatus::PerRequest,
                },
                paused: pauses.iter().find(|p| p.agency == id).map(|p| PauseView {
                    since: p.paused_at,
                    by: p.paused_by.clone(),
                    reason: p.reason.clone(),
                }),
                backlog: count(store::deliveries::PENDING),
                retrying: health.retrying,
                dead: count(store::deliveries::DEAD),
                last_success: health.last_success,
            });
        }
        Ok::<_, store::StoreError>(views)
    }
    .await
    .map_err(|_| unavailable())?;
    Ok(Json(AgencyList { agencies: views }))
}
