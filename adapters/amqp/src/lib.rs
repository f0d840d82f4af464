//! AMQP source and sink: consumes agency inputs from a RabbitMQ queue and publishes
//! notifications to an agency's exchange. Reference: `docs/adapters/amqp.md`.
//!
//! It speaks AMQP 0-9-1 (over TLS for `amqps` URLs, with rustls) through lapin 4.12, as RabbitMQ
//! implements it: manual acknowledgements with a prefetch on the consuming side, publisher
//! confirms and `mandatory` publishing on the other, and lapin's automatic connection recovery
//! on both. Many agency systems already sit on a message broker, and RabbitMQ is the common one;
//! with AMQP the broker keeps every input until the hub has committed it, and the hub learns
//! from the broker's confirm, not from hope, that a notification was taken.
//!
//! - [`config`]: [`AmqpSourceConfig`], [`AmqpSinkConfig`] and [`AmqpConnectionConfig`], checked
//!   by their `validate` functions with errors naming the key.
//! - [`topology`]: [`TopologyConfig`], the exchanges, queues and bindings declared at start-up.
//! - [`source`]: [`AmqpSource`], consuming a queue and settling each input by the hub's outcome
//!   (ack, dead-letter copy then ack, or requeue).
//! - [`sink`]: [`AmqpSink`], one confirmed publish per delivery and the confirm → outcome
//!   mapping.
//! - [`headers`]: the message headers Throughline reads and writes.
//! - [`status`]: [`StatusHandle`] and [`ConnectionState`], for `/readyz` and metrics.
//! - `connection`, `publisher`, [`error`]: opening connections, confirmed publishing, errors.
#![forbid(unsafe_code)]

pub mod config;
mod connection;
pub mod error;
pub mod headers;
mod publisher;
pub mod sink;
pub mod source;
pub mod status;
pub mod topology;

pub use config::{AmqpConfigError, AmqpConnectionConfig, AmqpSinkConfig, AmqpSourceConfig};
pub use error::AmqpError;
pub use sink::AmqpSink;
pub use source::AmqpSource;
pub use status::{ConnectionState, StatusHandle};
pub use topology::{
    BindingConfig, ExchangeConfig, ExchangeKindConfig, QueueConfig, TopologyConfig,
};
