//! FHIR adapter: FHIR R4 (UK Core) in and out of the hub. Reference: `docs/adapters/fhir.md`.
//!
//! NHS trusts expose referrals, encounters, episodes of care and flags as FHIR R4 resources
//! profiled by UK Core, identifying the patient by NHS number. This crate reads them two ways
//! and writes one:
//! - push: a FHIR server's rest-hook subscription (or any sender) posts resources or Bundles to
//!   the hub's ingest endpoint of a source whose format is `fhir`, read by [`FhirNormaliser`];
//! - poll: [`FhirInputs`] searches the server by `_lastUpdated`, follows `next` links and hands
//!   each resource (with its Patient) to the hub, moving its cursor only once the hub has kept
//!   it ([`CursorStore`]);
//! - out: [`FhirNotificationSink`] writes each notification to an agency's FHIR server as a
//!   `Communication` about the patient, created at most once per notification.
//!
//! - [`config`]: [`FhirServerConfig`] and the source, sink and mapping configurations.
//! - [`auth`]: bearer tokens and NHS signed-JWT client credentials (RS512), with a token cache.
//! - [`client`]: [`FhirClient`], the few REST interactions used, over fhir-sdk.
//! - [`mapping`]: the `fhir` format (FHIR JSON → events) and its rules.
//! - [`poll`]: the hub source and its cursor.
//! - [`sink`]: the hub sink.
//! - [`error`]: [`FhirError`], what went wrong and whether to retry.
#![forbid(unsafe_code)]

pub mod auth;
pub mod client;
pub mod config;
pub mod error;
#[cfg(any(test, feature = "test-server"))]
pub mod fixtures;
pub mod mapping;
#[cfg(any(test, feature = "test-server"))]
pub mod pem;
pub mod poll;
pub mod sink;
#[cfg(feature = "test-server")]
pub mod test_server;

pub use client::FhirClient;
pub use config::{
    FhirAuthConfig, FhirConfigError, FhirMappingConfig, FhirServerConfig, FhirSinkConfig,
    FhirSourceConfig, PolledResource,
};
pub use error::{FhirError, Operation};
pub use mapping::{FhirNormaliser, Mapping};
pub use poll::{CursorError, CursorStore, FhirInputs, LinkStatus, MemoryCursorStore};
pub use sink::FhirNotificationSink;
