//! What every dashboard action shares: the checks before it and the redirect after it.
//!
//! An action is a POST to `/dashboard/.../{id}/...` from one of the dashboard's own forms. The
//! handler receives it as a [`Post`], which exists only once the request has passed every
//! check, in this order: a live session (else the login form), the form's CSRF token and the
//! request's origin ([`super::csrf`]), then the role ([`Allowed`]). A page therefore cannot
//! forget one of them; what is left to it is its own work. After a change, the handler sends
//! the browser back to the page with a `?result=` code that page turns into a notice
//! ([`Outcome`]), so that reloading it does not repeat the action.

use std::marker::PhantomData;

use axum::extract::{Form, FromRequest, FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use super::DashState;
use super::page::PageError;
use super::session::Session;

/// A form with nothing but the session's CSRF token.
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// A form for an action that must say why (discard, pause): the token and the reason.
#[derive(serde::Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

impl ReasonForm {
    /// The reason, trimmed; `missing` is the page's request for one when it is blank.
    pub fn reason(&self, missing: &'static str) -> Result<&str, PageError> {
        let reason = self.reason.trim();
        if reason.is_empty() {
            Err(PageError::BadRequest(missing))
        } else {
            Ok(reason)
        }
    }
}

/// A form that carries the CSRF token, for [`Post`] to check.
pub trait CarriesCsrf {
    fn csrf(&self) -> &str;
}

impl CarriesCsrf for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl CarriesCsrf for ReasonForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// What the role must allow for a kind of action (see [`super::accounts::Role`]).
pub trait Allowed {
    fn check(session: &Session) -> Result<(), PageError>;
}

/// Replay, requeue, discard, pause, resume, confirm and reject: not an auditor.
pub enum MayAct {}

impl Allowed for MayAct {
    fn check(session: &Session) -> Result<(), PageError> {
        session.require_action()
    }
}

/// Showing child data unmasked: an admin only.
pub enum SeesChildData {}

impl Allowed for SeesChildData {
    fn check(session: &Session) -> Result<(), PageError> {
        session.require_child_data()
    }
}

/// An action's request once it has passed every check: session, CSRF token and origin, role.
pub struct Post<F, A> {
    pub session: Session,
    /// The `{id}` of the route, as sent: each page parses it into its own kind of id.
    pub id: String,
    pub form: F,
    allowed: PhantomData<A>,
}

/// A change to the hub's state (the form defaults to the token alone).
pub type Action<F = CsrfForm> = Post<F, MayAct>;

/// A request to see child data unmasked, whose viewing the page audits.
pub type Reveal = Post<CsrfForm, SeesChildData>;

impl<F, A> FromRequest<DashState> for Post<F, A>
where
    F: CarriesCsrf + DeserializeOwned + Send,
    A: Allowed,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &DashState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(id) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = parts.headers.clone();
        let Form(form) = Form::<F>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        session
            .check_post(&headers, form.csrf())
            .map_err(IntoResponse::into_response)?;
        A::check(&session).map_err(IntoResponse::into_response)?;
        Ok(Self {
            session,
            id,
            form,
            allowed: PhantomData,
        })
    }
}

/// The `?result=` query of a page an action redirected back to.
#[derive(serde::Deserialize)]
pub struct Outcome {
    result: Option<String>,
}

impl Outcome {
    /// The notice for the result code, from the page's own `(code, notice)` table; none for a
    /// code the table does not know.
    pub fn notice(&self, notices: &[(&str, &'static str)]) -> Option<&'static str> {
        let code = self.result.as_deref()?;
        notices.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
    }
}

/// Back to `page` once an action is done, with its result code for the notice.
pub fn done(page: &str, result: &str) -> Response {
    Redirect::to(&format!("{page}?result={result}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_reason_is_refused_and_a_reason_is_trimmed() {
        let form = |reason: &str| ReasonForm {
            csrf: String::new(),
            reason: reason.to_owned(),
        };
        assert!(matches!(
            form("  \t").reason("say why"),
            Err(PageError::BadRequest("say why"))
        ));
        assert_eq!(
            form("  sender resent it \n").reason("say why").ok(),
            Some("sender resent it")
        );
    }

    #[test]
    fn only_a_known_result_code_shows_a_notice() {
        const RESULTS: [(&str, &str); 2] = [("requeued", "Requeued."), ("discarded", "Discarded.")];
        let outcome = |result: Option<&str>| Outcome {
            result: result.map(str::to_owned),
        };
        assert_eq!(
            outcome(Some("discarded")).notice(&RESULTS),
            Some("Discarded.")
        );
        assert_eq!(outcome(Some("<script>")).notice(&RESULTS), None);
        assert_eq!(outcome(None).notice(&RESULTS), None);
    }
}
