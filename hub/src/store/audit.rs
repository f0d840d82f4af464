//! The append-only audit log: every routing decision, disclosure and operator action.
//!
//! The tables refuse UPDATE and DELETE (triggers in the migrations), so not even a bug here can
//! rewrite history. Entries name agencies, agreements and field paths, never child data.

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{Result, from_ms, to_ms};

/// One thing to record.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    /// Who acted: `hub`, `operator:<name>`, or a source id.
    pub actor: String,
    /// What happened, e.g. `route.allowed`, `route.denied`, `delivery.delivered`,
    /// `quarantine.discarded`.
    pub action: String,
    pub event_id: Option<Uuid>,
    pub agency: Option<String>,
    pub sharing_agreement: Option<String>,
    /// Field paths disclosed.
    pub fields: Option<Vec<String>>,
    pub detail: Option<String>,
}

pub async fn append(conn: &mut AnyConnection, e: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, event_id, agency, sharing_agreement, fields, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(to_ms(chrono::Utc::now()))
    .bind(&e.actor)
    .bind(&e.action)
    .bind(e.event_id.map(|u| u.to_string()))
    .bind(e.agency.clone())
    .bind(e.sharing_agreement.clone())
    .bind(e.fields.as_ref().map(|f| serde_json::to_string(f).unwrap_or_default()))
    .bind(e.detail.clone())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Appends several entries with one statement per few hundred rows: the delivery worker
/// records a whole run of outcomes at once, and one round trip to the store per entry was most
/// of what recording cost.
pub async fn append_many(conn: &mut AnyConnection, entries: &[AuditEntry]) -> Result<()> {
    const ROWS_PER_STATEMENT: usize = 256;
    let at = to_ms(chrono::Utc::now());
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from(
            "INSERT INTO audit_log (at, actor, action, event_id, agency, sharing_agreement, fields, detail) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 8;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            q = q
                .bind(at)
                .bind(e.actor.clone())
                .bind(e.action.clone())
                .bind(e.event_id.map(|u| u.to_string()))
                .bind(e.agency.clone())
                .bind(e.sharing_agreement.clone())
                .bind(
                    e.fields
                        .as_ref()
                        .map(|f| serde_json::to_string(f).unwrap_or_default()),
                )
                .bind(e.detail.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A recorded entry, as read back.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    pub action: String,
    pub event_id: Option<String>,
    pub agency: Option<String>,
    pub sharing_agreement: Option<String>,
    pub fields: Option<String>,
    pub detail: Option<String>,
}

/// Entries about one event, oldest first.
pub async fn for_event(conn: &mut AnyConnection, event_id: Uuid) -> Result<Vec<AuditRecord>> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, event_id, agency, sharing_agreement, fields, detail
         FROM audit_log WHERE event_id = $1 ORDER BY seq",
    )
    .bind(event_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(record).collect()
}

/// The most recent entries, newest first.
pub async fn recent(conn: &mut AnyConnection, limit: i64) -> Result<Vec<AuditRecord>> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, event_id, agency, sharing_agreement, fields, detail
         FROM audit_log ORDER BY seq DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(record).collect()
}

pub(super) fn record(r: &sqlx::any::AnyRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: r.try_get("seq")?,
        at: from_ms(r.try_get("at")?),
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        event_id: r.try_get("event_id")?,
        agency: r.try_get("agency")?,
        sharing_agreement: r.try_get("sharing_agreement")?,
        fields: r.try_get("fields")?,
        detail: r.try_get("detail")?,
    })
}
