//! Deliveries: one durable row per (event, recipient), forming one queue per agency.
//!
//! A delivery is `pending` until its sink reports it delivered, or it goes `dead` (permanent
//! failure, or out of attempts) with the last error. It is written in the same transaction as
//! its event, so a crash at any point leaves it pending and a restart delivers it: with the same
//! idempotency key, because the key is stored, not recomputed.

use sqlx::{AnyConnection, Row};
use throughline_contracts::notification::Notification;
use uuid::Uuid;

use super::{Result, StoreError, from_ms, to_ms};

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const DEAD: &str = "dead";

/// A delivery as the queue sees it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub seq: i64,
    pub id: Uuid,
    pub event_id: Uuid,
    pub agency: String,
    pub child_id: Uuid,
    pub idempotency_key: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub last_error: Option<String>,
    pub notification: Notification,
    /// The W3C `traceparent` of the input it came from: each attempt is a span of that trace.
    pub traceparent: Option<String>,
}

/// A delivery to write: its notification, and the W3C `traceparent` of the input it came from
/// (`None` when the hub exports no traces).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub notification: Notification,
    pub traceparent: Option<String>,
}

/// A delivery summary for operators: no notification body (it holds child data).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct DeliverySummary {
    pub id: String,
    pub event_id: String,
    pub agency: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn insert(conn: &mut AnyConnection, n: &Notification) -> Result<()> {
    let now = to_ms(chrono::Utc::now());
    let body = serde_json::to_string(n).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO deliveries (id, event_id, agency, child_id, idempotency_key, sharing_agreement,
                                 notification, status, attempts, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8, $8)",
    )
    .bind(n.notification_id.to_string())
    .bind(n.event_id.to_string())
    .bind(n.recipient.as_str())
    .bind(n.child_id.to_string())
    .bind(&n.idempotency_key)
    .bind(&n.sharing_agreement)
    .bind(body)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts several deliveries, a few hundred rows per statement, in the order given: within
/// one statement both SQLite and PostgreSQL assign `seq` in the order of the VALUES list, which
/// keeps each child's notifications in order.
pub async fn insert_many(conn: &mut AnyConnection, ns: &[NewDelivery]) -> Result<()> {
    const ROWS_PER_STATEMENT: usize = 256;
    let now = to_ms(chrono::Utc::now());
    for chunk in ns.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from(
            "INSERT INTO deliveries (id, event_id, agency, child_id, idempotency_key, sharing_agreement,
                                     notification, traceparent, status, attempts, next_attempt_at, created_at, updated_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 8;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, 'pending', 0, $1, $1, $1)",
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for d in chunk {
            let n = &d.notification;
            let body = serde_json::to_string(n).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            q = q
                .bind(n.notification_id.to_string())
                .bind(n.event_id.to_string())
                .bind(n.recipient.as_str().to_owned())
                .bind(n.child_id.to_string())
                .bind(n.idempotency_key.clone())
                .bind(n.sharing_agreement.clone())
                .bind(body)
                .bind(d.traceparent.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

fn row_to_delivery(r: &sqlx::any::AnyRow) -> Result<Delivery> {
    let uuid = |col: &str| -> Result<Uuid> {
        let s: String = r.try_get(col)?;
        Uuid::parse_str(&s)
            .map_err(|_| StoreError::Corrupt(format!("deliveries.{col} is not a UUID")))
    };
    let body: String = r.try_get("notification")?;
    Ok(Delivery {
        seq: r.try_get("seq")?,
        id: uuid("id")?,
        event_id: uuid("event_id")?,
        agency: r.try_get("agency")?,
        child_id: uuid("child_id")?,
        idempotency_key: r.try_get("idempotency_key")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: from_ms(r.try_get("next_attempt_at")?),
        last_error: r.try_get("last_error")?,
        notification: serde_json::from_str(&body)
            .map_err(|e| StoreError::Corrupt(format!("deliveries.notification: {e}")))?,
        traceparent: r.try_get("traceparent")?,
    })
}

const COLUMNS: &str = "seq, id, event_id, agency, child_id, idempotency_key, status, attempts,
                       next_attempt_at, last_error, notification, traceparent";

/// The oldest pending deliveries of one agency, in queue order, whether due yet or not (the
/// worker needs the not-yet-due ones to keep each child's notifications in order).
pub async fn pending_for_agency(
    conn: &mut AnyConnection,
    agency: &str,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM deliveries WHERE agency = $1 AND status = 'pending' ORDER BY seq LIMIT $2"
    )))
    .bind(agency)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(row_to_delivery).collect()
}

/// The delivery to `agency` sent with `idempotency_key`: how a receiver's later report (a MESH
/// non-delivery report carries the key as its `Mex-LocalID`) finds what it is about.
pub async fn by_idempotency_key(
    conn: &mut AnyConnection,
    agency: &str,
    idempotency_key: &str,
) -> Result<Option<Delivery>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM deliveries WHERE agency = $1 AND idempotency_key = $2 ORDER BY seq LIMIT 1"
    )))
    .bind(agency)
    .bind(idempotency_key)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(row_to_delivery).transpose()
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Delivery>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM deliveries WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(row_to_delivery).transpose()
}

/// Marks several deliveries delivered in one statement, each with one more attempt than it
/// had. For the worker's group record: see [`crate::store::audit::append_many`].
pub async fn mark_delivered_many(conn: &mut AnyConnection, ids: &[Uuid]) -> Result<()> {
    const IDS_PER_STATEMENT: usize = 512;
    let now = to_ms(chrono::Utc::now());
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $1, updated_at = $1, last_error = NULL
             WHERE id IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for id in chunk {
            q = q.bind(id.to_string());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn schedule_retry(
    conn: &mut AnyConnection,
    id: Uuid,
    attempts: i64,
    next_attempt_at: chrono::DateTime<chrono::Utc>,
    error: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries SET attempts = $1, next_attempt_at = $2, last_error = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(attempts)
    .bind(to_ms(next_attempt_at))
    .bind(error)
    .bind(to_ms(chrono::Utc::now()))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn mark_dead(
    conn: &mut AnyConnection,
    id: Uuid,
    attempts: i64,
    error: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries SET status = 'dead', attempts = $1, last_error = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(attempts)
    .bind(error)
    .bind(to_ms(chrono::Utc::now()))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Puts every dead delivery back in its queue, due now, keeping its idempotency key. Returns
/// the (delivery id, agency) pairs requeued.
pub async fn retry_dead(conn: &mut AnyConnection) -> Result<Vec<(Uuid, String)>> {
    let rows = sqlx::query("SELECT id, agency FROM deliveries WHERE status = 'dead' ORDER BY seq")
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        let id: String = r.try_get("id")?;
        let agency: String = r.try_get("agency")?;
        out.push((
            Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt("deliveries.id".into()))?,
            agency,
        ));
    }
    let now = to_ms(chrono::Utc::now());
    sqlx::query(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1
         WHERE status = 'dead'",
    )
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(out)
}

/// Deliveries for operators, newest first, optionally of one status.
pub async fn list(
    conn: &mut AnyConnection,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<DeliverySummary>> {
    let rows = match status {
        Some(s) => sqlx::query(
            "SELECT id, event_id, agency, status, attempts, last_error, created_at, delivered_at
                 FROM deliveries WHERE status = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(s.to_owned())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?,
        None => sqlx::query(
            "SELECT id, event_id, agency, status, attempts, last_error, created_at, delivered_at
                 FROM deliveries ORDER BY seq DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?,
    };
    rows.iter().map(summary).collect()
}

fn summary(r: &sqlx::any::AnyRow) -> Result<DeliverySummary> {
    Ok(DeliverySummary {
        id: r.try_get("id")?,
        event_id: r.try_get("event_id")?,
        agency: r.try_get("agency")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        created_at: from_ms(r.try_get("created_at")?),
        delivered_at: r.try_get::<Option<i64>, _>("delivered_at")?.map(from_ms),
    })
}

/// Deliveries about a child to one agency, oldest first.
pub async fn for_child_and_agency(
    conn: &mut AnyConnection,
    child: Uuid,
    agency: &str,
) -> Result<Vec<DeliverySummary>> {
    let rows = sqlx::query(
        "SELECT id, event_id, agency, status, attempts, last_error, created_at, delivered_at
         FROM deliveries WHERE child_id = $1 AND agency = $2 ORDER BY seq",
    )
    .bind(child.to_string())
    .bind(agency)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(summary).collect()
}

/// Agencies with at least one pending delivery (a restart resumes these queues first).
pub async fn agencies_with_pending(conn: &mut AnyConnection) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT DISTINCT agency FROM deliveries WHERE status = 'pending'")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("agency")?)).collect()
}

/// How many deliveries are in each status.
pub async fn count_by_status(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>> {
    let rows =
        sqlx::query("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status ORDER BY status")
            .fetch_all(&mut *conn)
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect()
}

/// Deliveries in the store by agency and status, for `/metrics`.
pub async fn count_by_agency_and_status(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT agency, status, COUNT(*) AS n FROM deliveries GROUP BY agency, status ORDER BY agency, status",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("agency")?, r.try_get("status")?, r.try_get("n")?)))
        .collect()
}

/// The notifications made for one event, in queue order (for `throughline test`, which checks
/// what each recipient would be sent).
pub async fn notifications_for_event(
    conn: &mut AnyConnection,
    event_id: Uuid,
) -> Result<Vec<Notification>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM deliveries WHERE event_id = $1 ORDER BY seq"
    )))
    .bind(event_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| row_to_delivery(r).map(|d| d.notification))
        .collect()
}

/// A dead letter the operator set aside: kept, never sent, never pruned.
pub const DISCARDED: &str = "discarded";

/// Dead letters, newest first (the `deliveries_dead` index: no scan of the live queues).
pub const DEAD_LETTERS_SQL: &str =
    "SELECT id, event_id, agency, status, attempts, last_error, created_at, delivered_at
     FROM deliveries WHERE status = 'dead' ORDER BY seq DESC LIMIT $1";

/// Dead letters, newest first.
pub async fn dead_letters(conn: &mut AnyConnection, limit: i64) -> Result<Vec<DeliverySummary>> {
    let rows = sqlx::query(DEAD_LETTERS_SQL)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(summary).collect()
}

/// One delivery's summary and its notification as stored (JSON, holding child data: the caller
/// decides who may see it).
pub async fn detail(
    conn: &mut AnyConnection,
    id: Uuid,
) -> Result<Option<(DeliverySummary, String)>> {
    let row = sqlx::query(
        "SELECT id, event_id, agency, status, attempts, last_error, created_at, delivered_at, notification
         FROM deliveries WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((summary(&r)?, r.try_get("notification")?)))
        .transpose()
}

/// Puts one dead delivery back in its queue, due now, keeping its idempotency key. Returns its
/// agency, or `None` if it is not (or no longer) dead.
pub async fn retry_one(conn: &mut AnyConnection, id: Uuid) -> Result<Option<String>> {
    let done = sqlx::query(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1
         WHERE id = $2 AND status = 'dead'",
    )
    .bind(to_ms(chrono::Utc::now()))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    let row = sqlx::query("SELECT agency FROM deliveries WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(Some(row.try_get("agency")?))
}

/// Sets one dead delivery aside for good; `false` if it is not (or no longer) dead.
pub async fn discard_dead(conn: &mut AnyConnection, id: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE deliveries SET status = 'discarded', updated_at = $1 WHERE id = $2 AND status = 'dead'",
    )
    .bind(to_ms(chrono::Utc::now()))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// What `GET /v1/deliveries` asks for: optional filters and the page's place.
#[derive(Debug, Clone, Default)]
pub struct PageQuery<'a> {
    pub status: Option<&'a str>,
    pub agency: Option<&'a str>,
    /// Only deliveries queued before this one (its `seq`): the previous page's cursor.
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// One page of deliveries for operators, newest first, each with its `seq` (the next page's
/// cursor is the last one's). Keyset paging, so a page deep in a large store costs the same as
/// the first, and rows queued meanwhile do not shift the pages.
pub async fn page(
    conn: &mut AnyConnection,
    q: &PageQuery<'_>,
) -> Result<Vec<(i64, DeliverySummary)>> {
    let mut conditions = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if q.status.is_some() {
        conditions.push(format!("status = {}", next()));
    }
    if q.agency.is_some() {
        conditions.push(format!("agency = {}", next()));
    }
    if q.before_seq.is_some() {
        conditions.push(format!("seq < {}", next()));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT seq, id, event_id, agency, status, attempts, last_error, created_at, delivered_at
         FROM deliveries {filter} ORDER BY seq DESC LIMIT {}",
        next()
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    if let Some(s) = q.status {
        query = query.bind(s.to_owned());
    }
    if let Some(a) = q.agency {
        query = query.bind(a.to_owned());
    }
    if let Some(seq) = q.before_seq {
        query = query.bind(seq);
    }
    let rows = query.bind(q.limit).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("seq")?, summary(r)?)))
        .collect()
}
