//! Dead letters: deliveries that failed for good, with their last error. An operator requeues
//! one (same idempotency key) once the receiver is fixed, or discards it with a reason; its
//! page then follows the delivery live. The notification holds child data: masked unless the
//! role may see it, and an admin's viewing is audited.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use uuid::Uuid;

use super::DashState;
use super::action::{Action, Outcome, ReasonForm, Reveal, done};
use super::live::{DeliveryLive, delivery_live};
use super::masking;
use super::page::{Nav, PageError, render, when};
use super::session::Session;
use crate::operator;
use crate::store::{self, audit::AuditEntry, deliveries};

/// Dead letters listed on one page, newest first.
const LIST_LIMIT: i64 = 200;

pub struct DeadRow {
    pub id: String,
    pub created: String,
    pub agency: String,
    pub event_id: String,
    pub attempts: i64,
    pub last_error: String,
}

#[derive(Template)]
#[template(path = "dashboard/dead_letters.html")]
struct ListPage {
    nav: Option<Nav>,
    rows: Vec<DeadRow>,
    limit: i64,
}

pub async fn list(State(state): State<DashState>, session: Session) -> Result<Response, PageError> {
    let mut conn = state.store().acquire().await?;
    let rows = deliveries::dead_letters(&mut conn, LIST_LIMIT).await?;
    Ok(render(&ListPage {
        nav: Some(Nav::new(&session, "dead-letters")),
        rows: rows
            .into_iter()
            .map(|d| DeadRow {
                created: when(d.created_at),
                agency: d.agency,
                event_id: d.event_id,
                attempts: d.attempts,
                last_error: d.last_error.unwrap_or_default(),
                id: d.id,
            })
            .collect(),
        limit: LIST_LIMIT,
    }))
}

#[derive(Template)]
#[template(path = "dashboard/delivery.html")]
struct DeliveryPage {
    nav: Option<Nav>,
    id: String,
    event_id: String,
    agency: String,
    created: String,
    live: String,
    dead: bool,
    body: String,
    revealed: bool,
    may_act: bool,
    may_reveal: bool,
    csrf: String,
    result: Option<&'static str>,
}

/// The notices for the `?result=` codes the actions below redirect with.
const RESULTS: [(&str, &str); 2] = [
    (
        "requeued",
        "Requeued: the delivery is back in its agency's queue, with the same idempotency key.",
    ),
    (
        "discarded",
        "Discarded: the delivery is kept, will not be sent, and the discard is audited.",
    ),
];

async fn page(
    state: &DashState,
    session: &Session,
    id: Uuid,
    revealed: bool,
    result: Option<&'static str>,
) -> Result<Response, PageError> {
    let (d, body) = {
        let mut conn = state.store().acquire().await?;
        deliveries::detail(&mut conn, id)
            .await?
            .ok_or(PageError::NotFound("no such delivery"))?
    };
    let live: DeliveryLive = delivery_live(state, id)
        .await?
        .ok_or(PageError::NotFound("no such delivery"))?;
    let body = if revealed {
        masking::unmasked(body.as_bytes())
    } else {
        masking::mask(body.as_bytes(), "notification-json")
    };
    Ok(render(&DeliveryPage {
        nav: Some(Nav::new(session, "dead-letters")),
        dead: d.status == deliveries::DEAD,
        id: d.id,
        event_id: d.event_id,
        agency: d.agency,
        created: when(d.created_at),
        live: live.render().map_err(|_| PageError::Internal)?,
        body,
        revealed,
        may_act: session.role.may_act(),
        may_reveal: session.role.sees_child_data() && !revealed,
        csrf: session.csrf.clone(),
        result,
    }))
}

fn parse_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError::NotFound("no such delivery"))
}

pub async fn show(
    State(state): State<DashState>,
    session: Session,
    Path(id): Path<String>,
    Query(outcome): Query<Outcome>,
) -> Result<Response, PageError> {
    page(
        &state,
        &session,
        parse_id(&id)?,
        false,
        outcome.notice(&RESULTS),
    )
    .await
}

/// Shows the notification unmasked to an admin; the viewing is audited first.
pub async fn reveal(State(state): State<DashState>, post: Reveal) -> Result<Response, PageError> {
    let session = post.session;
    let id = parse_id(&post.id)?;
    let mut conn = state.store().acquire().await?;
    let (d, _) = deliveries::detail(&mut conn, id)
        .await?
        .ok_or(PageError::NotFound("no such delivery"))?;
    store::audit::append(
        &mut conn,
        &AuditEntry {
            event_id: Uuid::parse_str(&d.event_id).ok(),
            agency: Some(d.agency),
            ..operator::entry(
                &session.username,
                "delivery.shown",
                format!("notification {id} shown unmasked on the dashboard"),
            )
        },
    )
    .await?;
    drop(conn);
    page(&state, &session, id, true, None).await
}

pub async fn requeue(State(state): State<DashState>, act: Action) -> Result<Response, PageError> {
    let id = parse_id(&act.id)?;
    let agency = operator::retry_dead_letter(state.store(), &act.session.username, id).await?;
    // Wake the agency's worker now rather than at its next poll.
    if let Some(agency) = state
        .config()
        .agencies
        .keys()
        .find(|a| a.as_str() == agency)
    {
        state.0.pipeline.wake_agencies([agency.clone()].into());
    }
    Ok(done(&format!("/dashboard/deliveries/{id}"), "requeued"))
}

pub async fn discard(
    State(state): State<DashState>,
    act: Action<ReasonForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&act.id)?;
    let reason = act.form.reason("say why the delivery is discarded")?;
    operator::discard_dead_letter(state.store(), &act.session.username, id, reason).await?;
    Ok(done(&format!("/dashboard/deliveries/{id}"), "discarded"))
}
