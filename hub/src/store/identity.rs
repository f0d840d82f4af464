//! Children, their linked identifiers, demographic evidence and identity reviews.
//!
//! The resolution rules live in `pipeline::identity`; this module only reads and writes.

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{Result, StoreError, from_ms, to_ms};

/// The scheme a child's former UPNs are linked under (a temporary UPN replaced by the permanent
/// one, a CTF's `FormerUPN`). Unlike `upn`, a child may have several: they are never a conflict.
pub const FORMER_UPN: &str = "former_upn";

/// Whether a child holds at most one value of `scheme` (one NHS number, one current UPN, one id
/// per local system); two would be a conflict. Former UPNs are the exception.
pub fn one_per_child(scheme: &str) -> bool {
    scheme != FORMER_UPN
}

fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| StoreError::Corrupt("a child id is not a UUID".into()))
}

/// The child an identifier is linked to, if any.
pub async fn lookup(conn: &mut AnyConnection, scheme: &str, value: &str) -> Result<Option<Uuid>> {
    let row =
        sqlx::query("SELECT child_id FROM child_identifiers WHERE scheme = $1 AND value = $2")
            .bind(scheme)
            .bind(value)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|r| parse_uuid(&r.try_get::<String, _>("child_id")?))
        .transpose()
}

/// Every identifier of every child that any of `identifiers` is linked to, as (scheme, value,
/// child), in one statement. Identity resolution needs exactly this (which records the input
/// links, and what each already holds); asking per identifier and then per child cost several
/// round trips per input.
pub async fn linked_records(
    conn: &mut AnyConnection,
    identifiers: &[(String, String)],
) -> Result<Vec<(String, String, Uuid)>> {
    if identifiers.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: Vec<String> = (0..identifiers.len())
        .map(|i| format!("(scheme = ${} AND value = ${})", 2 * i + 1, 2 * i + 2))
        .collect();
    let sql = format!(
        "SELECT scheme, value, child_id FROM child_identifiers WHERE child_id IN
         (SELECT child_id FROM child_identifiers WHERE {})",
        wanted.join(" OR ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (scheme, value) in identifiers {
        q = q.bind(scheme.clone()).bind(value.clone());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("scheme")?,
                r.try_get("value")?,
                parse_uuid(&r.try_get::<String, _>("child_id")?)?,
            ))
        })
        .collect()
}

/// Every (scheme, value) linked to a child.
pub async fn identifiers_of(
    conn: &mut AnyConnection,
    child: Uuid,
) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT scheme, value FROM child_identifiers WHERE child_id = $1")
        .bind(child.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("scheme")?, r.try_get("value")?)))
        .collect()
}

/// Records whether a child has an EHC plan or a child protection plan (`None` leaves a flag as
/// it is): either obliges some agency to lead.
pub async fn set_plans(
    conn: &mut AnyConnection,
    child: Uuid,
    ehc_plan: Option<bool>,
    child_protection_plan: Option<bool>,
) -> Result<()> {
    sqlx::query(
        "UPDATE children SET ehc_plan = COALESCE($1, ehc_plan),
            child_protection_plan = COALESCE($2, child_protection_plan) WHERE id = $3",
    )
    .bind(ehc_plan.map(i64::from))
    .bind(child_protection_plan.map(i64::from))
    .bind(child.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// (EHC plan, child protection plan) for a child.
pub async fn plans(conn: &mut AnyConnection, child: Uuid) -> Result<(bool, bool)> {
    let row = sqlx::query("SELECT ehc_plan, child_protection_plan FROM children WHERE id = $1")
        .bind(child.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => (
            r.try_get::<i64, _>("ehc_plan")? != 0,
            r.try_get::<i64, _>("child_protection_plan")? != 0,
        ),
        None => (false, false),
    })
}

pub async fn create_child(conn: &mut AnyConnection) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO children (id, created_at) VALUES ($1, $2)")
        .bind(id.to_string())
        .bind(to_ms(chrono::Utc::now()))
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

pub async fn link(conn: &mut AnyConnection, scheme: &str, value: &str, child: Uuid) -> Result<()> {
    sqlx::query(
        "INSERT INTO child_identifiers (scheme, value, child_id, first_seen) VALUES ($1, $2, $3, $4)",
    )
    .bind(scheme)
    .bind(value)
    .bind(child.to_string())
    .bind(to_ms(chrono::Utc::now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a linked current UPN as a former one: a newer UPN replaced it.
pub async fn make_former_upn(conn: &mut AnyConnection, value: &str) -> Result<()> {
    sqlx::query("UPDATE child_identifiers SET scheme = $1 WHERE scheme = 'upn' AND value = $2")
        .bind(FORMER_UPN)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Folds child `from` into child `into`: identifiers, evidence, involvements, events and
/// deliveries all move to `into`. Used when one input links two records deterministically.
pub async fn merge(conn: &mut AnyConnection, from: Uuid, into: Uuid) -> Result<()> {
    let (from, into) = (from.to_string(), into.to_string());
    sqlx::query("UPDATE child_identifiers SET child_id = $1 WHERE child_id = $2")
        .bind(&into)
        .bind(&from)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "DELETE FROM child_evidence WHERE child_id = $1
         AND match_key IN (SELECT match_key FROM child_evidence WHERE child_id = $2)",
    )
    .bind(&from)
    .bind(&into)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE child_evidence SET child_id = $1 WHERE child_id = $2")
        .bind(&into)
        .bind(&from)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "DELETE FROM involvements WHERE child_id = $1
         AND agency IN (SELECT agency FROM involvements WHERE child_id = $2)",
    )
    .bind(&from)
    .bind(&into)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE children SET
            ehc_plan = (SELECT MAX(ehc_plan) FROM children WHERE id IN ($1, $2)),
            child_protection_plan = (SELECT MAX(child_protection_plan) FROM children WHERE id IN ($1, $2))
         WHERE id = $1",
    )
    .bind(&into)
    .bind(&from)
    .execute(&mut *conn)
    .await?;
    for table in ["involvements", "events", "deliveries", "handoffs"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET child_id = $1 WHERE child_id = $2"
        )))
        .bind(&into)
        .bind(&from)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Records a demographic match key for a child. Callers have just read the key's children
/// (see [`children_with_evidence`]) and call this only when the child is not among them.
pub async fn add_evidence(conn: &mut AnyConnection, child: Uuid, match_key: &str) -> Result<()> {
    sqlx::query("INSERT INTO child_evidence (child_id, match_key) VALUES ($1, $2)")
        .bind(child.to_string())
        .bind(match_key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Children whose demographic evidence has this match key.
pub async fn children_with_evidence(
    conn: &mut AnyConnection,
    match_key: &str,
) -> Result<Vec<Uuid>> {
    let rows = sqlx::query("SELECT child_id FROM child_evidence WHERE match_key = $1")
        .bind(match_key)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| parse_uuid(&r.try_get::<String, _>("child_id")?))
        .collect()
}

/// Something about a child's identity that a person must decide.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IdentityReview {
    pub id: String,
    /// `possible_match` (similar demographics, different identifiers) or `conflict`
    /// (identifiers that cannot all belong to one child).
    pub kind: String,
    pub child_id: Option<String>,
    pub other_child_id: Option<String>,
    pub event_id: Option<String>,
    pub quarantine_id: Option<String>,
    pub detail: String,
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[allow(clippy::too_many_arguments)]
pub async fn open_review(
    conn: &mut AnyConnection,
    kind: &str,
    child: Option<Uuid>,
    other: Option<Uuid>,
    event_id: Option<Uuid>,
    quarantine_id: Option<Uuid>,
    detail: &str,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO identity_reviews (id, kind, child_id, other_child_id, event_id, quarantine_id, detail, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8)",
    )
    .bind(id.to_string())
    .bind(kind)
    .bind(child.map(|c| c.to_string()))
    .bind(other.map(|c| c.to_string()))
    .bind(event_id.map(|c| c.to_string()))
    .bind(quarantine_id.map(|c| c.to_string()))
    .bind(detail)
    .bind(to_ms(chrono::Utc::now()))
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn open_reviews(conn: &mut AnyConnection) -> Result<Vec<IdentityReview>> {
    let rows = sqlx::query(
        "SELECT id, kind, child_id, other_child_id, event_id, quarantine_id, detail, status, created_at
         FROM identity_reviews WHERE status = 'open' ORDER BY created_at",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(IdentityReview {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                child_id: r.try_get("child_id")?,
                other_child_id: r.try_get("other_child_id")?,
                event_id: r.try_get("event_id")?,
                quarantine_id: r.try_get("quarantine_id")?,
                detail: r.try_get("detail")?,
                status: r.try_get("status")?,
                created_at: from_ms(r.try_get("created_at")?),
            })
        })
        .collect()
}

/// Whether this pair of children (in either order) is already under review, or a person
/// already decided they are two children: a rejected pair is never proposed again.
pub async fn pair_reviewed(conn: &mut AnyConnection, a: Uuid, b: Uuid) -> Result<bool> {
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM identity_reviews WHERE status IN ('open', 'rejected')
         AND ((child_id = $1 AND other_child_id = $2) OR (child_id = $2 AND other_child_id = $1))",
    )
    .bind(a.to_string())
    .bind(b.to_string())
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    Ok(n > 0)
}
