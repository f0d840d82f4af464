//! The notifier: sends the notice outbox to every operator channel, and runs the evaluator.
//!
//! Each tick it first resolves alerts whose condition cleared ([`super::evaluate`]), then sends
//! every due notice to the channels that do not have it yet. One send is retried a couple of
//! times in memory (backon, for a blip); if a channel is still failing the notice is held, with
//! a persisted, growing delay, and tried again on a later tick, on this instance or another.
//! So a channel that is down gets the notice when it comes back, and a channel that already has
//! it never gets it again: exactly one "opened" and one "resolved" per alert episode.

use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio_util::sync::CancellationToken;

use super::channel::Channel;
use super::notice::Notice;
use crate::config::Validated;
use crate::deliver::Backoff;
use crate::store::{self, Store, StoreError};

/// How long a notifier holds a notice while sending it: longer than every channel's attempts.
const CLAIM: Duration = Duration::from_secs(120);
/// How often sent notices past retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Notices taken per tick.
const BATCH: i64 = 50;

/// Runs until `cancel` fires, every `tick`.
pub async fn run(
    store: Store,
    config: Arc<Validated>,
    channels: Vec<Channel>,
    tick: Duration,
    cancel: CancellationToken,
) {
    let retry = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
    let mut last_prune: Option<std::time::Instant> = None;
    loop {
        if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            last_prune = Some(std::time::Instant::now());
            if let Err(e) = prune(&store, &config).await {
                tracing::warn!(error = %e, "pruning sent alert notices failed; will try again");
            }
        }
        if let Err(e) = super::evaluate::run(&store, &config).await {
            tracing::warn!(error = %e, "alert evaluation failed; will try again");
        }
        if let Err(e) = send_due(&store, &channels, &retry).await {
            tracing::warn!(error = %e, "sending alert notices failed; will try again");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(tick) => {}
        }
    }
}

/// Sent notices are kept as long as delivered notifications (`retention.delivered_days`).
async fn prune(store: &Store, config: &Validated) -> Result<(), StoreError> {
    let before =
        chrono::Utc::now() - chrono::Duration::days(i64::from(config.retention.delivered_days));
    store::alert_notices::prune_done(&mut *store.acquire().await?, before).await?;
    Ok(())
}

/// Sends every due notice once to each channel that does not have it.
pub async fn send_due(
    store: &Store,
    channels: &[Channel],
    retry: &Backoff,
) -> Result<(), StoreError> {
    let now = chrono::Utc::now();
    // Connections are taken per statement, never held across a send: on SQLite the pool has
    // one connection, and a channel that is slow to fail must not stall the hub.
    let due = store::alert_notices::due(&mut *store.acquire().await?, now, BATCH).await?;
    // A channel that failed once this tick is not tried again for the next notices: a relay
    // that hangs would otherwise cost its timeout once per waiting notice.
    let mut down: Vec<&str> = Vec::new();
    for n in due {
        let until = now + chrono::Duration::from_std(CLAIM).unwrap_or_default();
        let (alert, sent) = {
            let mut conn = store.acquire().await?;
            if !store::alert_notices::claim(&mut conn, &n.id, now, until).await? {
                continue;
            }
            let Some(alert) = store::alerts::get(&mut conn, &n.alert_id).await? else {
                store::alert_notices::finish(&mut conn, &n.id).await?;
                continue;
            };
            (
                alert,
                store::alert_notices::sent_to(&mut conn, &n.id).await?,
            )
        };
        let mut failures = Vec::new();
        for channel in channels
            .iter()
            .filter(|c| !sent.iter().any(|s| s == c.id()))
        {
            if down.contains(&channel.id()) {
                failures.push(format!("{}: failed earlier this round", channel.id()));
                continue;
            }
            let notice = Notice::new(&n.id, &n.transition, alert.clone(), channel.dashboard_url());
            let result = (|| channel.send(&notice))
                .retry(
                    ExponentialBuilder::default()
                        .with_min_delay(Duration::from_millis(200))
                        .with_max_delay(Duration::from_secs(2))
                        .with_max_times(2)
                        .with_jitter(),
                )
                .await;
            match result {
                Ok(()) => {
                    store::alert_notices::record_sent(
                        &mut *store.acquire().await?,
                        &n.id,
                        channel.id(),
                    )
                    .await?;
                    tracing::info!(channel = channel.id(), notice_id = %n.id, alert = %alert.kind, notice = %notice.kind, "alert notice sent");
                }
                Err(reason) => {
                    down.push(channel.id());
                    failures.push(format!("{}: {reason}", channel.id()));
                }
            }
        }
        let mut conn = store.acquire().await?;
        if failures.is_empty() {
            store::alert_notices::finish(&mut conn, &n.id).await?;
        } else {
            let attempts = n.attempts + 1;
            let delay = retry.delay(attempts as u32, None);
            let reason = failures.join("; ");
            tracing::warn!(notice_id = %n.id, attempts, retry_in_ms = delay.as_millis() as u64, reason = %reason, "alert notice not sent to every channel; will retry");
            let at = chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
            store::alert_notices::failed(&mut conn, &n.id, &reason, at).await?;
        }
    }
    Ok(())
}
