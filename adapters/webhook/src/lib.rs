//! Webhook sink: delivers each notification to an agency's own HTTP(S) endpoint as a signed JSON
//! POST. Reference: `docs/adapters/webhook.md`.
//!
//! It speaks HTTP/1.1 (over TLS for `https` URLs, with rustls) with a JSON body (the serialised
//! [`Notification`](throughline_contracts::notification::Notification)), an `Idempotency-Key` for
//! deduplication and a Stripe-style HMAC-SHA256 signature over timestamp and body. A webhook is the
//! lowest common denominator: any agency that can run a small web service can receive
//! notifications, and the signing scheme is one they likely already verify for a payment
//! provider, so receivers need no Throughline-specific library.
//!
//! - [`config`]: [`WebhookConfig`], validated once by [`WebhookConfig::build`].
//! - [`sink`]: [`WebhookSink`], one signed POST per delivery and the status → outcome mapping.
//! - [`signature`]: [`sign`] and [`verify`], for the sink and for receivers.
//! - [`retry_after`]: reading a receiver's `Retry-After`.
#![forbid(unsafe_code)]

pub mod config;
pub mod retry_after;
pub mod signature;
pub mod sink;

pub use config::{WebhookConfig, WebhookConfigError};
pub use retry_after::parse_retry_after;
pub use signature::{SignatureError, sign, verify};
pub use sink::WebhookSink;
