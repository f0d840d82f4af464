//! Live updates over server-sent events (`GET /dashboard/events`).
//!
//! How a page learns of changes: a periodic snapshot, not a notifier on the hot path. Once a
//! second, while at least one overview is open, one task re-reads the overview (a handful of
//! index-only queries, see `store::overview`), renders it, and sends it on a
//! `tokio::sync::broadcast` channel; each open stream forwards it if it changed. Why:
//! - it sees every writer, not only this process's pipeline: the CLI replaying from another
//!   shell, a second hub instance on the same PostgreSQL store, the retention sweep;
//! - the pipeline and delivery workers are untouched, so the relay benchmarks cannot slow down;
//! - the cost is bounded by time, not traffic: one snapshot a second however many events
//!   arrive and however many operators watch, and none at all when nobody does.
//!
//! A delivery's own page (`?watch=delivery:<id>`) is watched by its stream alone: one indexed
//! read a second.
//!
//! Each message is one fragment: `event: fragment`, data = the target element's id, a newline,
//! then the HTML that replaces its contents (rendered by the same escaping templates as the
//! page). Streams end when the hub shuts down and when the session ends.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Weak};
use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::page::PageError;
use super::session::Session;
use super::{DashState, Inner, overview};
use crate::store;

const EVERY: Duration = Duration::from_secs(1);
/// How often an open stream re-checks its session (logout, expiry, a disabled account).
const RECHECK: Duration = Duration::from_secs(30);

/// New contents for one element of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    pub target: String,
    pub html: String,
}

/// Starts the overview publisher. It holds the dashboard's state weakly: it stops when the
/// router is dropped, or when the hub shuts down.
pub fn spawn_publisher(state: &DashState) {
    let weak: Weak<Inner> = Arc::downgrade(&state.0);
    let cancel = state.0.cancel.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            let Some(inner) = weak.upgrade() else { return };
            if inner.live.receiver_count() == 0 {
                continue;
            }
            let state = DashState(inner);
            match overview::snapshot(&state).await.map(|s| s.render()) {
                Ok(Ok(html)) => {
                    let _ = state.0.live.send(Arc::new(vec![Fragment {
                        target: "overview-live".into(),
                        html,
                    }]));
                }
                Ok(Err(e)) => tracing::error!(error = %e, "dashboard overview failed to render"),
                // The store error was logged where it became a PageError.
                Err(_) => {}
            }
        }
    });
}

#[derive(Template)]
#[template(path = "dashboard/delivery_live.html")]
pub struct DeliveryLive {
    pub status: String,
    pub attempts: i64,
    pub last_error: String,
    pub delivered: String,
}

/// A delivery's changing fields, for its page and its stream.
pub async fn delivery_live(state: &DashState, id: Uuid) -> Result<Option<DeliveryLive>, PageError> {
    let mut conn = state.store().acquire().await?;
    Ok(store::deliveries::detail(&mut conn, id)
        .await?
        .map(|(d, _)| DeliveryLive {
            status: d.status,
            attempts: d.attempts,
            last_error: d.last_error.unwrap_or_default(),
            delivered: d.delivered_at.map(super::page::when).unwrap_or_default(),
        }))
}

#[derive(serde::Deserialize)]
pub struct Watch {
    watch: String,
}

enum Watching {
    Overview(broadcast::Receiver<Arc<Vec<Fragment>>>),
    Delivery(Uuid, tokio::time::Interval),
}

struct Conn {
    state: DashState,
    session: Session,
    watching: Watching,
    /// What this page was last sent, per target: unchanged fragments are not sent again.
    sent: HashMap<String, String>,
    recheck: tokio::time::Instant,
}

impl Conn {
    /// Waits for the next fragment this page has not seen; `None` ends the stream.
    async fn next(&mut self) -> Option<Fragment> {
        loop {
            let fragments: Vec<Fragment> = tokio::select! {
                _ = self.state.0.cancel.cancelled() => return None,
                _ = tokio::time::sleep_until(self.recheck) => {
                    if !self.session.still_valid(&self.state).await {
                        return None;
                    }
                    self.recheck = tokio::time::Instant::now() + RECHECK;
                    continue;
                }
                got = next_fragments(&self.state, &mut self.watching) => got?,
            };
            for f in fragments {
                if self.sent.get(&f.target) != Some(&f.html) {
                    self.sent.insert(f.target.clone(), f.html.clone());
                    return Some(f);
                }
            }
        }
    }
}

async fn next_fragments(state: &DashState, watching: &mut Watching) -> Option<Vec<Fragment>> {
    match watching {
        Watching::Overview(rx) => loop {
            match rx.recv().await {
                Ok(f) => return Some(f.as_ref().clone()),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        },
        Watching::Delivery(id, tick) => {
            tick.tick().await;
            match delivery_live(state, *id).await {
                Ok(Some(d)) => Some(vec![Fragment {
                    target: "delivery-live".into(),
                    html: d.render().ok()?,
                }]),
                Ok(None) => None,
                Err(_) => Some(Vec::new()),
            }
        }
    }
}

fn events(conn: Conn) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(conn, |mut conn| async move {
        let f = conn.next().await?;
        let event = Event::default()
            .event("fragment")
            .data(format!("{}\n{}", f.target, f.html));
        Some((Ok(event), conn))
    })
}

pub async fn stream(
    State(state): State<DashState>,
    session: Session,
    Query(watch): Query<Watch>,
) -> Result<Response, PageError> {
    let watching = match watch.watch.split_once(':') {
        None if watch.watch == "overview" => Watching::Overview(state.0.live.subscribe()),
        Some(("delivery", id)) => {
            let id = Uuid::parse_str(id).map_err(|_| PageError::BadRequest("not a delivery id"))?;
            let mut tick = tokio::time::interval(EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            Watching::Delivery(id, tick)
        }
        _ => return Err(PageError::BadRequest("unknown page to watch")),
    };
    let conn = Conn {
        state,
        session,
        watching,
        sent: HashMap::new(),
        recheck: tokio::time::Instant::now() + RECHECK,
    };
    Ok(Sse::new(events(conn))
        .keep_alive(KeepAlive::default())
        .into_response())
}
