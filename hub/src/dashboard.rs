//! The operators' dashboard: server-rendered pages under `/dashboard` on the API listener, with
//! live updates over server-sent events. No JavaScript build, no CDN: the hub serves one CSS
//! file and a few lines of vanilla JS (`EventSource`) itself. See `docs/dashboard.md`.
//!
//! Handlers stay thin, as in the API: check the session (and, for a POST, the CSRF token,
//! origin and role, all in one extractor, `action::Post`), call one store or
//! [`crate::operator`] function, render a template. Who may do and see what is decided in one
//! place, [`accounts::Role`].

pub mod accounts;
mod action;
mod agencies;
mod alerts;
mod assets;
mod audit;
mod children;
mod csrf;
mod dead_letters;
mod handoffs;
mod identity;
mod live;
pub(crate) mod masking;
mod overview;
mod page;
mod quarantine;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::sync::{Semaphore, broadcast};
use tokio_util::sync::CancellationToken;

use crate::config::Validated;
use crate::health::Links;
use crate::pipeline::Pipeline;
use crate::store::Store;

/// Forms are a few fields: anything larger is not from the dashboard.
const BODY_LIMIT: usize = 16 * 1024;

/// Password hashes computed at once. Each argon2id hash holds 19 MiB for a few tens of
/// milliseconds, so a burst of login attempts queues here instead of exhausting memory.
const CONCURRENT_HASHES: usize = 2;

/// What every dashboard handler shares; cheap to clone.
#[derive(Clone)]
pub struct DashState(Arc<Inner>);

struct Inner {
    pipeline: Arc<Pipeline>,
    links: Links,
    cancel: CancellationToken,
    /// Overview snapshots, pushed once a second while anyone watches (see [`live`]).
    live: broadcast::Sender<Arc<Vec<live::Fragment>>>,
    logins: session::Throttle,
    hashing: Semaphore,
}

impl DashState {
    fn new(pipeline: Arc<Pipeline>, links: Links, cancel: CancellationToken) -> Self {
        let (live, _) = broadcast::channel(4);
        Self(Arc::new(Inner {
            pipeline,
            links,
            cancel,
            live,
            logins: session::Throttle::default(),
            hashing: Semaphore::new(CONCURRENT_HASHES),
        }))
    }

    fn store(&self) -> &Store {
        self.0.pipeline.store()
    }

    fn config(&self) -> &Validated {
        self.0.pipeline.config()
    }
}

/// The dashboard's routes, to merge into the API router. Starts the task that publishes the
/// live overview; it stops when `cancel` fires, and so do open event streams (otherwise a
/// graceful shutdown would wait for them forever).
pub fn router(pipeline: Arc<Pipeline>, links: Links, cancel: CancellationToken) -> Router {
    let state = DashState::new(pipeline, links, cancel);
    live::spawn_publisher(&state);
    Router::new()
        .route("/dashboard", get(overview::page))
        .route("/dashboard/", get(overview::page))
        .route(
            "/dashboard/login",
            get(session::login_form).post(session::login),
        )
        .route("/dashboard/logout", post(session::logout))
        .route("/dashboard/events", get(live::stream))
        .route("/dashboard/static/dashboard.css", get(assets::css))
        .route("/dashboard/static/live.js", get(assets::js))
        .route("/dashboard/agencies", get(agencies::list))
        .route("/dashboard/alerts", get(alerts::list))
        .route("/dashboard/agencies/{id}/pause", post(agencies::pause))
        .route("/dashboard/agencies/{id}/resume", post(agencies::resume))
        .route("/dashboard/dead-letters", get(dead_letters::list))
        .route("/dashboard/deliveries/{id}", get(dead_letters::show))
        .route(
            "/dashboard/deliveries/{id}/reveal",
            post(dead_letters::reveal),
        )
        .route(
            "/dashboard/deliveries/{id}/requeue",
            post(dead_letters::requeue),
        )
        .route(
            "/dashboard/deliveries/{id}/discard",
            post(dead_letters::discard),
        )
        .route("/dashboard/audit", get(audit::list))
        .route("/dashboard/handoffs", get(handoffs::list))
        .route("/dashboard/children/{id}", get(children::show))
        .route("/dashboard/children/{id}/reveal", post(children::reveal))
        .route("/dashboard/identity", get(identity::list))
        .route("/dashboard/identity/{id}", get(identity::show))
        .route("/dashboard/identity/{id}/reveal", post(identity::reveal))
        .route("/dashboard/identity/{id}/confirm", post(identity::confirm))
        .route("/dashboard/identity/{id}/reject", post(identity::reject))
        .route("/dashboard/quarantine", get(quarantine::list))
        .route("/dashboard/quarantine/{id}", get(quarantine::show))
        .route(
            "/dashboard/quarantine/{id}/reveal",
            post(quarantine::reveal),
        )
        .route(
            "/dashboard/quarantine/{id}/replay",
            post(quarantine::replay),
        )
        .route(
            "/dashboard/quarantine/{id}/discard",
            post(quarantine::discard),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Headers on every dashboard response: scripts and styles only from the hub itself (so an
/// injected `<script>` would not run), no framing, no caching of pages that may show child
/// data, no referrer leaving the hub.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
