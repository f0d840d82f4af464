//! Alerts: the problems open now and those resolved lately, each with how often it happened.
//! The same alerts operators hear about on their channels (`crate::alerting`); read-only, since
//! an alert resolves when its problem does, not when someone clicks.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::DashState;
use super::page::{Nav, PageError, render, when};
use super::session::Session;
use crate::store::{self, alerts::Alert};

/// Resolved alerts shown below the open ones.
const RECENTLY_RESOLVED: i64 = 50;

pub struct Row {
    pub kind: String,
    pub agency: String,
    pub detail: String,
    pub occurrences: i64,
    pub first: String,
    pub last: String,
    pub resolved: String,
}

impl From<Alert> for Row {
    fn from(a: Alert) -> Self {
        Self {
            kind: a.kind,
            agency: a.agency.unwrap_or_default(),
            detail: a.detail,
            occurrences: a.occurrences,
            first: when(a.first_at),
            last: when(a.last_at),
            resolved: a.resolved_at.map(when).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/alerts.html")]
struct ListPage {
    nav: Option<Nav>,
    open: Vec<Row>,
    resolved: Vec<Row>,
    limit: i64,
    unsent: i64,
}

pub async fn list(State(state): State<DashState>, session: Session) -> Result<Response, PageError> {
    let mut conn = state.store().acquire().await?;
    let open = store::alerts::open(&mut conn).await?;
    let resolved = store::alerts::recently_resolved(&mut conn, RECENTLY_RESOLVED).await?;
    let unsent = store::alert_notices::unsent_count(&mut conn).await?;
    Ok(render(&ListPage {
        nav: Some(Nav::new(&session, "alerts")),
        open: open.into_iter().map(Row::from).collect(),
        resolved: resolved.into_iter().map(Row::from).collect(),
        limit: RECENTLY_RESOLVED,
        unsent,
    }))
}
