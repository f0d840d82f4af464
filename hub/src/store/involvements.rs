//! Which agencies are involved with which child.

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{Result, to_ms};

/// Starts (or restarts) an agency's involvement with a child. Returns whether it was not
/// already active. One upsert: an active involvement is left as it is (its start is when the
/// agency first became involved), an ended one starts again.
pub async fn start(conn: &mut AnyConnection, child: Uuid, agency: &str, by: &str) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO involvements (child_id, agency, started_at, started_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (child_id, agency) DO UPDATE
         SET started_at = excluded.started_at, started_by = excluded.started_by, ended_at = NULL, ended_by = NULL
         WHERE involvements.ended_at IS NOT NULL",
    )
    .bind(child.to_string())
    .bind(agency)
    .bind(to_ms(chrono::Utc::now()))
    .bind(by)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Ends an agency's active involvement. Returns whether one was active.
pub async fn end(conn: &mut AnyConnection, child: Uuid, agency: &str, by: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE involvements SET ended_at = $1, ended_by = $2
         WHERE child_id = $3 AND agency = $4 AND ended_at IS NULL",
    )
    .bind(to_ms(chrono::Utc::now()))
    .bind(by)
    .bind(child.to_string())
    .bind(agency)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Whether an agency is or ever was involved with a child.
pub async fn ever(conn: &mut AnyConnection, child: Uuid, agency: &str) -> Result<bool> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM involvements WHERE child_id = $1 AND agency = $2")
            .bind(child.to_string())
            .bind(agency)
            .fetch_one(&mut *conn)
            .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Agencies actively involved with a child.
pub async fn active(conn: &mut AnyConnection, child: Uuid) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT agency FROM involvements WHERE child_id = $1 AND ended_at IS NULL ORDER BY agency",
    )
    .bind(child.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("agency")?)).collect()
}
