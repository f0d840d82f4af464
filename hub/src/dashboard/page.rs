//! What every page shares: the navigation bar, rendering, and the one error type whose
//! responses are pages (or a redirect to the login form).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::session::Session;
use crate::operator::OperatorError;
use crate::store::StoreError;

/// The bar at the top of every page once logged in; `csrf` goes into the logout form.
pub struct Nav {
    pub username: String,
    pub role: &'static str,
    pub csrf: String,
    /// Which page is shown: `overview`, `agencies`, `dead-letters`, `quarantine`, `identity`,
    /// `handoffs` or `audit`.
    pub active: &'static str,
}

impl Nav {
    pub fn new(s: &Session, active: &'static str) -> Self {
        Self {
            username: s.username.clone(),
            role: s.role.as_str(),
            csrf: s.csrf.clone(),
            active,
        }
    }
}

/// Renders a template as a page.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "dashboard template failed to render");
            PageError::Internal.into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage<'a> {
    nav: Option<Nav>,
    title: &'a str,
    detail: &'a str,
}

/// Why a page cannot be shown. Details name ids and states, never child data.
#[derive(Debug)]
pub enum PageError {
    /// No session, or it ended: go to the login form.
    LoginRequired,
    /// Logged in, but the role may not do this, or the request failed its CSRF checks.
    Forbidden(&'static str),
    NotFound(&'static str),
    /// A request the dashboard's own forms never make.
    BadRequest(&'static str),
    Unavailable,
    Internal,
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "dashboard: store unavailable");
        PageError::Unavailable
    }
}

impl From<OperatorError> for PageError {
    fn from(e: OperatorError) -> Self {
        match e {
            OperatorError::NotFound(_) => PageError::NotFound("no such quarantine item"),
            OperatorError::NotHeld(..) => {
                PageError::BadRequest("the quarantine item is no longer held")
            }
            OperatorError::NotDead(_) => {
                PageError::BadRequest("the delivery is no longer a dead letter")
            }
            OperatorError::AgencyAlready(_, "paused") => {
                PageError::BadRequest("deliveries to this agency are already paused")
            }
            OperatorError::AgencyAlready(..) => {
                PageError::BadRequest("deliveries to this agency are not paused")
            }
            OperatorError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, detail) = match self {
            PageError::LoginRequired => return Redirect::to("/dashboard/login").into_response(),
            PageError::Forbidden(d) => (StatusCode::FORBIDDEN, "Not allowed", d),
            PageError::NotFound(d) => (StatusCode::NOT_FOUND, "Not found", d),
            PageError::BadRequest(d) => (StatusCode::BAD_REQUEST, "Cannot do that", d),
            PageError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Store unavailable",
                "the hub's store did not answer; try again shortly",
            ),
            PageError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "the page could not be built; the hub's log says why",
            ),
        };
        let page = ErrorPage {
            nav: None,
            title,
            detail,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("{title}: {detail}"));
        (status, Html(body)).into_response()
    }
}

/// How long ago, in words an operator reads at a glance.
pub fn age(since: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let s = (now - since).num_seconds().max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86400, (s % 86400) / 3600),
    }
}

/// A time as operators read it: UTC, to the second.
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}
