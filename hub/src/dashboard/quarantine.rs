//! Quarantine: every rejected input, with the step and the reasons. An operator replays one
//! (after the configuration or the sender was fixed) or discards it with a reason. The raw
//! input holds child data: masked unless the role may see it, and an admin's viewing is
//! audited (`operator::show`, the same as the CLI's `quarantine show`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use throughline_contracts::adapter::InputOutcome;
use uuid::Uuid;

use super::DashState;
use super::action::{Action, Outcome, ReasonForm, Reveal, done};
use super::masking;
use super::page::{Nav, PageError, render, when};
use super::session::Session;
use crate::operator;
use crate::store::{self, quarantine::QuarantineItem};

/// Items listed on one page, newest first.
const LIST_LIMIT: i64 = 200;
const STATUSES: [&str; 3] = ["held", "replayed", "discarded"];

pub struct Row {
    pub id: String,
    pub received: String,
    pub source_id: String,
    pub step: String,
    pub fields: String,
}

#[derive(Template)]
#[template(path = "dashboard/quarantine.html")]
struct ListPage {
    nav: Option<Nav>,
    status: &'static str,
    statuses: [&'static str; 3],
    rows: Vec<Row>,
    limit: i64,
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    status: Option<String>,
}

pub async fn list(
    State(state): State<DashState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let status = STATUSES
        .into_iter()
        .find(|s| Some(*s) == q.status.as_deref())
        .unwrap_or("held");
    let mut conn = state.store().acquire().await?;
    let items = store::quarantine::list(&mut conn, Some(status), LIST_LIMIT).await?;
    Ok(render(&ListPage {
        nav: Some(Nav::new(&session, "quarantine")),
        status,
        statuses: STATUSES,
        rows: items
            .into_iter()
            .map(|q| Row {
                received: when(q.received_at),
                fields: q
                    .problems
                    .iter()
                    .map(|p| {
                        if p.field.is_empty() {
                            "(input)"
                        } else {
                            p.field.as_str()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                source_id: q.source_id,
                step: q.step,
                id: q.id,
            })
            .collect(),
        limit: LIST_LIMIT,
    }))
}

pub struct Problem {
    pub field: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "dashboard/quarantine_item.html")]
struct ItemPage {
    nav: Option<Nav>,
    id: String,
    status: String,
    received: String,
    source_id: String,
    format: String,
    step: String,
    problems: Vec<Problem>,
    replayed_event_ids: String,
    size: usize,
    raw: String,
    revealed: bool,
    held: bool,
    replayable: bool,
    may_act: bool,
    may_reveal: bool,
    csrf: String,
    result: Option<&'static str>,
}

fn item_page(
    session: &Session,
    item: QuarantineItem,
    revealed: bool,
    result: Option<&'static str>,
) -> Response {
    let s = item.summary;
    let raw = if revealed {
        masking::unmasked(&item.raw.body)
    } else {
        masking::mask(&item.raw.body, &item.format)
    };
    render(&ItemPage {
        nav: Some(Nav::new(session, "quarantine")),
        held: s.status == "held",
        replayable: item.format != crate::import::CTF_PUPIL_FORMAT,
        id: s.id,
        status: s.status,
        received: when(s.received_at),
        source_id: s.source_id,
        step: s.step,
        problems: s
            .problems
            .into_iter()
            .map(|p| Problem {
                field: if p.field.is_empty() {
                    "(input)".into()
                } else {
                    p.field
                },
                reason: p.reason,
            })
            .collect(),
        replayed_event_ids: item.replayed_event_ids.unwrap_or_default(),
        size: item.raw.body.len(),
        format: item.format,
        raw,
        revealed,
        may_act: session.role.may_act(),
        may_reveal: session.role.sees_child_data() && !revealed,
        csrf: session.csrf.clone(),
        result,
    })
}

fn parse_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError::NotFound("no such quarantine item"))
}

/// The notices for the `?result=` codes the actions below redirect with.
const RESULTS: [(&str, &str); 3] = [
    (
        "replayed",
        "Replayed: the input passed every step and its events were committed.",
    ),
    (
        "still-rejected",
        "Replayed, and rejected again: the reasons below are the new ones.",
    ),
    (
        "discarded",
        "Discarded: the input is kept, marked, and the discard audited.",
    ),
];

pub async fn show(
    State(state): State<DashState>,
    session: Session,
    Path(id): Path<String>,
    Query(outcome): Query<Outcome>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let mut conn = state.store().acquire().await?;
    let item = store::quarantine::get(&mut conn, id)
        .await?
        .ok_or(PageError::NotFound("no such quarantine item"))?;
    Ok(item_page(&session, item, false, outcome.notice(&RESULTS)))
}

/// Shows the raw input unmasked to an admin; the viewing is audited.
pub async fn reveal(State(state): State<DashState>, post: Reveal) -> Result<Response, PageError> {
    let item = operator::show(state.store(), &post.session.username, parse_id(&post.id)?).await?;
    Ok(item_page(&post.session, item, true, None))
}

pub async fn replay(State(state): State<DashState>, act: Action) -> Result<Response, PageError> {
    let id = parse_id(&act.id)?;
    {
        let mut conn = state.store().acquire().await?;
        let item = store::quarantine::get(&mut conn, id)
            .await?
            .ok_or(PageError::NotFound("no such quarantine item"))?;
        if item.format == crate::import::CTF_PUPIL_FORMAT {
            return Err(PageError::BadRequest(
                "a CTF pupil cannot be replayed: the school corrects its record and sends a new file; discard this item once that is imported",
            ));
        }
    }
    let config = std::sync::Arc::new(state.config().clone());
    let result = match operator::replay(config, state.store(), &act.session.username, id).await? {
        InputOutcome::Committed { .. } => "replayed",
        InputOutcome::Quarantined { .. } => "still-rejected",
        InputOutcome::Unavailable { .. } => return Err(PageError::Unavailable),
    };
    Ok(done(&format!("/dashboard/quarantine/{id}"), result))
}

pub async fn discard(
    State(state): State<DashState>,
    act: Action<ReasonForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&act.id)?;
    let reason = act.form.reason("say why the input is discarded")?;
    operator::discard(state.store(), &act.session.username, id, reason).await?;
    Ok(done(&format!("/dashboard/quarantine/{id}"), "discarded"))
}
