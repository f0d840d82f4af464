//! Configurable mappings: an agency system's own JSON (a school MIS webhook, a case system's
//! webhook) or CSV (a case system's scheduled extract) turned into canonical event submissions by
//! a declarative `[[mappings]]` table in the hub's configuration, without code. Reference:
//! `docs/adapters/mapping.md`.
//!
//! Why declarative: the people who connect a school's MIS or a local authority's case system are
//! IT teams, not Rust developers. Like a Mirth channel or a Redpanda Connect mapping, a mapping
//! says where each canonical field comes from; unlike them, it is checked against the contracts
//! when the hub starts, so a typo is a start-up error naming the key, not a quarantine full of
//! children's records a week later.
//!
//! - [`config`]: [`MappingConfig`], the TOML shape.
//! - [`Mapping::build`] (in `build`): checks a configuration against the contracts and compiles
//!   it; every problem is a [`MappingConfigError`] naming its key.
//! - `normalise`: [`Mapping`] as a [`Normaliser`](throughline_contracts::adapter::Normaliser):
//!   record by record, every problem named by its SOURCE field (a JSON pointer, or
//!   `row 7, column "Referral Date"`), never with the value.
//! - `contract`: what each kind's payload needs, read from the contracts' JSON Schema.
//! - `records`, `rule`, `coerce`: splitting an input into records, reading one field, and turning
//!   the text a system sends into the type the contract wants (dates, numbers, code lists).
#![forbid(unsafe_code)]

mod build;
mod coerce;
pub mod config;
mod contract;
mod error;
mod normalise;
mod records;
mod rule;
#[cfg(test)]
mod testing;

pub use build::Mapping;
pub use config::MappingConfig;
pub use error::{ConfigProblem, MappingConfigError};

/// The prefix of a source's `format` that names a mapping: `format = "mapping:<id>"`.
pub const FORMAT_PREFIX: &str = "mapping:";
