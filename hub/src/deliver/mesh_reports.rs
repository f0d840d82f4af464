//! MESH non-delivery reports become dead letters.
//!
//! The MESH sink counts a notification delivered when MESH stores it (`202` and a message id).
//! If the agency never collects it, MESH says so days later with a `REPORT` in the hub's own
//! sending mailbox (`throughline_adapter_mesh::reports`). Without this task that notification
//! would stay "delivered" for ever while nobody read it: exactly the silent loss the hub exists
//! to prevent. So each MESH sink has a reader of its mailbox's reports: a report whose
//! `Mex-LocalID` is one of this agency's deliveries (the sink sends the idempotency key as the
//! local id) dead-letters that delivery with MESH's code and description as the reason, audited
//! and alerted like any dead letter, and an operator can requeue it once the agency is back.
//!
//! A report is acknowledged only after its outcome is committed, so a crash in between reads it
//! again; dead-lettering twice changes nothing. A report naming no delivery of this agency (a
//! message another system sent from the same mailbox) is audited and acknowledged, so it does
//! not come back every poll. Several instances may read the same mailbox: each report is handled
//! by whichever reads it first, and a second handling is harmless.

use std::time::Duration;

use throughline_adapter_mesh::{MeshReports, MeshSinkConfig, NonDeliveryReport};
use throughline_contracts::AgencyId;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::store::{self, Store, StoreError, audit::AuditEntry, deliveries::DEAD};

/// Starts the report reader of one agency's MESH sink. Fails only on a configuration the sink
/// itself would refuse (the caller builds the sink first).
pub(super) fn spawn(
    agency: AgencyId,
    config: &MeshSinkConfig,
    store: Store,
    cancel: CancellationToken,
) -> Result<JoinHandle<()>, String> {
    let client = config.mailbox.build().map_err(|e| e.to_string())?;
    let reader = Reader {
        agency,
        reports: MeshReports::new(client),
        store,
        interval: config.report_poll_interval(),
    };
    Ok(tokio::spawn(reader.run(cancel)))
}

struct Reader {
    agency: AgencyId,
    reports: MeshReports,
    store: Store,
    interval: Duration,
}

/// What a report did.
#[derive(Debug, PartialEq, Eq)]
enum Handled {
    DeadLettered,
    AlreadyDead,
    Unmatched,
}

impl Reader {
    async fn run(self, cancel: CancellationToken) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.pass() => {}
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// Reads the reports waiting now and handles each; a failure leaves the rest for the next
    /// pass.
    async fn pass(&self) {
        let reports = match self.reports.poll_once().await {
            Ok(r) => r,
            Err(error) => {
                tracing::warn!(agency = %self.agency, error = %error, "MESH report poll failed; trying again next interval");
                return;
            }
        };
        for report in reports {
            match self.handle(&report).await {
                Ok(handled) => {
                    tracing::info!(agency = %self.agency, report_id = %report.report_id, outcome = ?handled, "MESH non-delivery report recorded");
                    if let Err(error) = self.reports.acknowledge(&report.report_id).await {
                        tracing::warn!(agency = %self.agency, report_id = %report.report_id, error = %error, "MESH report acknowledgement failed; it will be read again");
                    }
                }
                Err(error) => {
                    tracing::warn!(agency = %self.agency, report_id = %report.report_id, error = %error, "MESH report not recorded; it stays in the inbox");
                    return;
                }
            }
        }
    }

    async fn handle(&self, report: &NonDeliveryReport) -> Result<Handled, StoreError> {
        let mut tx = self.store.begin().await?;
        let delivery = match report.local_id.as_deref() {
            Some(key) => {
                store::deliveries::by_idempotency_key(&mut tx, self.agency.as_str(), key).await?
            }
            None => None,
        };
        let handled = match delivery {
            Some(d) if d.status == DEAD => Handled::AlreadyDead,
            Some(d) => {
                super::worker::dead_letter(&mut tx, &d, d.attempts, &report.reason()).await?;
                Handled::DeadLettered
            }
            None => {
                store::audit::append(
                    &mut tx,
                    &AuditEntry {
                        actor: "hub".into(),
                        action: "delivery.non_delivery_report_unmatched".into(),
                        agency: Some(self.agency.as_str().to_owned()),
                        detail: Some(format!(
                            "MESH report {} (linked message {}) names no delivery to this agency: {}",
                            report.report_id,
                            report.linked_message_id.as_deref().unwrap_or("none"),
                            report.reason()
                        )),
                        ..Default::default()
                    },
                )
                .await?;
                Handled::Unmatched
            }
        };
        tx.commit().await?;
        Ok(handled)
    }
}
