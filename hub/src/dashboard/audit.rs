//! The audit log: every routing decision, disclosure and operator action, newest first,
//! filtered by child, agency and time range (UTC), a page at a time
//! (`store::audit_search`: index-only reads at any size). Read-only for every role: the log
//! itself refuses updates and deletes. Entries name agencies, agreements, field paths and ids,
//! never child data, so no role needs masking here.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::DashState;
use super::page::{Nav, PageError, render, when};
use super::session::Session;
use crate::store::{self, audit_search::AuditFilter};

/// Entries on one page.
const PAGE_SIZE: i64 = 100;
/// The form's `datetime-local` inputs.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M";

pub struct Row {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub agency: String,
    pub event_id: String,
    pub sharing_agreement: String,
    pub fields: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "dashboard/audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    child: String,
    agency: String,
    from: String,
    until: String,
    agencies: Vec<String>,
    rows: Vec<Row>,
    /// The query string of the next (older) page, if any.
    older: Option<String>,
    /// The query string of the first page with the same filter.
    newest: Option<String>,
    size: i64,
}

#[derive(serde::Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    child: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    before: Option<i64>,
}

fn time(s: &str, problem: &'static str) -> Result<Option<DateTime<Utc>>, PageError> {
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDateTime::parse_from_str(s, TIME_FORMAT)
        .map(|t| Some(t.and_utc()))
        .map_err(|_| PageError::BadRequest(problem))
}

/// Percent-encodes a query value (ids, agency slugs and `datetime-local` values).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn list(
    State(state): State<DashState>,
    session: Session,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let (child, agency, from, until) = (
        q.child.trim(),
        q.agency.trim(),
        q.from.trim(),
        q.until.trim(),
    );
    let filter = AuditFilter {
        child: if child.is_empty() {
            None
        } else {
            Some(
                uuid::Uuid::parse_str(child)
                    .map_err(|_| PageError::BadRequest("child: expected a child id (a UUID)"))?,
            )
        },
        agency: Some(agency).filter(|a| !a.is_empty()).map(str::to_owned),
        from: time(from, "from: expected a time as YYYY-MM-DDTHH:MM (UTC)")?,
        until: time(until, "until: expected a time as YYYY-MM-DDTHH:MM (UTC)")?,
        before: q.before,
    };
    let mut conn = state.store().acquire().await?;
    let page = store::audit_search::page(&mut conn, &filter, PAGE_SIZE).await?;
    let query = format!(
        "child={}&agency={}&from={}&until={}",
        enc(child),
        enc(agency),
        enc(from),
        enc(until)
    );
    Ok(render(&AuditPage {
        nav: Some(Nav::new(&session, "audit")),
        agencies: state
            .config()
            .agencies
            .values()
            .map(|a| a.id.as_str().to_owned())
            .collect(),
        older: page.next_before.map(|b| format!("{query}&before={b}")),
        newest: q.before.is_some().then_some(query),
        child: child.to_owned(),
        agency: agency.to_owned(),
        from: from.to_owned(),
        until: until.to_owned(),
        rows: page
            .entries
            .into_iter()
            .map(|e| Row {
                seq: e.seq,
                at: when(e.at),
                actor: e.actor,
                action: e.action,
                agency: e.agency.unwrap_or_default(),
                event_id: e.event_id.unwrap_or_default(),
                sharing_agreement: e.sharing_agreement.unwrap_or_default(),
                fields: e.fields.unwrap_or_default(),
                detail: e.detail.unwrap_or_default(),
            })
            .collect(),
        size: PAGE_SIZE,
    }))
}
