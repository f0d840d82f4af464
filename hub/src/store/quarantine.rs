//! Quarantine: every rejected input, kept whole with the step and the specific reasons.
//!
//! Nothing here is ever pruned. An operator can list, show, replay (run the input through the
//! pipeline again, e.g. after fixing configuration) or discard (kept, marked, and audited).

use sqlx::{AnyConnection, Row};
use throughline_contracts::adapter::RawInput;
use throughline_contracts::event::FieldProblem;
use uuid::Uuid;

use super::{Result, StoreError, from_ms, to_ms};

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct QuarantineSummary {
    pub id: String,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub source_id: String,
    pub step: String,
    pub problems: Vec<FieldProblem>,
    pub status: String,
}

/// A quarantined input with its raw bytes.
#[derive(Debug, Clone)]
pub struct QuarantineItem {
    pub summary: QuarantineSummary,
    pub format: String,
    pub raw: RawInput,
    pub replayed_event_ids: Option<String>,
}

pub async fn insert(
    conn: &mut AnyConnection,
    raw: &RawInput,
    format: &str,
    step: &str,
    problems: &[FieldProblem],
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO quarantine (id, received_at, source_id, step, problems, format, content_type, message_id, raw, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'held')",
    )
    .bind(id.to_string())
    .bind(to_ms(raw.received_at))
    .bind(&raw.source_id)
    .bind(step)
    .bind(serde_json::to_string(problems).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    .bind(format)
    .bind(raw.content_type.clone())
    .bind(raw.message_id.clone())
    .bind(raw.body.to_vec())
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Records a failed replay on the existing item instead of quarantining the input twice.
pub async fn update_reasons(
    conn: &mut AnyConnection,
    id: Uuid,
    step: &str,
    problems: &[FieldProblem],
) -> Result<()> {
    sqlx::query("UPDATE quarantine SET step = $1, problems = $2 WHERE id = $3")
        .bind(step)
        .bind(serde_json::to_string(problems).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn resolve(
    conn: &mut AnyConnection,
    id: Uuid,
    status: &str,
    by: &str,
    event_ids: Option<&[Uuid]>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE quarantine SET status = $1, resolved_at = $2, resolved_by = $3, replayed_event_ids = $4
         WHERE id = $5 AND status = 'held'",
    )
    .bind(status)
    .bind(to_ms(chrono::Utc::now()))
    .bind(by)
    .bind(event_ids.map(|ids| ids.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",")))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

fn summary(r: &sqlx::any::AnyRow) -> Result<QuarantineSummary> {
    let problems: String = r.try_get("problems")?;
    Ok(QuarantineSummary {
        id: r.try_get("id")?,
        received_at: from_ms(r.try_get("received_at")?),
        source_id: r.try_get("source_id")?,
        step: r.try_get("step")?,
        problems: serde_json::from_str(&problems)
            .map_err(|e| StoreError::Corrupt(format!("quarantine.problems: {e}")))?,
        status: r.try_get("status")?,
    })
}

/// Quarantined inputs, newest first; `status` filters (`held`, `replayed`, `discarded`).
pub async fn list(
    conn: &mut AnyConnection,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<QuarantineSummary>> {
    let sql = "SELECT id, received_at, source_id, step, problems, status FROM quarantine";
    let rows = match status {
        Some(s) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{sql} WHERE status = $1 ORDER BY received_at DESC, id DESC LIMIT $2"
            )))
            .bind(s.to_owned())
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{sql} ORDER BY received_at DESC, id DESC LIMIT $1"
            )))
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    rows.iter().map(summary).collect()
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<QuarantineItem>> {
    let row = sqlx::query(
        "SELECT id, received_at, source_id, step, problems, status, format, content_type, message_id, raw, replayed_event_ids
         FROM quarantine WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let s = summary(&r)?;
    let raw = RawInput {
        source_id: s.source_id.clone(),
        content_type: r.try_get("content_type")?,
        body: r.try_get::<Vec<u8>, _>("raw")?.into(),
        received_at: s.received_at,
        message_id: r.try_get("message_id")?,
    };
    Ok(Some(QuarantineItem {
        format: r.try_get("format")?,
        summary: s,
        raw,
        replayed_event_ids: r.try_get("replayed_event_ids")?,
    }))
}

/// How many inputs are in quarantine with this status.
pub async fn count(conn: &mut AnyConnection, status: &str) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM quarantine WHERE status = $1")
        .bind(status.to_owned())
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("n")?)
}

/// What `GET /v1/quarantine` asks for: optional filters and the page's place.
#[derive(Debug, Clone, Default)]
pub struct PageQuery<'a> {
    pub status: Option<&'a str>,
    pub source_id: Option<&'a str>,
    /// Only items listed after this one (its `received_at` and id): the previous page's cursor.
    pub after: Option<(chrono::DateTime<chrono::Utc>, &'a str)>,
    pub limit: i64,
}

/// One page of quarantined inputs for operators, newest first (the order of [`list`]). Keyset
/// paging on (`received_at`, `id`), so inputs quarantined meanwhile do not shift the pages.
pub async fn page(conn: &mut AnyConnection, q: &PageQuery<'_>) -> Result<Vec<QuarantineSummary>> {
    let mut conditions = Vec::new();
    if q.status.is_some() {
        conditions.push(format!("status = ${}", conditions.len() + 1));
    }
    if q.source_id.is_some() {
        conditions.push(format!("source_id = ${}", conditions.len() + 1));
    }
    let mut n = conditions.len();
    if q.after.is_some() {
        conditions.push(format!(
            "(received_at < ${a} OR (received_at = ${a} AND id < ${b}))",
            a = n + 1,
            b = n + 2
        ));
        n += 2;
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT id, received_at, source_id, step, problems, status FROM quarantine {filter}
         ORDER BY received_at DESC, id DESC LIMIT ${}",
        n + 1
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    if let Some(s) = q.status {
        query = query.bind(s.to_owned());
    }
    if let Some(s) = q.source_id {
        query = query.bind(s.to_owned());
    }
    if let Some((at, id)) = q.after {
        query = query.bind(to_ms(at)).bind(id.to_owned());
    }
    let rows = query.bind(q.limit).fetch_all(&mut *conn).await?;
    rows.iter().map(summary).collect()
}
