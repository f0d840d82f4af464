//! What operators do to the exception queues: quarantine and dead letters. Shared by the CLI
//! and the dashboard, so each action is audited the same way wherever it starts.

use std::sync::Arc;

use throughline_contracts::adapter::InputOutcome;
use uuid::Uuid;

use crate::config::Validated;
use crate::deliver::Wakers;
use crate::pipeline::{Origin, Pipeline};
use crate::store::{self, Store, StoreError, audit::AuditEntry};

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("no quarantine item with id {0}")]
    NotFound(Uuid),
    #[error("quarantine item {0} is already {1}")]
    NotHeld(Uuid, String),
    #[error("delivery {0} is not a dead letter")]
    NotDead(Uuid),
    #[error("deliveries to `{0}` are already {1}")]
    AgencyAlready(String, &'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for OperatorError {
    fn from(e: sqlx::Error) -> Self {
        OperatorError::Store(e.into())
    }
}

/// The audit entry of something an operator did, here or on the dashboard: every one names
/// the operator the same way.
pub(crate) fn entry(operator: &str, action: &str, detail: String) -> AuditEntry {
    AuditEntry {
        actor: format!("operator:{operator}"),
        action: action.into(),
        detail: Some(detail),
        ..Default::default()
    }
}

/// [`entry`] for an action on one agency's deliveries, so the log can be searched by agency.
fn agency_entry(operator: &str, agency: &str, action: &str, detail: String) -> AuditEntry {
    AuditEntry {
        agency: Some(agency.to_owned()),
        ..entry(operator, action, detail)
    }
}

/// Writes the action's audit entry in the action's own transaction and commits both: an
/// action is never done unaudited, nor audited undone.
async fn commit_audited(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    entry: AuditEntry,
) -> Result<(), OperatorError> {
    store::audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Shows a quarantined input, raw bytes included; the viewing is audited.
pub async fn show(
    store: &Store,
    operator: &str,
    id: Uuid,
) -> Result<store::quarantine::QuarantineItem, OperatorError> {
    let mut tx = store.begin().await?;
    let item = store::quarantine::get(&mut tx, id)
        .await?
        .ok_or(OperatorError::NotFound(id))?;
    commit_audited(
        tx,
        entry(
            operator,
            "quarantine.shown",
            format!("quarantine item {id} shown"),
        ),
    )
    .await?;
    Ok(item)
}

/// Runs a held input through the pipeline again with the current configuration.
pub async fn replay(
    config: Arc<Validated>,
    store: &Store,
    operator: &str,
    id: Uuid,
) -> Result<InputOutcome, OperatorError> {
    let item = {
        let mut conn = store.pool().acquire().await.map_err(StoreError::from)?;
        store::quarantine::get(&mut conn, id)
            .await?
            .ok_or(OperatorError::NotFound(id))?
    };
    if item.summary.status != "held" {
        return Err(OperatorError::NotHeld(id, item.summary.status));
    }
    {
        let mut conn = store.pool().acquire().await.map_err(StoreError::from)?;
        store::audit::append(
            &mut conn,
            &entry(
                operator,
                "quarantine.replay_requested",
                format!("quarantine item {id}"),
            ),
        )
        .await?;
    }
    // Workers in a running hub poll their queues, so deliveries committed here reach them.
    let pipeline = Pipeline::new(config, store.clone(), Wakers::default());
    Ok(pipeline
        .process(&item.raw, &item.format, Origin::Replay(id))
        .await)
}

/// Marks a held input discarded. It is kept (nothing quarantined is pruned) and audited.
pub async fn discard(
    store: &Store,
    operator: &str,
    id: Uuid,
    reason: &str,
) -> Result<(), OperatorError> {
    let mut tx = store.begin().await?;
    let item = store::quarantine::get(&mut tx, id)
        .await?
        .ok_or(OperatorError::NotFound(id))?;
    if !store::quarantine::resolve(
        &mut tx,
        id,
        "discarded",
        &format!("operator:{operator}"),
        None,
    )
    .await?
    {
        return Err(OperatorError::NotHeld(id, item.summary.status));
    }
    commit_audited(
        tx,
        entry(
            operator,
            "quarantine.discarded",
            format!("quarantine item {id} discarded: {reason}"),
        ),
    )
    .await
}

/// Puts every dead-lettered delivery back in its queue; audited.
pub async fn retry_dead(store: &Store, operator: &str) -> Result<usize, OperatorError> {
    let mut tx = store.begin().await?;
    let requeued = store::deliveries::retry_dead(&mut tx).await?;
    commit_audited(
        tx,
        entry(
            operator,
            "deliveries.retry_dead",
            format!("{} dead-lettered deliveries requeued", requeued.len()),
        ),
    )
    .await?;
    Ok(requeued.len())
}

/// Puts one dead-lettered delivery back in its queue, with the same idempotency key; audited.
/// Returns the agency whose queue it rejoined, so a running hub can wake that worker.
pub async fn retry_dead_letter(
    store: &Store,
    operator: &str,
    id: Uuid,
) -> Result<String, OperatorError> {
    let mut tx = store.begin().await?;
    let agency = store::deliveries::retry_one(&mut tx, id)
        .await?
        .ok_or(OperatorError::NotDead(id))?;
    commit_audited(
        tx,
        agency_entry(
            operator,
            &agency,
            "delivery.requeued",
            format!("dead-lettered delivery {id} requeued"),
        ),
    )
    .await?;
    Ok(agency)
}

/// Sets one dead-lettered delivery aside: it is kept, never sent, and the discard audited.
pub async fn discard_dead_letter(
    store: &Store,
    operator: &str,
    id: Uuid,
    reason: &str,
) -> Result<(), OperatorError> {
    let mut tx = store.begin().await?;
    if !store::deliveries::discard_dead(&mut tx, id).await? {
        return Err(OperatorError::NotDead(id));
    }
    commit_audited(
        tx,
        entry(
            operator,
            "delivery.discarded",
            format!("dead-lettered delivery {id} discarded: {reason}"),
        ),
    )
    .await
}

/// Pauses deliveries to an agency: its queue keeps filling and nothing is sent until resumed,
/// across restarts and on every instance; audited.
pub async fn pause_agency(
    store: &Store,
    operator: &str,
    agency: &str,
    reason: &str,
) -> Result<(), OperatorError> {
    let mut tx = store.begin().await?;
    if !store::agencies::pause(&mut tx, agency, &format!("operator:{operator}"), reason).await? {
        return Err(OperatorError::AgencyAlready(agency.to_owned(), "paused"));
    }
    commit_audited(
        tx,
        agency_entry(
            operator,
            agency,
            "agency.paused",
            format!("deliveries to `{agency}` paused: {reason}"),
        ),
    )
    .await
}

/// Resumes deliveries to a paused agency; audited.
pub async fn resume_agency(
    store: &Store,
    operator: &str,
    agency: &str,
) -> Result<(), OperatorError> {
    let mut tx = store.begin().await?;
    if !store::agencies::resume(&mut tx, agency).await? {
        return Err(OperatorError::AgencyAlready(agency.to_owned(), "running"));
    }
    commit_audited(
        tx,
        agency_entry(
            operator,
            agency,
            "agency.resumed",
            format!("deliveries to `{agency}` resumed"),
        ),
    )
    .await
}
