//! Throughline's hub: the routing core between agencies' systems.
//!
//! Modules follow the pipeline (see [`pipeline`]): inputs arrive through the [`api`] (or a
//! source adapter), are committed with their deliveries by the [`pipeline`] into the [`store`],
//! and delivered by per-agency workers in [`deliver`]. [`operator`] holds what people do to the
//! exception queues; [`import`] runs files handed over outside a live feed (a school's Common
//! Transfer File) through the pipeline; [`app`] starts and stops it all.
#![forbid(unsafe_code)]

pub mod alerting;
pub mod api;
pub mod app;
pub mod config;
pub mod dashboard;
pub mod deliver;
pub mod handoff;
pub mod health;
pub mod import;
pub mod logging;
pub mod mapping_test;
pub mod metrics;
pub mod operator;
pub mod pipeline;
pub mod projection;
pub mod retention;
pub mod store;
pub mod telemetry;
