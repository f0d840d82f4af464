//! Operator alerts, one per open problem.
//!
//! A problem that recurs (every referral to an agency with no sharing agreement, say) updates
//! its open alert's count and time instead of raising a new one: operators see one alert per
//! problem, not a flood.

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{Result, from_ms, to_ms};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    pub id: String,
    pub kind: String,
    pub agency: Option<String>,
    pub detail: String,
    pub status: String,
    pub first_at: chrono::DateTime<chrono::Utc>,
    pub last_at: chrono::DateTime<chrono::Utc>,
    pub occurrences: i64,
}

/// Raises an alert, or counts another occurrence of the open one with the same `dedupe_key`.
pub async fn raise(
    conn: &mut AnyConnection,
    dedupe_key: &str,
    kind: &str,
    agency: Option<&str>,
    detail: &str,
) -> Result<()> {
    let now = to_ms(chrono::Utc::now());
    let updated = sqlx::query(
        "UPDATE alerts SET occurrences = occurrences + 1, last_at = $1, detail = $2
         WHERE dedupe_key = $3 AND status = 'open'",
    )
    .bind(now)
    .bind(detail)
    .bind(dedupe_key)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO alerts (id, dedupe_key, kind, agency, detail, status, first_at, last_at, occurrences)
             VALUES ($1, $2, $3, $4, $5, 'open', $6, $6, 1)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(dedupe_key)
        .bind(kind)
        .bind(agency.map(str::to_owned))
        .bind(detail)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        tracing::warn!(alert = kind, agency = agency.unwrap_or(""), "{detail}");
    }
    Ok(())
}

/// Open alerts, most recent first.
pub async fn open(conn: &mut AnyConnection) -> Result<Vec<Alert>> {
    let rows = sqlx::query(
        "SELECT id, kind, agency, detail, status, first_at, last_at, occurrences
         FROM alerts WHERE status = 'open' ORDER BY last_at DESC",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Alert {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                agency: r.try_get("agency")?,
                detail: r.try_get("detail")?,
                status: r.try_get("status")?,
                first_at: from_ms(r.try_get("first_at")?),
                last_at: from_ms(r.try_get("last_at")?),
                occurrences: r.try_get("occurrences")?,
            })
        })
        .collect()
}
