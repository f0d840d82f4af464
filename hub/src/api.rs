//! The HTTP API (axum). Handlers stay thin: extract, call one pipeline or store function, map
//! the result. Every error is an RFC 9457 problem (`application/problem+json`) built in one
//! place, [`problem::Problem`].

mod health;
mod ingest;
pub mod problem;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::pipeline::Pipeline;

#[derive(Clone)]
pub struct AppState {
    pub pipeline: Arc<Pipeline>,
    pub links: crate::health::Links,
}

pub fn router(state: AppState) -> Router {
    let limit = state.pipeline.config().api.body_limit_bytes;
    Router::new()
        .route("/v1/events", post(ingest::post_events))
        .route("/v1/ingest/{source}", post(ingest::post_native))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}
