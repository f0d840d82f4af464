//! Operators' local accounts: roles, argon2id password hashes, and the account commands the
//! CLI runs (`throughline operators add|list|disable`).
//!
//! The role decides everything the dashboard lets a person do or see; the matrix lives here
//! alone so that a page cannot grow its own idea of it:
//!
//! | role       | view pages | replay, requeue, discard, pause, resume | see child data (audited) |
//! |------------|------------|-----------------------------------------|--------------------------|
//! | `auditor`  | yes        | no                                      | no                       |
//! | `operator` | yes        | yes                                     | no                       |
//! | `admin`    | yes        | yes                                     | yes                      |
//!
//! Confirming and rejecting a possible identity match count as acting.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::store::{self, Store, StoreError, audit::AuditEntry, operators::OperatorRecord};

/// Shorter passwords are refused: length is what makes a password hard to guess.
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Works the exception queues; sees child data masked.
    Operator,
    /// An operator who may also see child data, each viewing audited.
    Admin,
    /// Reads everything an operator reads; changes nothing.
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// Replay, requeue, discard, pause and resume; confirm and reject possible matches.
    pub fn may_act(self) -> bool {
        matches!(self, Role::Operator | Role::Admin)
    }

    /// Raw inputs and notifications unmasked.
    pub fn sees_child_data(self) -> bool {
        matches!(self, Role::Admin)
    }
}

impl std::str::FromStr for Role {
    type Err = AccountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            "auditor" => Ok(Role::Auditor),
            _ => Err(AccountError::UnknownRole),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(
        "a username is 1 to 64 characters: lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit"
    )]
    InvalidUsername,
    #[error("role must be operator, admin or auditor")]
    UnknownRole,
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("an operator named `{0}` already exists")]
    Taken(String),
    #[error("no operator named `{0}`")]
    NoSuchOperator(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn valid_username(u: &str) -> bool {
    let mut chars = u.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && u.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

/// An argon2id PHC string for `password`, with a fresh random salt (OWASP's parameters:
/// 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string. A malformed hash matches nothing.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn audit(by: &str, action: &str, detail: String) -> AuditEntry {
    AuditEntry {
        actor: format!("operator:{by}"),
        action: action.into(),
        detail: Some(detail),
        ..Default::default()
    }
}

/// Creates an account; `by` is whoever ran the command (audited).
pub async fn add(
    store: &Store,
    by: &str,
    username: &str,
    role: Role,
    password: &str,
) -> Result<(), AccountError> {
    if !valid_username(username) {
        return Err(AccountError::InvalidUsername);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    let owned = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&owned))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))??;
    let mut tx = store.begin().await?;
    if !store::operators::add(&mut tx, username, &hash, role.as_str()).await? {
        return Err(AccountError::Taken(username.to_owned()));
    }
    store::audit::append(
        &mut tx,
        &audit(
            by,
            "operator_account.added",
            format!(
                "operator account `{username}` added with role {}",
                role.as_str()
            ),
        ),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

pub async fn list(store: &Store) -> Result<Vec<OperatorRecord>, AccountError> {
    let mut conn = store.acquire().await?;
    Ok(store::operators::list(&mut conn).await?)
}

/// Disables an account and ends its sessions at once; audited.
pub async fn disable(store: &Store, by: &str, username: &str) -> Result<(), AccountError> {
    let mut tx = store.begin().await?;
    if !store::operators::disable(&mut tx, username).await? {
        return Err(AccountError::NoSuchOperator(username.to_owned()));
    }
    store::audit::append(
        &mut tx,
        &audit(
            by,
            "operator_account.disabled",
            format!("operator account `{username}` disabled"),
        ),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_own_password_only() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[test]
    fn usernames_are_plain_slugs() {
        assert!(valid_username("ada.l-2"));
        assert!(!valid_username(""));
        assert!(!valid_username("Ada"));
        assert!(!valid_username("-ada"));
        assert!(!valid_username("ada smith"));
        assert!(!valid_username(&"a".repeat(65)));
    }

    #[test]
    fn only_admins_see_child_data_and_auditors_change_nothing() {
        assert!(Role::Admin.sees_child_data());
        assert!(!Role::Operator.sees_child_data());
        assert!(!Role::Auditor.sees_child_data());
        assert!(Role::Operator.may_act() && Role::Admin.may_act());
        assert!(!Role::Auditor.may_act());
    }
}
