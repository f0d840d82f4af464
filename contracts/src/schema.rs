//! JSON Schemas generated from the contract types.
//!
//! The schemas are checked in under `contracts/schema/` so that agencies' developers can read and
//! validate against them without Rust. `tests/schema_drift.rs` fails when the checked-in files
//! differ from what the types generate; run it with `UPDATE_SCHEMAS=1` to rewrite them.

use crate::event::{Event, EventSubmission};
use crate::notification::Notification;

/// Every published contract: its file stem and its schema.
pub fn contract_schemas() -> Vec<(&'static str, serde_json::Value)> {
    fn of<T: schemars::JsonSchema>() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(T)).expect("a schema is always JSON")
    }
    vec![
        ("event", of::<Event>()),
        ("event-submission", of::<EventSubmission>()),
        ("notification", of::<Notification>()),
    ]
}
