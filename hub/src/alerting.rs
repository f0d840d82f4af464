//! Operator alerts leave the hub: one notice when a problem opens and one when it resolves, sent
//! to every configured operator channel (`[[operator_channels]]`: a signed webhook, or email over
//! SMTP), never a flood (lessons.md, item 3; Mirth #1288).
//!
//! Alerts and their notices are written to the store by whoever sees the problem
//! (`store::alerts`); this module holds the rest of the loop: the channels ([`channel`]), the
//! notifier that sends the outbox with retries ([`notifier`]), and the evaluator that resolves
//! alerts whose condition has cleared ([`evaluate`]).

pub mod channel;
pub mod config;
pub mod evaluate;
pub mod notice;
pub mod notifier;
mod smtp;
mod webhook;

pub use config::{OperatorChannelConfig, SmtpChannelConfig, WebhookChannelConfig};
