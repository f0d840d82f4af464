//! Handoffs and the escalation steps sent for them.
//!
//! The lifecycle rules live in `crate::handoff`; this module only reads and writes. Two things
//! here carry the guarantees:
//! - `next_check_at` is the durable timer: the scheduler looks only at rows whose time has
//!   come, so a timer that fell due while the hub was down fires at the next tick after start-up;
//! - `handoff_escalations` has one row per (handoff, step), with that pair as its primary key,
//!   written in the same transaction as the notice's deliveries: a step can be sent only once,
//!   however many times (or by however many instances) the scheduler runs.

use sqlx::{AnyConnection, Row};
use throughline_calendar::Pause;
use uuid::Uuid;

use super::{Result, StoreError, from_ms, to_ms};
use chrono::{DateTime, Utc};

/// States a handoff can be in. `made` and `delivered` are open: the receiver has not answered.
pub mod state {
    pub const MADE: &str = "made";
    pub const DELIVERED: &str = "delivered";
    pub const ACCEPTED: &str = "accepted";
    pub const DECLINED: &str = "declined";
    pub const REDIRECTED: &str = "redirected";
    pub const CLOSED: &str = "closed";

    pub fn is_open(state: &str) -> bool {
        state == MADE || state == DELIVERED
    }
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Handoff {
    pub id: Uuid,
    pub kind: String,
    pub reference: String,
    pub child_id: Uuid,
    pub from_agency: String,
    pub to_agency: String,
    pub event_id: Uuid,
    pub state: String,
    pub clock_start: DateTime<Utc>,
    /// The deadline period, from which a pause recomputes the deadline.
    pub period: String,
    pub due_at: Option<DateTime<Utc>>,
    pub pauses: Vec<Pause>,
    pub escalation_step: i64,
    pub next_check_at: Option<DateTime<Utc>>,
    pub made_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub new_owner: Option<String>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub parent_id: Option<Uuid>,
}

/// A new handoff, before it is written.
pub struct NewHandoff<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub reference: &'a str,
    pub child_id: Uuid,
    pub from_agency: &'a str,
    pub to_agency: &'a str,
    pub event_id: Uuid,
    pub clock_start: DateTime<Utc>,
    pub period: String,
    pub due_at: Option<DateTime<Utc>>,
    /// When the first escalation step falls due.
    pub next_check_at: Option<DateTime<Utc>>,
    pub made_at: DateTime<Utc>,
    pub parent_id: Option<Uuid>,
}

const COLUMNS: &str = "id, kind, reference, child_id, from_agency, to_agency, event_id, state, clock_start, \
    period, due_at, pauses, escalation_step, next_check_at, made_at, delivered_at, acknowledged_at, acknowledged_by, \
    new_owner, escalated_at, parent_id";

fn uuid(s: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| StoreError::Corrupt(format!("handoffs.{what} is not a UUID")))
}

fn row_to_handoff(r: &sqlx::any::AnyRow) -> Result<Handoff> {
    let ms = |c: &str| -> Result<Option<DateTime<Utc>>> {
        Ok(r.try_get::<Option<i64>, _>(c)?.map(from_ms))
    };
    let pauses: String = r.try_get("pauses")?;
    Ok(Handoff {
        id: uuid(&r.try_get::<String, _>("id")?, "id")?,
        kind: r.try_get("kind")?,
        reference: r.try_get("reference")?,
        child_id: uuid(&r.try_get::<String, _>("child_id")?, "child_id")?,
        from_agency: r.try_get("from_agency")?,
        to_agency: r.try_get("to_agency")?,
        event_id: uuid(&r.try_get::<String, _>("event_id")?, "event_id")?,
        state: r.try_get("state")?,
        clock_start: from_ms(r.try_get("clock_start")?),
        period: r.try_get("period")?,
        due_at: ms("due_at")?,
        pauses: serde_json::from_str(&pauses)
            .map_err(|e| StoreError::Corrupt(format!("handoffs.pauses: {e}")))?,
        escalation_step: r.try_get("escalation_step")?,
        next_check_at: ms("next_check_at")?,
        made_at: from_ms(r.try_get("made_at")?),
        delivered_at: ms("delivered_at")?,
        acknowledged_at: ms("acknowledged_at")?,
        acknowledged_by: r.try_get("acknowledged_by")?,
        new_owner: r.try_get("new_owner")?,
        escalated_at: ms("escalated_at")?,
        parent_id: r
            .try_get::<Option<String>, _>("parent_id")?
            .map(|p| uuid(&p, "parent_id"))
            .transpose()?,
    })
}

/// Writes a new open handoff whose first check is its deadline.
pub async fn insert(conn: &mut AnyConnection, h: &NewHandoff<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO handoffs (id, kind, reference, child_id, from_agency, to_agency, event_id, state, clock_start,
            period, due_at, pauses, escalation_step, next_check_at, made_at, parent_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'made', $8, $9, $10, '[]', 0, $11, $12, $13)",
    )
    .bind(h.id.to_string())
    .bind(h.kind)
    .bind(h.reference)
    .bind(h.child_id.to_string())
    .bind(h.from_agency)
    .bind(h.to_agency)
    .bind(h.event_id.to_string())
    .bind(to_ms(h.clock_start))
    .bind(h.period.clone())
    .bind(h.due_at.map(to_ms))
    .bind(h.next_check_at.map(to_ms))
    .bind(to_ms(h.made_at))
    .bind(h.parent_id.map(|p| p.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Points a handoff at the event whose delivery to the receiver counts as its delivery.
pub async fn set_event(conn: &mut AnyConnection, id: Uuid, event_id: Uuid) -> Result<()> {
    sqlx::query("UPDATE handoffs SET event_id = $1 WHERE id = $2")
        .bind(event_id.to_string())
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks a handoff as escalated at `at` (an answer without a new owner: escalated at once).
pub async fn mark_escalated(conn: &mut AnyConnection, id: Uuid, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE handoffs SET escalated_at = $1 WHERE id = $2")
        .bind(to_ms(at))
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Handoff>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM handoffs WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(row_to_handoff).transpose()
}

/// The open handoff of this kind and reference about a child, addressed to `to_agency` (when
/// given), newest first: what an inbound acknowledgement refers to.
pub async fn find_open(
    conn: &mut AnyConnection,
    child: Uuid,
    kind: &str,
    reference: &str,
    to_agency: Option<&str>,
) -> Result<Option<Handoff>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM handoffs
         WHERE child_id = $1 AND kind = $2 AND reference = $3 AND state IN ('made', 'delivered')
           AND ($4 IS NULL OR to_agency = $4)
         ORDER BY made_at DESC LIMIT 1"
    )))
    .bind(child.to_string())
    .bind(kind)
    .bind(reference)
    .bind(to_agency)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(row_to_handoff).transpose()
}

/// Records the receiver's answer. Only an open handoff can be answered; returns whether this
/// one was.
pub async fn acknowledge(
    conn: &mut AnyConnection,
    id: Uuid,
    state: &str,
    by_event: Uuid,
    new_owner: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE handoffs SET state = $1, acknowledged_at = $2, acknowledged_by = $3, new_owner = $4, next_check_at = NULL
         WHERE id = $5 AND state IN ('made', 'delivered')",
    )
    .bind(state)
    .bind(to_ms(at))
    .bind(by_event.to_string())
    .bind(new_owner)
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Closes every handoff of this kind about a child that is not closed yet and that `party`
/// sent or received; only those with `reference` when one is given (the plan was finalised,
/// the referral closed).
pub async fn close(
    conn: &mut AnyConnection,
    child: Uuid,
    kind: &str,
    reference: Option<&str>,
    party: &str,
    at: DateTime<Utc>,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE handoffs SET state = 'closed', next_check_at = NULL,
            acknowledged_at = COALESCE(acknowledged_at, $1)
         WHERE child_id = $2 AND kind = $3 AND ($4 IS NULL OR reference = $4) AND state <> 'closed'
           AND (from_agency = $5 OR to_agency = $5)",
    )
    .bind(to_ms(at))
    .bind(child.to_string())
    .bind(kind)
    .bind(reference)
    .bind(party)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Marks the handoffs made by these events as delivered to `agency` (the transport answered).
pub async fn mark_delivered(
    conn: &mut AnyConnection,
    agency: &str,
    event_ids: &[Uuid],
    at: DateTime<Utc>,
) -> Result<()> {
    if event_ids.is_empty() {
        return Ok(());
    }
    let placeholders: Vec<String> = (0..event_ids.len())
        .map(|i| format!("${}", i + 3))
        .collect();
    let sql = format!(
        "UPDATE handoffs SET state = 'delivered', delivered_at = $1
         WHERE state = 'made' AND to_agency = $2 AND event_id IN ({})",
        placeholders.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to_ms(at))
        .bind(agency.to_owned());
    for id in event_ids {
        q = q.bind(id.to_string());
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// Open handoffs whose timer has come, oldest first.
pub async fn due(conn: &mut AnyConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<Handoff>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM handoffs WHERE next_check_at IS NOT NULL AND next_check_at <= $1
         ORDER BY next_check_at LIMIT $2"
    )))
    .bind(to_ms(now))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(row_to_handoff).collect()
}

/// Claims escalation step `step` of a handoff: inserts its row, which the primary key allows
/// once. Returns false if the step was already sent.
pub async fn claim_step(
    conn: &mut AnyConnection,
    handoff: Uuid,
    step: i64,
    recipient: &str,
    reason: &str,
    scheduled_at: DateTime<Utc>,
    sent_at: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO handoff_escalations (handoff_id, step, recipient, reason, scheduled_at, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (handoff_id, step) DO NOTHING",
    )
    .bind(handoff.to_string())
    .bind(step)
    .bind(recipient)
    .bind(reason)
    .bind(to_ms(scheduled_at))
    .bind(to_ms(sent_at))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Moves a handoff's timer on after step `step` was sent: to `next` (the following step), or
/// off (`None`: the chain is done, and the handoff counts as escalated from `at`).
pub async fn advance(
    conn: &mut AnyConnection,
    id: Uuid,
    step: i64,
    next: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE handoffs SET escalation_step = $1, next_check_at = $2,
            escalated_at = CASE WHEN $2 IS NULL THEN $3 ELSE escalated_at END
         WHERE id = $4",
    )
    .bind(step)
    .bind(next.map(to_ms))
    .bind(to_ms(at))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces a handoff's pauses and its deadline (recomputed by the caller) and resets its timer.
pub async fn set_pauses(
    conn: &mut AnyConnection,
    id: Uuid,
    pauses: &[Pause],
    due_at: Option<DateTime<Utc>>,
    next_check_at: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query("UPDATE handoffs SET pauses = $1, due_at = $2, next_check_at = $3 WHERE id = $4")
        .bind(serde_json::to_string(pauses).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(due_at.map(to_ms))
        .bind(next_check_at.map(to_ms))
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every handoff about a child, oldest first.
pub async fn for_child(conn: &mut AnyConnection, child: Uuid) -> Result<Vec<Handoff>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM handoffs WHERE child_id = $1 ORDER BY made_at"
    )))
    .bind(child.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(row_to_handoff).collect()
}

/// Handoffs to or from an agency, newest first, optionally only open ones.
pub async fn list(
    conn: &mut AnyConnection,
    agency: Option<&str>,
    open_only: bool,
    limit: i64,
) -> Result<Vec<Handoff>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM handoffs
         WHERE ($1 IS NULL OR to_agency = $1 OR from_agency = $1)
           AND ($2 = 0 OR state IN ('made', 'delivered'))
         ORDER BY made_at DESC LIMIT $3"
    )))
    .bind(agency)
    .bind(i64::from(open_only))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(row_to_handoff).collect()
}

/// An escalation step as sent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EscalationRecord {
    pub handoff_id: Uuid,
    pub step: i64,
    pub recipient: String,
    pub reason: String,
    pub scheduled_at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
}

pub async fn escalations(conn: &mut AnyConnection) -> Result<Vec<EscalationRecord>> {
    let rows = sqlx::query(
        "SELECT handoff_id, step, recipient, reason, scheduled_at, sent_at FROM handoff_escalations
         ORDER BY sent_at",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EscalationRecord {
                handoff_id: uuid(&r.try_get::<String, _>("handoff_id")?, "handoff_id")?,
                step: r.try_get("step")?,
                recipient: r.try_get("recipient")?,
                reason: r.try_get("reason")?,
                scheduled_at: from_ms(r.try_get("scheduled_at")?),
                sent_at: from_ms(r.try_get("sent_at")?),
            })
        })
        .collect()
}

/// Open handoffs by state and age band, and how many are past their deadline, for `/metrics`.
pub struct Summary {
    /// (state, age band, count); bands are `lt_1d`, `1d_7d`, `7d_30d`, `ge_30d`.
    pub open: Vec<(String, &'static str, i64)>,
    pub breached: i64,
    pub escalations_sent: i64,
}

pub async fn summary(conn: &mut AnyConnection, now: DateTime<Utc>) -> Result<Summary> {
    let now_ms = to_ms(now);
    const DAY: i64 = 86_400_000;
    let rows =
        sqlx::query("SELECT state, made_at FROM handoffs WHERE state IN ('made', 'delivered')")
            .fetch_all(&mut *conn)
            .await?;
    let mut counts: std::collections::BTreeMap<(String, &'static str), i64> = Default::default();
    for r in &rows {
        let age = now_ms - r.try_get::<i64, _>("made_at")?;
        let band = match age {
            a if a < DAY => "lt_1d",
            a if a < 7 * DAY => "1d_7d",
            a if a < 30 * DAY => "7d_30d",
            _ => "ge_30d",
        };
        *counts.entry((r.try_get("state")?, band)).or_default() += 1;
    }
    let breached: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM handoffs WHERE state IN ('made', 'delivered') AND due_at IS NOT NULL AND due_at < $1",
    )
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    let escalations_sent: i64 = sqlx::query("SELECT COUNT(*) AS n FROM handoff_escalations")
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    Ok(Summary {
        open: counts.into_iter().map(|((s, b), n)| (s, b, n)).collect(),
        breached,
        escalations_sent,
    })
}

/// Open handoffs an operator should look at, for the dashboard: due before `due_before`
/// (approaching their deadline, or already past it), or escalated whatever their deadline
/// (a paused clock has none). Soonest deadline first. Both reads use partial indexes over open
/// handoffs (`handoffs_open_due`, `handoffs_open_escalated`), never the closed history.
pub async fn needing_attention(
    conn: &mut AnyConnection,
    due_before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Handoff>> {
    let due = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM handoffs WHERE state IN ('made', 'delivered')
         AND due_at IS NOT NULL AND due_at < $1 ORDER BY due_at LIMIT $2"
    )))
    .bind(to_ms(due_before))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let escalated = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM handoffs WHERE state IN ('made', 'delivered')
         AND escalation_step > 0 ORDER BY escalated_at LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<Handoff> = due.iter().map(row_to_handoff).collect::<Result<_>>()?;
    for h in escalated.iter().map(row_to_handoff) {
        let h = h?;
        if !out.iter().any(|o| o.id == h.id) {
            out.push(h);
        }
    }
    out.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(out)
}
