//! MESH adapter: a client for NHS England's MESH (Message Exchange for Social Care and Health)
//! API v2, the store-and-forward mailbox service health and social care use to exchange files
//! (CP-IS among them). Reference: `docs/adapters/mesh.md`.
//!
//! MESH is HTTPS with mutual TLS; every request is authenticated with an `NHSMESH` HMAC token
//! built from the mailbox password and the environment's shared key ([`auth`]). Messages wait in
//! the recipient's inbox until it downloads and acknowledges them, which gives at-least-once
//! delivery if, and only if, the receiver acknowledges after committing: [`MeshSource`] is shaped
//! so that is the natural way to use it. The protocol details (paths, `Mex-*` headers, chunking)
//! follow NHS England's `mesh-sandbox`, which the integration tests run against.
//!
//! - [`config`]: [`MeshConfig`], validated once by [`MeshConfig::build`].
//! - [`auth`]: the `NHSMESH` authorisation header.
//! - [`client`]: [`MeshClient`], one method per API operation.
//! - [`source`]: [`MeshSource`], poll and acknowledge; [`MeshInputs`], the hub's source (the
//!   poll loop, acknowledging after the hub's outcome).
//! - [`sink`]: [`MeshSink`], send; [`MeshNotificationSink`], the hub's sink (one notification
//!   per MESH message).
//! - [`reports`]: [`MeshReports`], MESH's non-delivery reports about messages this mailbox
//!   sent, which the hub turns into dead letters.
//! - [`message`]: [`MeshMessage`] (downloaded) and [`OutboundMessage`] (to send).
//! - [`error`]: [`MeshError`], what can go wrong and whether to retry.
#![forbid(unsafe_code)]

pub mod auth;
pub mod client;
pub mod config;
pub mod error;
pub mod message;
pub mod reports;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod sink;
pub mod source;

pub use client::MeshClient;
pub use config::{MeshConfig, MeshConfigError, MeshSinkConfig, MeshSourceConfig};
pub use error::{MeshError, Operation};
pub use message::{MeshMessage, MessageStatus, MessageType, OutboundMessage};
pub use reports::{MeshReports, NonDeliveryReport};
pub use sink::{MeshNotificationSink, MeshSink};
pub use source::{LinkStatus, MeshInputs, MeshSource};
