//! Starting and stopping the hub: store, delivery workers, retention sweep, handoff clock, broker
//! sources, drop folders and HTTP API, tied to one cancellation token.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::config::Transport;
use crate::config::Validated;
use crate::dashboard;
use crate::deliver::{self, Wakers};
use crate::handoff;
use crate::health::Links;
use crate::import::drop_folder::{self, DropFolder};
use crate::pipeline::{Pipeline, receive};
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
    #[error("sources `{source_id}` ({adapter}): {reason}")]
    Source {
        source_id: String,
        adapter: &'static str,
        reason: String,
    },
    #[error("HTTP server: {0}")]
    Serve(std::io::Error),
}

/// Runs the hub until `cancel` fires.
pub async fn serve(config: Arc<Validated>, cancel: CancellationToken) -> Result<(), AppError> {
    let store = Store::connect(&config.store.url).await?;
    let wakers = Wakers::for_agencies(config.agencies.keys());
    let pipeline = Arc::new(Pipeline::new(config.clone(), store.clone(), wakers.clone()));
    let links = Links::default();
    let workers = deliver::spawn_workers(
        &config,
        &store,
        &wakers,
        &links,
        pipeline.metrics(),
        &cancel,
    )
    .await
    .map_err(AppError::Sink)?;
    let sweeper = tokio::spawn(retention::run(
        store.clone(),
        config.retention.clone(),
        cancel.clone(),
    ));
    let clock = tokio::spawn(handoff::scheduler::run(pipeline.clone(), cancel.clone()));
    let notifier = spawn_notifier(&config, &store, &cancel)?;
    let sources = start_sources(&config, &pipeline, &links, &cancel).await?;
    let drops = start_drops(&config, &pipeline, &cancel)?;

    let addr = config.api.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| AppError::Listen { addr, source })?;
    tracing::info!(%addr, agencies = config.agencies.len(), sources = config.sources.len(), "throughline listening");
    let routes = api::router(AppState {
        pipeline: pipeline.clone(),
        links: links.clone(),
    })
    .merge(dashboard::router(pipeline, links, cancel.clone()));
    axum::serve(listener, routes)
        .with_graceful_shutdown(cancel.clone().cancelled_owned())
        .await
        .map_err(AppError::Serve)?;

    cancel.cancel();
    for s in sources.into_iter().chain(drops) {
        let _ = s.await;
    }
    for w in workers {
        let _ = w.await;
    }
    let _ = sweeper.await;
    let _ = clock.await;
    let _ = notifier.await;
    tracing::info!("throughline stopped");
    Ok(())
}

/// Builds the operator channels and starts the alert notifier (`crate::alerting`): it ticks with
/// the delivery poll interval, so a notice leaves about as soon as a delivery would.
fn spawn_notifier(
    config: &Arc<Validated>,
    store: &Store,
    cancel: &CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, AppError> {
    let channels = config
        .operator_channels
        .iter()
        .map(|c| {
            crate::alerting::channel::Channel::build(c)
                .map_err(|e| AppError::Sink(format!("operator channel `{}`: {e}", c.id())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(tokio::spawn(crate::alerting::notifier::run(
        store.clone(),
        config.clone(),
        channels,
        std::time::Duration::from_millis(config.delivery.poll_interval_ms),
        cancel.clone(),
    )))
}

/// Connects every broker source and runs it through the pipeline until `cancel` fires. A source
/// that cannot connect at start-up (broker down, queue or topic missing) stops the hub with an
/// error naming it; after start-up, the adapters reconnect by themselves.
async fn start_sources(
    config: &Validated,
    pipeline: &Arc<Pipeline>,
    links: &Links,
    cancel: &CancellationToken,
) -> Result<Vec<tokio::task::JoinHandle<()>>, AppError> {
    let mut tasks = Vec::new();
    for source in config.sources.values() {
        let fail = |reason: String| AppError::Source {
            source_id: source.id.clone(),
            adapter: source.transport.adapter(),
            reason,
        };
        let mut input: Box<dyn throughline_contracts::adapter::Source> = match &source.transport {
            Transport::Http { .. } => continue,
            Transport::Amqp(c) => {
                let s = throughline_adapter_amqp::AmqpSource::connect(source.id.clone(), c)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                let status = s.status_handle();
                links.register("amqp", "source", source.id.clone(), move || {
                    status.connected()
                });
                Box::new(s)
            }
            Transport::Kafka(c) => {
                let s = throughline_adapter_kafka::KafkaSource::connect(source.id.clone(), c)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                let status = s.status_handle();
                links.register("kafka", "source", source.id.clone(), move || {
                    status.connected()
                });
                Box::new(s)
            }
            Transport::Mesh(c) => {
                let s = throughline_adapter_mesh::MeshInputs::connect(source.id.clone(), c)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                let status = s.status_handle();
                links.register("mesh", "source", source.id.clone(), move || {
                    status.connected()
                });
                Box::new(s)
            }
            Transport::Fhir(c) => {
                let cursors = Arc::new(crate::store::cursors::StoreCursors::new(
                    pipeline.store().clone(),
                ));
                let s =
                    throughline_adapter_fhir::FhirInputs::connect(source.id.clone(), c, cursors)
                        .await
                        .map_err(|e| fail(e.to_string()))?;
                let status = s.status_handle();
                links.register("fhir", "source", source.id.clone(), move || {
                    status.connected()
                });
                Box::new(s)
            }
        };
        tracing::info!(source_id = %source.id, adapter = source.transport.adapter(), "source started");
        let (pipeline, cancel, format, id) = (
            pipeline.clone(),
            cancel.clone(),
            source.format.clone(),
            source.id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = receive::run_source(&pipeline, input.as_mut(), &format) => {
                    tracing::warn!(source_id = %id, "source ended");
                }
            }
        }));
    }
    Ok(tasks)
}

/// Watches every source's drop folder until `cancel` fires. A folder whose subfolders cannot be
/// created stops the hub with an error naming the source.
fn start_drops(
    config: &Validated,
    pipeline: &Arc<Pipeline>,
    cancel: &CancellationToken,
) -> Result<Vec<tokio::task::JoinHandle<()>>, AppError> {
    let mut tasks = Vec::new();
    for source in config.sources.values() {
        let Some(drop) = &source.drop else {
            continue;
        };
        let folder = DropFolder::open(&drop.folder).map_err(|e| AppError::Source {
            source_id: source.id.clone(),
            adapter: "drop-folder",
            reason: e.to_string(),
        })?;
        tracing::info!(source_id = %source.id, folder = %drop.folder.display(), reader = drop.reader.as_str(), "drop folder watched");
        tasks.push(tokio::spawn(drop_folder::run(
            pipeline.clone(),
            source.id.clone(),
            folder,
            drop.reader,
            std::time::Duration::from_millis(drop.poll_interval_ms),
            cancel.clone(),
        )));
    }
    Ok(tasks)
}
