//! Deciding identity reviews: a person confirms a possible match (the two children are one,
//! merged exactly as an input linking both records would merge them) or rejects it (they are
//! two, and the pair is never proposed again: see [`super::identity::pair_reviewed`]).
//!
//! Both decisions are audited with the deciding person as actor, in the same transaction as
//! the change, so a decision without its record cannot exist.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};
use throughline_contracts::demographics::Demographics;
use uuid::Uuid;

use super::audit::{self, AuditEntry};
use super::identity::{self, IdentityReview};
use super::{Result, StoreError, from_ms};

pub const OPEN: &str = "open";
pub const CONFIRMED: &str = "confirmed";
pub const REJECTED: &str = "rejected";
/// An open review whose two children were merged by another decision or input.
pub const MERGED: &str = "merged";
pub const POSSIBLE_MATCH: &str = "possible_match";

const COLUMNS: &str =
    "id, kind, child_id, other_child_id, event_id, quarantine_id, detail, status, created_at";

fn review(r: &sqlx::any::AnyRow) -> Result<IdentityReview> {
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
}

/// Open possible matches, oldest first (the index `identity_reviews_status` answers this).
pub async fn open_possible_matches(
    conn: &mut AnyConnection,
    limit: i64,
) -> Result<Vec<IdentityReview>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM identity_reviews WHERE status = 'open' AND kind = 'possible_match'
         ORDER BY created_at LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(review).collect()
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<IdentityReview>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM identity_reviews WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(review).transpose()
}

/// What the hub knows about one child, to compare with another: every identifier linked to it
/// and every distinct set of demographics its events carried (newest first).
pub struct Evidence {
    pub child: Uuid,
    pub identifiers: Vec<(String, String)>,
    pub demographics: Vec<Demographics>,
}

pub async fn evidence(conn: &mut AnyConnection, child: Uuid) -> Result<Evidence> {
    let mut identifiers = identity::identifiers_of(conn, child).await?;
    identifiers.sort();
    let rows = sqlx::query(
        "SELECT body FROM events WHERE child_id = $1 ORDER BY received_at DESC, id DESC LIMIT 200",
    )
    .bind(child.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut demographics: Vec<Demographics> = Vec::new();
    for r in &rows {
        let body: String = r.try_get("body")?;
        let event: throughline_contracts::event::Event = serde_json::from_str(&body)
            .map_err(|e| StoreError::Corrupt(format!("event body: {e}")))?;
        let d = event.subject.demographics;
        if !d.is_empty() && !demographics.contains(&d) {
            demographics.push(d);
        }
    }
    Ok(Evidence {
        child,
        identifiers,
        demographics,
    })
}

/// What deciding a review did.
#[derive(Debug, PartialEq, Eq)]
pub enum Decided {
    /// Confirmed: `from` was merged into `into`.
    Merged {
        from: Uuid,
        into: Uuid,
    },
    Rejected,
    /// No possible match with this id.
    NotFound,
    /// Someone decided it already (its status now).
    NotOpen(String),
    /// Confirming would give one child two values for this identifier scheme (named, never the
    /// values): the hub never merges that, whoever asks.
    Conflict(String),
}

fn parse(s: Option<&str>) -> Result<Uuid> {
    s.and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| StoreError::Corrupt("an identity review's child id is not a UUID".into()))
}

fn scheme_label(scheme: &str) -> &str {
    match scheme {
        "nhs" => "NHS number",
        "upn" => "UPN",
        identity::FORMER_UPN => "former UPN",
        _ => scheme,
    }
}

/// Marks an open review decided; false if it was not open any more (another person was first).
async fn close(conn: &mut AnyConnection, id: &str, status: &str) -> Result<bool> {
    let done =
        sqlx::query("UPDATE identity_reviews SET status = $1 WHERE id = $2 AND status = 'open'")
            .bind(status)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

async fn open_match(
    conn: &mut AnyConnection,
    id: Uuid,
) -> Result<std::result::Result<IdentityReview, Decided>> {
    Ok(match get(conn, id).await? {
        None => Err(Decided::NotFound),
        Some(r) if r.kind != POSSIBLE_MATCH => Err(Decided::NotFound),
        Some(r) if r.status != OPEN => Err(Decided::NotOpen(r.status)),
        Some(r) => Ok(r),
    })
}

/// Confirms a possible match: the two children are one. Run it in a transaction. The merge is
/// the one an input carrying both records' identifiers would cause (the lower id survives, as
/// in `pipeline::identity`), refused in the same case (two values for one scheme), and audited
/// as `identity.merged` and `identity_review.confirmed` with `actor`. Other open reviews about
/// the merged child now name the survivor; one left comparing the child with itself is closed.
pub async fn confirm(conn: &mut AnyConnection, id: Uuid, actor: &str) -> Result<Decided> {
    let r = match open_match(conn, id).await? {
        Ok(r) => r,
        Err(d) => return Ok(d),
    };
    let (a, b) = (
        parse(r.child_id.as_deref())?,
        parse(r.other_child_id.as_deref())?,
    );
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (scheme, value) in identity::identifiers_of(conn, a)
        .await?
        .into_iter()
        .chain(identity::identifiers_of(conn, b).await?)
        .filter(|(scheme, _)| identity::one_per_child(scheme))
    {
        match values.get(&scheme) {
            Some(v) if *v != value => {
                return Ok(Decided::Conflict(scheme_label(&scheme).to_owned()));
            }
            _ => {
                values.insert(scheme, value);
            }
        }
    }
    if !close(conn, &r.id, CONFIRMED).await? {
        return Ok(Decided::NotOpen("decided".into()));
    }
    let (into, from) = (a.min(b), a.max(b));
    identity::merge(conn, from, into).await?;
    for column in ["child_id", "other_child_id"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE identity_reviews SET {column} = $1 WHERE {column} = $2"
        )))
        .bind(into.to_string())
        .bind(from.to_string())
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE identity_reviews SET status = $1 WHERE status = 'open' AND child_id = other_child_id",
    )
    .bind(MERGED)
    .execute(&mut *conn)
    .await?;
    let event_id = r.event_id.as_deref().and_then(|e| Uuid::parse_str(e).ok());
    audit::append(
        conn,
        &AuditEntry {
            actor: actor.to_owned(),
            action: "identity.merged".into(),
            event_id,
            detail: Some(format!(
                "child {from} merged into {into}: possible match {id} confirmed"
            )),
            ..Default::default()
        },
    )
    .await?;
    audit::append(
        conn,
        &AuditEntry {
            actor: actor.to_owned(),
            action: "identity_review.confirmed".into(),
            event_id,
            detail: Some(format!(
                "possible match {id} confirmed: children {from} and {into} are one"
            )),
            ..Default::default()
        },
    )
    .await?;
    Ok(Decided::Merged { from, into })
}

/// Rejects a possible match: the two are different children, recorded so that the pair is
/// not proposed again; audited as `identity_review.rejected` with `actor`.
pub async fn reject(conn: &mut AnyConnection, id: Uuid, actor: &str) -> Result<Decided> {
    let r = match open_match(conn, id).await? {
        Ok(r) => r,
        Err(d) => return Ok(d),
    };
    if !close(conn, &r.id, REJECTED).await? {
        return Ok(Decided::NotOpen("decided".into()));
    }
    audit::append(
        conn,
        &AuditEntry {
            actor: actor.to_owned(),
            action: "identity_review.rejected".into(),
            event_id: r.event_id.as_deref().and_then(|e| Uuid::parse_str(e).ok()),
            detail: Some(format!(
                "possible match {id} rejected: children {} and {} are different children",
                r.child_id.unwrap_or_default(),
                r.other_child_id.unwrap_or_default()
            )),
            ..Default::default()
        },
    )
    .await?;
    Ok(Decided::Rejected)
}
