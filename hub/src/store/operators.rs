//! Operators' accounts and their dashboard sessions.
//!
//! Passwords are stored only as argon2id PHC strings (hashed by `dashboard::accounts`), and a
//! session only as the SHA-256 of the random id its cookie carries: neither a copy of the store
//! nor a look at this table lets anyone log in.

use sqlx::{AnyConnection, Row};

use super::{Result, from_ms, to_ms};

/// An operator's account as listed (no password hash).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OperatorRecord {
    pub username: String,
    pub role: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub disabled: bool,
}

/// What logging in needs: the hash to verify, the role, and whether the account may log in.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
}

/// A live session with its operator, as every dashboard request reads it.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub username: String,
    pub role: String,
    pub csrf_token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub last_seen: chrono::DateTime<chrono::Utc>,
    pub disabled: bool,
}

/// Adds an account; `false` if the username is taken. It writes before it reads anything, so
/// that on SQLite the CLI's transaction waits for a running hub's writes instead of failing.
pub async fn add(
    conn: &mut AnyConnection,
    username: &str,
    password_hash: &str,
    role: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO operators (username, password_hash, role, created_at, disabled)
         VALUES ($1, $2, $3, $4, 0) ON CONFLICT (username) DO NOTHING",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role)
    .bind(to_ms(chrono::Utc::now()))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Every account, by username.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<OperatorRecord>> {
    let rows =
        sqlx::query("SELECT username, role, created_at, disabled FROM operators ORDER BY username")
            .fetch_all(&mut *conn)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(OperatorRecord {
                username: r.try_get("username")?,
                role: r.try_get("role")?,
                created_at: from_ms(r.try_get("created_at")?),
                disabled: r.try_get::<i64, _>("disabled")? != 0,
            })
        })
        .collect()
}

pub async fn credentials(conn: &mut AnyConnection, username: &str) -> Result<Option<Credentials>> {
    let row = sqlx::query(
        "SELECT username, password_hash, role, disabled FROM operators WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Credentials {
            username: r.try_get("username")?,
            password_hash: r.try_get("password_hash")?,
            role: r.try_get("role")?,
            disabled: r.try_get::<i64, _>("disabled")? != 0,
        })
    })
    .transpose()
}

/// Disables an account and ends its sessions; `false` if there is no such account.
pub async fn disable(conn: &mut AnyConnection, username: &str) -> Result<bool> {
    let done = sqlx::query("UPDATE operators SET disabled = 1 WHERE username = $1")
        .bind(username)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM operator_sessions WHERE username = $1")
        .bind(username)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn create_session(
    conn: &mut AnyConnection,
    id_hash: &str,
    username: &str,
    csrf_token: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let now = to_ms(chrono::Utc::now());
    sqlx::query(
        "INSERT INTO operator_sessions (id_hash, username, csrf_token, created_at, expires_at, last_seen)
         VALUES ($1, $2, $3, $4, $5, $4)",
    )
    .bind(id_hash)
    .bind(username)
    .bind(csrf_token)
    .bind(now)
    .bind(to_ms(expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn session(conn: &mut AnyConnection, id_hash: &str) -> Result<Option<SessionRecord>> {
    let row = sqlx::query(
        "SELECT s.username, o.role, s.csrf_token, s.expires_at, s.last_seen, o.disabled
         FROM operator_sessions s JOIN operators o ON o.username = s.username
         WHERE s.id_hash = $1",
    )
    .bind(id_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(SessionRecord {
            username: r.try_get("username")?,
            role: r.try_get("role")?,
            csrf_token: r.try_get("csrf_token")?,
            expires_at: from_ms(r.try_get("expires_at")?),
            last_seen: from_ms(r.try_get("last_seen")?),
            disabled: r.try_get::<i64, _>("disabled")? != 0,
        })
    })
    .transpose()
}

/// Records activity on a session (the idle timeout counts from here).
pub async fn touch(
    conn: &mut AnyConnection,
    id_hash: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    sqlx::query("UPDATE operator_sessions SET last_seen = $1 WHERE id_hash = $2")
        .bind(to_ms(now))
        .bind(id_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn end_session(conn: &mut AnyConnection, id_hash: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM operator_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes sessions past their absolute expiry or idle since before `idle_since`.
pub async fn end_stale_sessions(
    conn: &mut AnyConnection,
    now: chrono::DateTime<chrono::Utc>,
    idle_since: chrono::DateTime<chrono::Utc>,
) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM operator_sessions WHERE expires_at <= $1 OR last_seen < $2")
            .bind(to_ms(now))
            .bind(to_ms(idle_since))
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}
