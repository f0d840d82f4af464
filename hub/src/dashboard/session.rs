//! Logging in and out, and the session every other page requires.
//!
//! Sessions are server-side rows (`store::operators`): the cookie carries a random 256-bit id,
//! the store keeps only its SHA-256, the operator, a CSRF token, an absolute expiry and the
//! last activity. The cookie is `HttpOnly; SameSite=Strict; Secure; Path=/dashboard`. Chromium,
//! like other browsers, treats `http://127.0.0.1` and `http://localhost` as secure contexts, so
//! the `Secure` cookie works on a loopback listener without TLS; anywhere else the hub must be
//! behind TLS for the browser to send it back.
//!
//! Failed logins cost the same whether or not the username exists (an unknown name is checked
//! against a dummy hash), and after [`MAX_FAILURES`] failures in [`LOCKOUT`] a username is
//! refused without checking until the window passes. Every login, failure, refusal and logout
//! is audited.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use super::accounts::{self, Role};
use super::action::CsrfForm;
use super::page::{PageError, render};
use super::{DashState, csrf};
use crate::store::{self, audit::AuditEntry};

pub const COOKIE: &str = "throughline_session";
/// A session ends this long after login, however active.
pub const ABSOLUTE: chrono::Duration = chrono::Duration::hours(8);
/// ...or after this long without a request.
pub const IDLE: chrono::Duration = chrono::Duration::minutes(30);
/// Activity is written at most this often, not on every request.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);
pub const MAX_FAILURES: u32 = 5;
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// A logged-in operator, as every page but the login form requires.
#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub role: Role,
    pub csrf: String,
    id_hash: String,
}

impl Session {
    /// Checks a state-changing request: same origin, and the session's CSRF token in the form.
    pub fn check_post(&self, headers: &HeaderMap, token: &str) -> Result<(), PageError> {
        csrf::check(headers, &self.csrf, token)
    }

    /// For replay, requeue and discard: refuses an auditor.
    pub fn require_action(&self) -> Result<(), PageError> {
        if self.role.may_act() {
            Ok(())
        } else {
            Err(PageError::Forbidden(
                "your role may view the dashboard but not change anything",
            ))
        }
    }

    /// For child data: refuses everyone but an admin.
    pub fn require_child_data(&self) -> Result<(), PageError> {
        if self.role.sees_child_data() {
            Ok(())
        } else {
            Err(PageError::Forbidden("your role may not see child data"))
        }
    }

    /// Whether the session still holds (not ended, expired, or its account disabled); a
    /// long-lived event stream asks this now and then, and it counts as activity.
    pub async fn still_valid(&self, state: &DashState) -> bool {
        let Ok(mut conn) = state.store().acquire().await else {
            return true;
        };
        match store::operators::session(&mut conn, &self.id_hash).await {
            Ok(Some(rec)) => {
                let now = chrono::Utc::now();
                let ok = !rec.disabled && rec.expires_at > now;
                if ok {
                    let _ = store::operators::touch(&mut conn, &self.id_hash, now).await;
                }
                ok
            }
            Ok(None) => false,
            Err(_) => true,
        }
    }
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn hash_id(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

impl FromRequestParts<DashState> for Session {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DashState,
    ) -> Result<Self, Self::Rejection> {
        let id = cookie_value(&parts.headers).ok_or(PageError::LoginRequired)?;
        let id_hash = hash_id(&id);
        let mut conn = state.store().acquire().await?;
        let rec = store::operators::session(&mut conn, &id_hash)
            .await?
            .ok_or(PageError::LoginRequired)?;
        let now = chrono::Utc::now();
        let role = rec.role.parse::<Role>();
        if rec.disabled || rec.expires_at <= now || rec.last_seen < now - IDLE || role.is_err() {
            store::operators::end_session(&mut conn, &id_hash).await?;
            store::audit::append(
                &mut conn,
                &AuditEntry {
                    actor: format!("operator:{}", rec.username),
                    action: "dashboard.session_ended".into(),
                    detail: Some("session expired or account disabled".into()),
                    ..Default::default()
                },
            )
            .await?;
            return Err(PageError::LoginRequired);
        }
        if now - rec.last_seen >= TOUCH_EVERY {
            store::operators::touch(&mut conn, &id_hash, now).await?;
        }
        Ok(Session {
            username: rec.username,
            role: role.map_err(|_| PageError::LoginRequired)?,
            csrf: rec.csrf_token,
            id_hash,
        })
    }
}

/// Failed logins per username, in memory: a restart forgets them, which only restarts the
/// window.
#[derive(Default)]
pub struct Throttle(Mutex<HashMap<String, (u32, Instant)>>);

impl Throttle {
    /// Beyond this many usernames tracked, entries whose window has passed are dropped.
    const MAX_TRACKED: usize = 10_000;

    fn locked(&self, username: &str) -> bool {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(username)
            .is_some_and(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < LOCKOUT)
    }

    fn failed(&self, username: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX_TRACKED {
            map.retain(|_, (_, since)| since.elapsed() < LOCKOUT);
        }
        let entry = map
            .entry(username.to_owned())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= LOCKOUT {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    fn succeeded(&self, username: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(username);
    }
}

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage {
    nav: Option<super::page::Nav>,
    error: Option<&'static str>,
    username: String,
}

pub async fn login_form() -> Response {
    render(&LoginPage {
        nav: None,
        error: None,
        username: String::new(),
    })
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// A hash of nothing anyone knows, checked when the username does not exist so that a failed
/// login takes as long either way.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| accounts::hash_password(&random_token()).unwrap_or_default())
}

fn refused(status: StatusCode, error: &'static str, username: String) -> Response {
    let mut res = render(&LoginPage {
        nav: None,
        error: Some(error),
        username,
    });
    *res.status_mut() = status;
    res
}

pub async fn login(
    State(state): State<DashState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    csrf::same_origin(&headers)?;
    let username = form.username.trim().to_owned();
    let well_formed = accounts::valid_username(&username);
    // A malformed name is not written anywhere: it could be anything someone typed.
    let actor = if well_formed {
        format!("operator:{username}")
    } else {
        "dashboard".to_owned()
    };
    let audit = |action: &str, detail: &str| AuditEntry {
        actor: actor.clone(),
        action: action.into(),
        detail: Some(detail.into()),
        ..Default::default()
    };
    if state.0.logins.locked(&username) {
        let mut conn = state.store().acquire().await?;
        store::audit::append(
            &mut conn,
            &audit(
                "dashboard.login_refused",
                "too many failed logins; locked for now",
            ),
        )
        .await?;
        return Ok(refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts for this username: wait 15 minutes and try again.",
            username,
        ));
    }
    let creds = if well_formed {
        let mut conn = state.store().acquire().await?;
        store::operators::credentials(&mut conn, &username).await?
    } else {
        None
    };
    let hash = creds
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |c| c.password_hash.clone());
    let password = form.password;
    let matched = {
        let _permit = state
            .0
            .hashing
            .acquire()
            .await
            .map_err(|_| PageError::Internal)?;
        tokio::task::spawn_blocking(move || accounts::verify_password(&password, &hash))
            .await
            .map_err(|_| PageError::Internal)?
    };
    let role = creds
        .as_ref()
        .filter(|c| matched && !c.disabled)
        .and_then(|c| c.role.parse::<Role>().ok());
    let Some(role) = role else {
        state.0.logins.failed(&username);
        let mut conn = state.store().acquire().await?;
        store::audit::append(
            &mut conn,
            &audit(
                "dashboard.login_failed",
                "unknown username, wrong password or disabled account",
            ),
        )
        .await?;
        return Ok(refused(
            StatusCode::UNAUTHORIZED,
            "Unknown username or wrong password.",
            username,
        ));
    };
    state.0.logins.succeeded(&username);
    let id = random_token();
    let now = chrono::Utc::now();
    let mut tx = state.store().begin().await?;
    store::operators::end_stale_sessions(&mut tx, now, now - IDLE).await?;
    store::operators::create_session(
        &mut tx,
        &hash_id(&id),
        &username,
        &random_token(),
        now + ABSOLUTE,
    )
    .await?;
    store::audit::append(
        &mut tx,
        &audit(
            "dashboard.login",
            &format!("logged in to the dashboard as {}", role.as_str()),
        ),
    )
    .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Secure; Path=/dashboard; Max-Age={}",
        ABSOLUTE.num_seconds()
    );
    let mut res = Redirect::to("/dashboard").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| PageError::Internal)?,
    );
    Ok(res)
}

pub async fn logout(
    State(state): State<DashState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    session.check_post(&headers, &form.csrf)?;
    let mut tx = state.store().begin().await?;
    store::operators::end_session(&mut tx, &session.id_hash).await?;
    store::audit::append(
        &mut tx,
        &AuditEntry {
            actor: format!("operator:{}", session.username),
            action: "dashboard.logout".into(),
            detail: Some("logged out of the dashboard".into()),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    let mut res = Redirect::to("/dashboard/login").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "throughline_session=; HttpOnly; SameSite=Strict; Secure; Path=/dashboard; Max-Age=0",
        ),
    );
    Ok(res)
}
