//! The HTTP API (axum). Handlers stay thin: extract, call one pipeline or store function, map
//! the result. Every error is an RFC 9457 problem (`application/problem+json`) built in one
//! place, [`problem::Problem`].

mod children;
mod handoffs;
mod health;
mod ingest;
pub mod openapi;
mod operator;
pub mod problem;
mod upload;

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
        .route("/v1/ingest/{source}/ctf", post(ingest::post_ctf))
        .route("/v1/ingest/{source}/cin", post(ingest::post_cin))
        .route("/v1/ingest/{source}/file", post(ingest::post_file))
        .route("/v1/handoffs", get(handoffs::list))
        .route("/v1/handoffs/{id}", get(handoffs::get))
        .route("/v1/handoffs/{id}/acknowledge", post(handoffs::acknowledge))
        .route(
            "/v1/handoffs/{id}/exemption",
            post(handoffs::start_exemption),
        )
        .route(
            "/v1/handoffs/{id}/exemption/end",
            post(handoffs::end_exemption),
        )
        .route("/v1/children/{id}/timeline", get(children::timeline))
        .route("/v1/deliveries", get(operator::deliveries))
        .route("/v1/quarantine", get(operator::quarantine))
        .route("/v1/quarantine/{id}", get(operator::quarantine_item))
        .route("/v1/agencies", get(operator::agencies))
        .route("/v1/openapi.json", get(openapi::serve))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        // Bounds the inputs' bodies; whole-file uploads read their `Body` themselves, bounded
        // by `api.file_upload_limit_bytes` (`upload`).
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}
