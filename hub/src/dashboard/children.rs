//! A child's timeline, in the hub's own view: every event about the child (masked), every
//! delivery of those events, every handoff and the schemes of the identifiers linked to the
//! child. The handoffs and identity review pages link here. An admin may press "Show child
//! data (audited)", which writes `child.shown` before the values are rendered.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use uuid::Uuid;

use super::DashState;
use super::action::Reveal;
use super::masking::{self, MASK};
use super::page::{Nav, PageError, render, when};
use super::session::Session;
use crate::operator;
use crate::store;

pub struct EventRow {
    pub id: String,
    pub kind: String,
    pub source_agency: String,
    pub occurred: String,
    pub received: String,
    pub body: String,
}

pub struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    pub agency: String,
    pub status: String,
    pub attempts: i64,
    pub created: String,
}

pub struct HandoffRow {
    pub kind: String,
    pub from_agency: String,
    pub to_agency: String,
    pub state: String,
    pub made: String,
    pub due: String,
}

#[derive(Template)]
#[template(path = "dashboard/child.html")]
struct ChildPage {
    nav: Option<Nav>,
    id: String,
    identifiers: Vec<(String, String)>,
    events: Vec<EventRow>,
    deliveries: Vec<DeliveryRow>,
    handoffs: Vec<HandoffRow>,
    limit: i64,
    revealed: bool,
    may_reveal: bool,
    csrf: String,
}

async fn child_page(
    state: &DashState,
    session: &Session,
    id: Uuid,
    revealed: bool,
) -> Result<Response, PageError> {
    let mut conn = state.store().acquire().await?;
    if !store::timeline::exists(&mut conn, id).await? {
        return Err(PageError::NotFound("no such child"));
    }
    let mut identifiers = store::identity::identifiers_of(&mut conn, id).await?;
    identifiers.sort();
    let events = store::timeline::events(&mut conn, id).await?;
    let deliveries = store::timeline::deliveries(&mut conn, id).await?;
    let handoffs = store::handoffs::for_child(&mut conn, id).await?;
    Ok(render(&ChildPage {
        nav: Some(Nav::new(session, "handoffs")),
        id: id.to_string(),
        identifiers: identifiers
            .into_iter()
            .map(|(s, v)| (s, if revealed { v } else { MASK.to_owned() }))
            .collect(),
        events: events
            .into_iter()
            .map(|e| EventRow {
                body: if revealed {
                    masking::unmasked(e.body.as_bytes())
                } else {
                    masking::mask(e.body.as_bytes(), "canonical-json")
                },
                id: e.id,
                kind: e.kind,
                source_agency: e.source_agency,
                occurred: when(e.occurred_at),
                received: when(e.received_at),
            })
            .collect(),
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryRow {
                id: d.id,
                event_id: d.event_id,
                agency: d.agency,
                status: d.status,
                attempts: d.attempts,
                created: when(d.created_at),
            })
            .collect(),
        handoffs: handoffs
            .into_iter()
            .map(|h| HandoffRow {
                kind: h.kind,
                from_agency: h.from_agency,
                to_agency: h.to_agency,
                state: h.state,
                made: when(h.made_at),
                due: h.due_at.map(when).unwrap_or_else(|| "–".into()),
            })
            .collect(),
        limit: store::timeline::LIMIT,
        revealed,
        may_reveal: session.role.sees_child_data() && !revealed,
        csrf: session.csrf.clone(),
    }))
}

fn parse_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError::NotFound("no such child"))
}

pub async fn show(
    State(state): State<DashState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    child_page(&state, &session, parse_id(&id)?, false).await
}

/// The timeline unmasked, for an admin; the viewing is audited first.
pub async fn reveal(State(state): State<DashState>, post: Reveal) -> Result<Response, PageError> {
    let id = parse_id(&post.id)?;
    {
        let mut conn = state.store().acquire().await?;
        if !store::timeline::exists(&mut conn, id).await? {
            return Err(PageError::NotFound("no such child"));
        }
        store::audit::append(
            &mut conn,
            &operator::entry(
                &post.session.username,
                "child.shown",
                format!("timeline of child {id} shown unmasked"),
            ),
        )
        .await?;
    }
    child_page(&state, &post.session, id, true).await
}
