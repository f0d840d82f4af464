//! The audit log as the dashboard pages through it: filtered by child, agency and time range,
//! newest first, a page at a time.
//!
//! The log grows without bound, so every read is answered from an index and costs the same
//! at any size. Pages are keyed by `seq` (the next page is "entries before this one"), never
//! by an offset, which would read and discard every earlier row. A time range is turned into a
//! `seq` range first (one index seek each end on `audit_log_at`): entries are appended with the
//! time of appending, so `at` rises with `seq` (to within the clock skew between instances
//! sharing one store). Child means the child's events: entries that name one of its events.

use sqlx::AnyConnection;

use super::Result;
use super::audit::AuditRecord;

/// What to show.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub child: Option<uuid::Uuid>,
    pub agency: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Only entries older than this `seq` (the previous page's last).
    pub before: Option<i64>,
}

/// One page, and the `seq` to continue from if there are older entries.
pub struct AuditPage {
    pub entries: Vec<AuditRecord>,
    pub next_before: Option<i64>,
}

/// The lowest `seq` appended at or after `t`.
pub const FIRST_AT_OR_AFTER_SQL: &str =
    "SELECT seq FROM audit_log WHERE at >= $1 ORDER BY at, seq LIMIT 1";
/// The highest `seq` appended before `t`.
pub const LAST_BEFORE_SQL: &str =
    "SELECT seq FROM audit_log WHERE at < $1 ORDER BY at DESC, seq DESC LIMIT 1";

/// The page query for a filter with these parts present, binds in this order. Public so
/// the store tests can check its plan.
pub fn page_sql(child: bool, agency: bool, min_seq: bool, max_seq: bool) -> String {
    let mut conditions = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if child {
        conditions.push(format!(
            "event_id IN (SELECT id FROM events WHERE child_id = {})",
            next()
        ));
    }
    if agency {
        conditions.push(format!("agency = {}", next()));
    }
    if min_seq {
        conditions.push(format!("seq >= {}", next()));
    }
    if max_seq {
        conditions.push(format!("seq < {}", next()));
    }
    let limit = next();
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    format!(
        "SELECT seq, at, actor, action, event_id, agency, sharing_agreement, fields, detail
         FROM audit_log {filter} ORDER BY seq DESC LIMIT {limit}"
    )
}

async fn seq_at(conn: &mut AnyConnection, sql: &'static str, t: i64) -> Result<Option<i64>> {
    use sqlx::Row;
    let row = sqlx::query(sql).bind(t).fetch_optional(&mut *conn).await?;
    Ok(row.map(|r| r.try_get("seq")).transpose()?)
}

pub async fn page(conn: &mut AnyConnection, f: &AuditFilter, size: i64) -> Result<AuditPage> {
    let min_seq = match f.from {
        Some(t) => match seq_at(conn, FIRST_AT_OR_AFTER_SQL, super::to_ms(t)).await? {
            Some(s) => Some(s),
            None => {
                return Ok(AuditPage {
                    entries: Vec::new(),
                    next_before: None,
                });
            }
        },
        None => None,
    };
    // The end of the range becomes an exclusive upper bound: one past the last entry in it.
    let mut max_seq = f.before;
    if let Some(t) = f.until {
        let Some(last) = seq_at(conn, LAST_BEFORE_SQL, super::to_ms(t)).await? else {
            return Ok(AuditPage {
                entries: Vec::new(),
                next_before: None,
            });
        };
        max_seq = Some(max_seq.map_or(last + 1, |b| b.min(last + 1)));
    }
    let sql = page_sql(
        f.child.is_some(),
        f.agency.is_some(),
        min_seq.is_some(),
        max_seq.is_some(),
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    if let Some(c) = f.child {
        q = q.bind(c.to_string());
    }
    if let Some(a) = &f.agency {
        q = q.bind(a.clone());
    }
    if let Some(s) = min_seq {
        q = q.bind(s);
    }
    if let Some(s) = max_seq {
        q = q.bind(s);
    }
    let rows = q.bind(size + 1).fetch_all(&mut *conn).await?;
    let mut entries = rows
        .iter()
        .map(super::audit::record)
        .collect::<Result<Vec<_>>>()?;
    let more = entries.len() as i64 > size;
    entries.truncate(usize::try_from(size).unwrap_or(0));
    Ok(AuditPage {
        next_before: if more {
            entries.last().map(|e| e.seq)
        } else {
            None
        },
        entries,
    })
}
