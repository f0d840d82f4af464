//! The event envelope, version 1: what every adapter produces and the hub stores and routes.
//!
//! An [`EventSubmission`] is what a source sends (its id is optional so a source can retry
//! without knowing whether the first attempt landed: when it supplies one, the hub deduplicates
//! on it). An [`Event`] is the submission after the hub has received it: it has an id and a
//! `received_at`, and is what gets committed.

mod dates;

use chrono::{DateTime, Datelike, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AgencyId;
use crate::demographics::Demographics;
use crate::identifiers::{LocalId, NhsNumber, Upn};
use crate::kind::{EventBody, EventKind};

pub use dates::EVENT_YEARS;

/// The envelope version this crate reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Where an event came from: the agency, the system it runs and the adapter that read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventSource {
    pub agency: AgencyId,
    /// The agency's system, e.g. `arbor`, `liquidlogic`, `rio`.
    pub system: String,
    /// The adapter that read it, e.g. `http-ingest`, `amqp`.
    pub adapter: String,
}

/// The identifiers the sending system holds for the child. At least one is required: identity
/// resolution links on these and on nothing else.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectIdentifiers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhs_number: Option<NhsNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<Upn>,
    /// UPNs the child had before `upn`: a temporary UPN replaced once the permanent one was
    /// found, or a UPN the DfE corrected (a CTF's `FormerUPN`). They link the child's old
    /// records to this one: the hub treats them as the same child, not as a second UPN in
    /// conflict. Alone they identify nobody (at least one of the other identifiers is required).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub former_upns: Vec<Upn>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_ids: Vec<LocalId>,
}

impl SubjectIdentifiers {
    pub fn is_empty(&self) -> bool {
        self.nhs_number.is_none() && self.upn.is_none() && self.local_ids.is_empty()
    }
}

/// The child an event is about: identifiers, and demographic evidence kept separately.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub identifiers: SubjectIdentifiers,
    #[serde(default, skip_serializing_if = "Demographics::is_empty")]
    pub demographics: Demographics,
}

/// An event as a source submits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventSubmission {
    /// Envelope version; must be 1.
    pub schema_version: u32,
    /// Optional UUIDv7 chosen by the source; resubmitting the same id is idempotent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    /// When the source restated this fact, for a record that re-announces the child's past
    /// (a transfer file or an annual census repeats SEN history, plans and care status): the
    /// file's reference date. Absent for news. The hub treats an event whose `occurred_at` is
    /// more than its history window before `as_at` as history: it updates the child's record and
    /// timeline, but opens no handoff or clock and notifies nobody (`docs/handoffs.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_at: Option<DateTime<Utc>>,
    pub source: EventSource,
    pub subject: Subject,
    #[serde(flatten)]
    pub body: EventBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
}

/// A committed event: a submission the hub has received, with its id and arrival time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    pub schema_version: u32,
    /// UUIDv7, so ids sort by creation time.
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// When the source restated this fact, for a record that re-announces the child's past
    /// (a transfer file or an annual census repeats SEN history, plans and care status): the
    /// file's reference date. Absent for news. The hub treats an event whose `occurred_at` is
    /// more than its history window before `as_at` as history: it updates the child's record and
    /// timeline, but opens no handoff or clock and notifies nobody (`docs/handoffs.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_at: Option<DateTime<Utc>>,
    pub source: EventSource,
    pub subject: Subject,
    #[serde(flatten)]
    pub body: EventBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
}

impl Event {
    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }
}

/// One specific thing wrong with an input, naming the field by its JSON path. The reason never
/// contains the offending value, because the value may be child data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FieldProblem {
    /// JSON path of the field, e.g. `subject.identifiers.nhs_number`.
    pub field: String,
    pub reason: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl EventSubmission {
    /// Checks what the types alone cannot: the envelope version, an id that is a UUIDv7, at
    /// least one identifier, an event time that is not in the future, and every date in the
    /// years [`EVENT_YEARS`].
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), Vec<FieldProblem>> {
        let mut problems = Vec::new();
        if self.schema_version != SCHEMA_VERSION {
            problems.push(FieldProblem::new(
                "schema_version",
                format!("must be {SCHEMA_VERSION}, found {}", self.schema_version),
            ));
        }
        if let Some(id) = self.id
            && id.get_version_num() != 7
        {
            problems.push(FieldProblem::new(
                "id",
                format!("must be a UUIDv7, found version {}", id.get_version_num()),
            ));
        }
        if self.subject.identifiers.is_empty() {
            problems.push(FieldProblem::new(
                "subject.identifiers",
                "at least one of nhs_number, upn or local_ids is required",
            ));
        }
        if self.occurred_at > now + chrono::Duration::minutes(5) {
            problems.push(FieldProblem::new(
                "occurred_at",
                "must not be in the future",
            ));
        }
        for (field, at) in [
            ("occurred_at", Some(self.occurred_at)),
            ("as_at", self.as_at),
        ] {
            if at.is_some_and(|t| !EVENT_YEARS.contains(&t.year())) {
                problems.push(FieldProblem::new(field, dates::reason()));
            }
        }
        // Every other date, wherever it sits: a deadline is counted from payload dates, and a
        // date far outside a child's life would overflow the calendar (`dates`).
        for (prefix, value) in [
            ("subject", serde_json::to_value(&self.subject)),
            (
                "payload",
                serde_json::to_value(&self.body).map(|b| b["payload"].clone()),
            ),
        ] {
            if let Ok(value) = value {
                dates::check(&value, &mut prefix.to_owned(), &mut problems);
            }
        }
        if let Some(as_at) = self.as_at {
            if as_at > now + chrono::Duration::minutes(5) {
                problems.push(FieldProblem::new("as_at", "must not be in the future"));
            }
            if as_at < self.occurred_at {
                problems.push(FieldProblem::new(
                    "as_at",
                    "must not be before occurred_at: a record restates what had already happened",
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Accepts the submission: gives it an id (the source's, or a new UUIDv7) and its arrival time.
    pub fn into_event(self, received_at: DateTime<Utc>) -> Event {
        Event {
            schema_version: self.schema_version,
            id: self.id.unwrap_or_else(Uuid::now_v7),
            occurred_at: self.occurred_at,
            received_at,
            as_at: self.as_at,
            source: self.source,
            subject: self.subject,
            body: self.body,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
        }
    }
}
