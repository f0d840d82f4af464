//! Agencies: each receiving agency's endpoint health, last success, failure rate and queue, and
//! pause and resume of its deliveries (`operator::pause_agency`, a row that survives restarts).

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::DashState;
use super::page::{Nav, PageError, render, when};
use super::session::Session;
use crate::operator;
use crate::store::{self, agencies::RECENT_WINDOW};

pub struct Row {
    pub id: String,
    pub name: String,
    pub role: String,
    pub adapter: &'static str,
    pub has_sink: bool,
    /// `up`, `down`, `per request` (webhook) or `–` (no sink).
    pub endpoint: &'static str,
    /// Who paused it, when and why.
    pub paused: Option<String>,
    pub last_success: String,
    pub failure_rate: String,
    pub pending: i64,
    pub retrying: i64,
}

#[derive(Template)]
#[template(path = "dashboard/agencies.html")]
struct ListPage {
    nav: Option<Nav>,
    rows: Vec<Row>,
    window: i64,
    may_act: bool,
    csrf: String,
    result: Option<&'static str>,
}

#[derive(serde::Deserialize)]
pub struct Outcome {
    result: Option<String>,
}

pub async fn list(
    State(state): State<DashState>,
    session: Session,
    Query(outcome): Query<Outcome>,
) -> Result<Response, PageError> {
    let config = state.config();
    let links = state.0.links.all();
    let mut conn = state.store().acquire().await?;
    let pauses = store::agencies::pauses(&mut conn).await?;
    let counts = store::overview::by_agency_and_status(&mut conn).await?;
    let mut rows = Vec::new();
    for a in config.agencies.values() {
        let id = a.id.as_str();
        let health = store::agencies::queue_health(&mut conn, id).await?;
        let link = links.iter().find(|l| l.direction == "sink" && l.name == id);
        rows.push(Row {
            id: id.to_owned(),
            name: a.name.clone(),
            role: a.role.clone(),
            adapter: a.sink.as_ref().map_or("none", |s| s.adapter()),
            has_sink: a.sink.is_some(),
            endpoint: match (&a.sink, link) {
                (None, _) => "–",
                (Some(_), Some(l)) if l.connected() => "up",
                (Some(_), Some(_)) => "down",
                (Some(_), None) => "per request",
            },
            paused: pauses.iter().find(|p| p.agency == id).map(|p| {
                format!(
                    "since {} UTC by {}: {}",
                    when(p.paused_at),
                    p.paused_by,
                    p.reason
                )
            }),
            last_success: health.last_success.map(when).unwrap_or_default(),
            failure_rate: if health.attempts == 0 {
                "–".into()
            } else {
                format!(
                    "{:.1}% of {}",
                    100.0 * health.failed_attempts as f64 / health.attempts as f64,
                    health.attempts
                )
            },
            pending: counts
                .iter()
                .filter(|c| c.agency == id && c.status == store::deliveries::PENDING)
                .map(|c| c.n)
                .sum(),
            retrying: health.retrying,
        });
    }
    Ok(render(&ListPage {
        nav: Some(Nav::new(&session, "agencies")),
        rows,
        window: RECENT_WINDOW,
        may_act: session.role.may_act(),
        csrf: session.csrf.clone(),
        result: match outcome.result.as_deref() {
            Some("paused") => Some("Paused: nothing is sent to the agency until it is resumed."),
            Some("resumed") => Some("Resumed: the agency's queue is being delivered again."),
            _ => None,
        },
    }))
}

/// The configured agency with a sink named `id`.
fn agency<'a>(
    state: &'a DashState,
    id: &str,
) -> Result<&'a throughline_contracts::AgencyId, PageError> {
    state
        .config()
        .agencies
        .values()
        .find(|a| a.id.as_str() == id && a.sink.is_some())
        .map(|a| &a.id)
        .ok_or(PageError::NotFound("no agency with a sink by that id"))
}

#[derive(serde::Deserialize)]
pub struct PauseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

pub async fn pause(
    State(state): State<DashState>,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<PauseForm>,
) -> Result<Response, PageError> {
    session.check_post(&headers, &form.csrf)?;
    session.require_action()?;
    let agency = agency(&state, &id)?;
    let reason = form.reason.trim();
    if reason.is_empty() {
        return Err(PageError::BadRequest("say why deliveries are paused"));
    }
    operator::pause_agency(state.store(), &session.username, agency.as_str(), reason).await?;
    Ok(Redirect::to("/dashboard/agencies?result=paused").into_response())
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn resume(
    State(state): State<DashState>,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    session.check_post(&headers, &form.csrf)?;
    session.require_action()?;
    let agency = agency(&state, &id)?.clone();
    operator::resume_agency(state.store(), &session.username, agency.as_str()).await?;
    state.0.pipeline.wake_agencies([agency].into());
    Ok(Redirect::to("/dashboard/agencies?result=resumed").into_response())
}
