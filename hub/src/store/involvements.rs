//! Which agencies are involved with which child.

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{Result, to_ms};

/// Starts (or restarts) an agency's involvement with a child. Returns whether it was not
/// already active.
pub async fn start(conn: &mut AnyConnection, child: Uuid, agency: &str, by: &str) -> Result<bool> {
    let now = to_ms(chrono::Utc::now());
    let row = sqlx::query("SELECT ended_at FROM involvements WHERE child_id = $1 AND agency = $2")
        .bind(child.to_string())
        .bind(agency)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        None => {
            sqlx::query(
                "INSERT INTO involvements (child_id, agency, started_at, started_by) VALUES ($1, $2, $3, $4)",
            )
            .bind(child.to_string())
            .bind(agency)
            .bind(now)
            .bind(by)
            .execute(&mut *conn)
            .await?;
            Ok(true)
        }
        Some(r) if r.try_get::<Option<i64>, _>("ended_at")?.is_some() => {
            sqlx::query(
                "UPDATE involvements SET started_at = $1, started_by = $2, ended_at = NULL, ended_by = NULL
                 WHERE child_id = $3 AND agency = $4",
            )
            .bind(now)
            .bind(by)
            .bind(child.to_string())
            .bind(agency)
            .execute(&mut *conn)
            .await?;
            Ok(true)
        }
        Some(_) => Ok(false),
    }
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
