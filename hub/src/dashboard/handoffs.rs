//! Handoffs needing attention: open referrals, transfers and notices whose deadline falls
//! before the end of the next working day (approaching), has passed (breached), or that were
//! escalated. Each links to its child's timeline. Read-only: a handoff is answered by the
//! receiving agency, not by an operator.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::DashState;
use super::page::{Nav, PageError, age, render, when};
use super::session::Session;
use crate::store;

/// Handoffs listed at most.
const LIST_LIMIT: i64 = 500;

pub struct Row {
    pub id: String,
    pub kind: String,
    pub child_id: String,
    pub from_agency: String,
    pub to_agency: String,
    pub state: String,
    pub made: String,
    pub due: String,
    /// `breached`, `approaching` or `escalated` (an escalated handoff may also be breached).
    pub status: &'static str,
    /// How far past or before its deadline, in words.
    pub margin: String,
    pub escalated: String,
}

#[derive(Template)]
#[template(path = "dashboard/handoffs.html")]
struct ListPage {
    nav: Option<Nav>,
    rows: Vec<Row>,
    due_before: String,
    limit: i64,
}

pub async fn list(State(state): State<DashState>, session: Session) -> Result<Response, PageError> {
    let now = chrono::Utc::now();
    let calendar = &state.config().handoffs.calendar;
    let next = calendar.add_working_days(throughline_calendar::london::civil_date(now), 1);
    let due_before = throughline_calendar::london::end_of_day(next);
    let mut conn = state.store().acquire().await?;
    let handoffs = store::handoffs::needing_attention(&mut conn, due_before, LIST_LIMIT).await?;
    Ok(render(&ListPage {
        nav: Some(Nav::new(&session, "handoffs")),
        rows: handoffs
            .into_iter()
            .map(|h| Row {
                status: match h.due_at {
                    Some(d) if d < now => "breached",
                    Some(d) if d < due_before => "approaching",
                    _ => "escalated",
                },
                margin: match h.due_at {
                    Some(d) if d < now => format!("{} overdue", age(d, now)),
                    Some(d) => format!("due in {}", age(now, d)),
                    None => "clock paused".into(),
                },
                due: h.due_at.map(when).unwrap_or_else(|| "–".into()),
                escalated: match h.escalated_at {
                    Some(t) if h.escalation_step > 0 => {
                        format!("step {} at {}", h.escalation_step, when(t))
                    }
                    _ if h.escalation_step > 0 => format!("step {}", h.escalation_step),
                    _ => "–".into(),
                },
                id: h.id.to_string(),
                kind: h.kind,
                child_id: h.child_id.to_string(),
                from_agency: h.from_agency,
                to_agency: h.to_agency,
                state: h.state,
                made: when(h.made_at),
            })
            .collect(),
        due_before: when(due_before),
        limit: LIST_LIMIT,
    }))
}
