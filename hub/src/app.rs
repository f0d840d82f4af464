//! Starting and stopping the hub: store, delivery workers, retention sweep and HTTP API, tied
//! to one cancellation token.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::config::Validated;
use crate::deliver::{self, Wakers};
use crate::pipeline::Pipeline;
use crate::retention;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("delivery: {0}")]
    Sink(String),
    #[error("HTTP server: {0}")]
    Serve(std::io::Error),
}

/// Runs the hub until `cancel` fires.
pub async fn serve(config: Arc<Validated>, cancel: CancellationToken) -> Result<(), AppError> {
    let store = Store::connect(&config.store.url).await?;
    let wakers = Wakers::for_agencies(config.agencies.keys());
    let pipeline = Arc::new(Pipeline::new(config.clone(), store.clone(), wakers.clone()));
    let workers =
        deliver::spawn_workers(&config, &store, &wakers, &cancel).map_err(AppError::Sink)?;
    let sweeper = tokio::spawn(retention::run(
        store.clone(),
        config.retention.clone(),
        cancel.clone(),
    ));

    let addr = config.api.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| AppError::Listen { addr, source })?;
    tracing::info!(%addr, agencies = config.agencies.len(), sources = config.sources.len(), "throughline listening");
    axum::serve(listener, api::router(AppState { pipeline }))
        .with_graceful_shutdown(cancel.clone().cancelled_owned())
        .await
        .map_err(AppError::Serve)?;

    cancel.cancel();
    for w in workers {
        let _ = w.await;
    }
    let _ = sweeper.await;
    tracing::info!("throughline stopped");
    Ok(())
}
