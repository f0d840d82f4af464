//! Agencies: each receiving agency's endpoint health, last success, failure rate and queue, and
//! pause and resume of its deliveries (`operator::pause_agency`, a row that survives restarts).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use super::DashState;
use super::action::{Action, Outcome, ReasonForm, done};
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

/// The notices for the `?result=` codes the actions below redirect with.
const RESULTS: [(&str, &str); 2] = [
    (
        "paused",
        "Paused: nothing is sent to the agency until it is resumed.",
    ),
    (
        "resumed",
        "Resumed: the agency's queue is being delivered again.",
    ),
];

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
        result: outcome.notice(&RESULTS),
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

pub async fn pause(
    State(state): State<DashState>,
    act: Action<ReasonForm>,
) -> Result<Response, PageError> {
    let agency = agency(&state, &act.id)?;
    let reason = act.form.reason("say why deliveries are paused")?;
    operator::pause_agency(
        state.store(),
        &act.session.username,
        agency.as_str(),
        reason,
    )
    .await?;
    Ok(done("/dashboard/agencies", "paused"))
}

pub async fn resume(State(state): State<DashState>, act: Action) -> Result<Response, PageError> {
    let agency = agency(&state, &act.id)?.clone();
    operator::resume_agency(state.store(), &act.session.username, agency.as_str()).await?;
    state.0.pipeline.wake_agencies([agency].into());
    Ok(done("/dashboard/agencies", "resumed"))
}
