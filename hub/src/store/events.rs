//! Committed events.

use sqlx::{AnyConnection, Row};
use throughline_contracts::event::Event;
use uuid::Uuid;

use super::{Result, StoreError, to_ms};

/// Whether an event with this id is already committed (sources resubmit after a lost ack).
pub async fn exists(conn: &mut AnyConnection, id: Uuid) -> Result<bool> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Commits an event as news. See [`insert_marked`].
pub async fn insert(
    conn: &mut AnyConnection,
    event: &Event,
    source_id: &str,
    child_id: Uuid,
) -> Result<()> {
    insert_marked(conn, event, source_id, child_id, false).await
}

/// Commits an event, marked as history (it restates the child's past: see
/// `pipeline::history`) or news, with its fact key so a later restatement is recognised.
pub async fn insert_marked(
    conn: &mut AnyConnection,
    event: &Event,
    source_id: &str,
    child_id: Uuid,
    history: bool,
) -> Result<()> {
    let body = serde_json::to_string(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO events (id, kind, source_id, source_agency, child_id, occurred_at, received_at, body, history, fact)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(event.id.to_string())
    .bind(event.kind().as_str())
    .bind(source_id)
    .bind(event.source.agency.as_str())
    .bind(child_id.to_string())
    .bind(to_ms(event.occurred_at))
    .bind(to_ms(event.received_at))
    .bind(body)
    .bind(i64::from(history))
    .bind(fact(event))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The key of the fact an event states: SHA-256 of its kind and its payload written with sorted
/// keys, so the same plan restated by another file, in another field order, is the same fact.
/// Whoever states it, whenever: the source, the envelope and the event's own times are not part
/// of it. A hash, not the payload, so the index holds no child data.
pub fn fact(event: &Event) -> String {
    use sha2::{Digest, Sha256};
    let body = serde_json::to_value(&event.body).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(event.kind().as_str().as_bytes());
    hasher.update(b"\n");
    write_canonical(
        &mut hasher,
        body.get("payload").unwrap_or(&serde_json::Value::Null),
    );
    hex::encode(hasher.finalize())
}

/// Feeds `value` to the hasher as JSON with object keys sorted, whatever order serde_json keeps.
fn write_canonical(hasher: &mut sha2::Sha256, value: &serde_json::Value) {
    use sha2::Digest;
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            hasher.update(b"{");
            for key in keys {
                hasher.update(
                    serde_json::Value::String(key.clone())
                        .to_string()
                        .as_bytes(),
                );
                hasher.update(b":");
                write_canonical(hasher, &map[key]);
                hasher.update(b",");
            }
            hasher.update(b"}");
        }
        serde_json::Value::Array(items) => {
            hasher.update(b"[");
            for item in items {
                write_canonical(hasher, item);
                hasher.update(b",");
            }
            hasher.update(b"]");
        }
        other => hasher.update(other.to_string().as_bytes()),
    }
}

/// Whether the hub already holds the fact `event` states about `child`: an event of the same
/// kind with the same payload.
pub async fn holds_fact(conn: &mut AnyConnection, child: Uuid, event: &Event) -> Result<bool> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE child_id = $1 AND fact = $2")
        .bind(child.to_string())
        .bind(fact(event))
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// The ids of a child's events that were committed as history.
pub async fn history_of(
    conn: &mut AnyConnection,
    child: Uuid,
) -> Result<std::collections::BTreeSet<Uuid>> {
    let rows = sqlx::query("SELECT id FROM events WHERE child_id = $1 AND history = 1")
        .bind(child.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(format!("event id: {e}")))
        })
        .collect()
}

/// How many of `ids` were committed as history: for an import's report.
pub async fn count_history(conn: &mut AnyConnection, ids: &[Uuid]) -> Result<usize> {
    let mut total = 0;
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT COUNT(*) AS n FROM events WHERE history = 1 AND id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(id.to_string());
        }
        let n: i64 = query.fetch_one(&mut *conn).await?.try_get("n")?;
        total += usize::try_from(n).unwrap_or_default();
    }
    Ok(total)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Event>> {
    let row = sqlx::query("SELECT body FROM events WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        let body: String = r.try_get("body")?;
        serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("event body: {e}")))
    })
    .transpose()
}

/// Every event about a child, oldest first.
pub async fn for_child(conn: &mut AnyConnection, child: Uuid) -> Result<Vec<Event>> {
    let rows = sqlx::query("SELECT body FROM events WHERE child_id = $1 ORDER BY received_at, id")
        .bind(child.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            let body: String = r.try_get("body")?;
            serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("event body: {e}")))
        })
        .collect()
}

pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM events")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("n")?)
}
