//! Throughline's shared contracts: validated child identifiers, demographic evidence, the event
//! envelope (version 1) with a typed payload per kind, the rendered notification sinks deliver,
//! and the adapter interface (sources, sinks, normalisers).
//!
//! Adapters depend on this crate only; the hub depends on adapters and this crate. Keeping the
//! contracts in one small crate means an adapter author can read everything they must honour in
//! one sitting.
#![forbid(unsafe_code)]

pub mod adapter;
pub mod agency;
pub mod demographics;
pub mod event;
pub mod identifiers;
pub mod kind;
pub mod notification;
pub mod redact;
pub mod schema;

pub use agency::AgencyId;
