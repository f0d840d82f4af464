//! History is not news: tell an event that only restates the child's past from one that tells
//! agencies something new.
//!
//! Why: every transfer file and every annual census re-announces a child's past (SEN history,
//! plans started years ago, cases closed last spring). Taken as news, the first import of a real
//! file would open handoffs and statutory clocks whose deadlines passed long ago and flood
//! agencies with reminders and escalations about nothing.
//!
//! An event is history when
//! - its `as_at` (when the source restated it: a file's reference date) is more than the
//!   configured `history.window` after it happened (`occurred_at`), counted like a deadline; or
//! - the hub already holds the same fact about the child: the same kind with the same payload,
//!   whoever stated it (a plan the local authority sent, restated by a school's transfer file).
//!
//! A history event is committed, is on the child's timeline and updates the child's state
//! (involvements, plan flags), and may still answer or close a handoff already open; but it
//! opens no handoff or clock (the handoff step checks [`crate::handoff::track::Context`]'s
//! `history`) and is routed to nobody. The one exception is a statutory clock counted from the
//! plan's own dates whose deadline is still ahead (an annual review, a phase transfer): that is
//! not news about the past but a duty still to come.

use sqlx::AnyConnection;
use throughline_contracts::event::Event;
use uuid::Uuid;

use crate::config::Validated;
use crate::store::{self, StoreError};

/// Whether `event` about `child` restates the past (see the module documentation).
pub async fn is_history(
    conn: &mut AnyConnection,
    config: &Validated,
    child: Uuid,
    event: &Event,
) -> Result<bool, StoreError> {
    if restated_after_window(config, event) {
        return Ok(true);
    }
    store::events::holds_fact(conn, child, event).await
}

/// Whether the event's `as_at` is past the end of the history window counted from when it
/// happened. A start outside the years a deadline can be counted from (see
/// `throughline_calendar::checked_due`) is so far from `as_at` that it is history.
fn restated_after_window(config: &Validated, event: &Event) -> bool {
    let Some(as_at) = event.as_at else {
        return false;
    };
    match throughline_calendar::checked_due(
        &config.history.window,
        event.occurred_at,
        &config.handoffs.calendar,
        &[],
    ) {
        Ok(Some(window_ends)) => as_at > window_ends,
        Ok(None) => false,
        Err(_) => true,
    }
}
