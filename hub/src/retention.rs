//! The retention sweep: runs `store::retention::prune` on a schedule.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::RetentionConfig;
use crate::store::{self, Store};

pub async fn run(store: Store, config: RetentionConfig, cancel: CancellationToken) {
    let every = Duration::from_secs(config.sweep_interval_secs.max(1));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(config.delivered_days));
        let result = async {
            let mut conn = store.pool().acquire().await?;
            store::retention::prune(&mut conn, cutoff).await
        }
        .await;
        match result {
            Ok(p) => tracing::info!(
                deliveries = p.deliveries,
                events = p.events,
                "retention sweep"
            ),
            Err(e) => tracing::error!(error = %e, "retention sweep failed"),
        }
    }
}
