//! `GET /v1/openapi.json`: the OpenAPI 3.1 document of the hub's HTTP API.
//!
//! Why it is assembled here from schemars rather than with utoipa: the event contracts derive
//! schemars' `JsonSchema`, and the published `contracts/schema/*.json` are generated from those
//! derives. utoipa describes types through its own `ToSchema` derive, which would be a second
//! description of every contract type, free to drift from the first. OpenAPI 3.1's schema
//! dialect is JSON Schema 2020-12, which is what schemars writes, so the contracts' schemas go
//! into `components/schemas` as generated, from the same types, and the hub's own request and
//! response types (`Problem`, `Handoff`, the operator pages...) derive `JsonSchema` as well.
//! Written by hand here is only what no type holds: the paths, the statuses each handler can
//! answer and why, and the two bodies built as JSON values (readiness and a child's timeline).
//!
//! Two tests keep it honest: `openapi/tests.rs` fails when a route registered under `/v1` in
//! `api.rs` is missing from the document, and `tests/openapi.rs` runs schemathesis against the
//! real hub, checking every answer against the document. The dashboard (`/dashboard`) is a
//! website, not part of the API, and is not described.

mod build;

use std::sync::LazyLock;

use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use throughline_contracts::event::EventSubmission;
use throughline_contracts::kind::EventKind;

use super::handoffs::{Acknowledgement, ExemptionEnd, ExemptionRequest, HandoffList, ListQuery};
use super::ingest::Accepted;
use super::operator::{
    AgencyList, DeliveriesQuery, DeliveryPage, QuarantinePage, QuarantineQuery, QuarantineView,
};
use super::problem::Problem;
use crate::import::{ImportReport, InputReport};
use crate::store::deliveries::DeliverySummary;
use crate::store::handoffs::Handoff;
use build::{OPERATOR_KEY, Op, SOURCE_KEY, SOURCE_KEY_HEADER, Schemas};

/// `GET /v1/openapi.json`. Open to anyone, like `/healthz`: it describes the API, not its data.
pub async fn serve() -> Response {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(document);
    axum::Json(&*DOCUMENT).into_response()
}

/// The whole document.
pub fn document() -> Value {
    let mut s = Schemas::new();
    // Every problem answer refers to it by name.
    s.response::<Problem>();
    let accepted = s.response::<Accepted>();
    let handoff = s.response::<Handoff>();
    let delivery = s.response::<DeliverySummary>();
    let kind = s.response::<EventKind>();
    let submission = s.request::<EventSubmission>();
    let native = json!({
        "application/json": {"schema": {}},
        "application/fhir+json": {"schema": {"type": "object"}},
        "text/csv": {"schema": {"type": "string"}},
    });
    let xml = json!({"application/xml": {"schema": {"type": "string"}}});
    let quarantined = "Rejected: `errors` names each field and why, `step` the pipeline step, and `quarantine_id` where the input is kept.";
    let handoff_id = "The handoff's id (a UUID).";
    let refused = "`assertion-refused`: the source may not send this kind, change this agency's involvement, or assert local ids in this namespace; `errors` names the field and the rule, and the input is quarantined (`docs/security.md`).";
    let conflict = "`idempotency-conflict`: the event id or `Idempotency-Key` was already committed with a different body; `errors` names both digests, and the input is quarantined.";

    let mut paths = Map::new();
    let mut add = |path: &str, method: &str, op: Op| {
        paths
            .entry(path.to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item is an object")
            .insert(method.to_owned(), op.value);
    };

    add(
        "/v1/events",
        "post",
        Op::new(
            "postEvents",
            "ingest",
            "Submit canonical events",
            "One canonical event, or a JSON array of them (`contracts/schema/event-submission.schema.json`). Answers once the outcome is durable. A source may only submit events for its own agency; an event `id` already committed is not committed twice (`duplicate`).",
        )
        .source_key()
        .body(
            true,
            json!({"application/json": {
                "schema": {"oneOf": [
                    submission.clone(),
                    {"type": "array", "items": submission, "minItems": 1},
                ]},
                "example": {
                    "schema_version": 1,
                    "occurred_at": "2026-10-01T09:00:00Z",
                    "source": {"agency": "camhs-north", "system": "rio", "adapter": "http"},
                    "subject": {"identifiers": {"nhs_number": "9434765919"}},
                    "kind": "episode_of_care.opened",
                    "payload": {"episode_id": "E1", "service": "camhs", "on": "2026-10-01"},
                },
            }}),
        )
        .json(202, "Committed.", accepted.clone())
        .body_problems()
        .problem(403, refused)
        .problem(409, conflict)
        .problem(422, quarantined)
        .link(422, "quarantined", "getQuarantineItem", "$response.body#/quarantine_id")
        .unavailable(),
    );
    add(
        "/v1/ingest/{source}",
        "post",
        Op::new(
            "postNative",
            "ingest",
            "Submit an input in the source's own format",
            "A body in the source's configured format: `canonical-json`, `social-care-csv`, `fhir` (FHIR R4 UK Core resources and Bundles, `docs/adapters/fhir.md`), or `mapping:<id>` (the system's own JSON or CSV, `docs/adapters/mapping.md`).",
        )
        .source_key()
        .path_param("source", "The source's id; the key must be this source's.")
        .body(true, native.clone())
        .json(202, "Committed.", accepted.clone())
        .problem(403, "The key belongs to another source, or (`assertion-refused`) the source asserted what is not its own to say; the input is quarantined (`docs/security.md`).")
        .problem(409, conflict)
        .body_problems()
        .problem(422, quarantined)
        .unavailable(),
    );
    for (file, id, what, records) in [
        (
            "ctf",
            "postCtf",
            "a school's Common Transfer File",
            "pupil by pupil (`docs/adapters/ctf.md`)",
        ),
        (
            "cin",
            "postCin",
            "a local authority's Children in Need census",
            "child by child (`docs/adapters/cin-census.md`)",
        ),
    ] {
        add(
            &format!("/v1/ingest/{{source}}/{file}"),
            "post",
            Op::new(
                id,
                "ingest",
                &format!("Import {what}"),
                &format!("The whole file as the body, imported {records}. The body is bounded by `api.file_upload_limit_bytes` (not `api.body_limit_bytes`) and written to disk as it arrives."),
            )
            .source_key()
            .path_param("source", "The source's id; the key must be this source's.")
            .body(true, xml.clone())
            .json(200, "Imported: what became of each record.", s.response::<ImportReport>())
            .problem(403, "The key belongs to another source.")
            .problem(404, "No such source.")
            .file_problems()
            .problem(422, "The file was refused, or stopped part-way (`report` then says what was done before).")
            .unavailable(),
        );
    }
    let file_report = json!({"oneOf": [s.response::<ImportReport>(), s.response::<InputReport>()]});
    add(
        "/v1/ingest/{source}/file",
        "post",
        Op::new(
            "postFile",
            "ingest",
            "Import a file in the source's own format",
            "The whole file as the body (`docs/adapters/import.md`). An extract (`social-care-csv`, `mapping:<id>`) is imported row by row: each row's events are committed alone, or the row is quarantined alone, and the answer is the import report (`format`, `rows`). Any other format is one input, also bounded by `api.body_limit_bytes`: committed, the answer says so (`outcome`); rejected, it is a 422 problem as from `/v1/ingest/{source}`. The body is bounded by `api.file_upload_limit_bytes` and written to disk as it arrives. The same file again commits nothing.",
        )
        .source_key()
        .path_param("source", "The source's id; the key must be this source's.")
        .body(true, native)
        .json(200, "Imported: what became of each row, or of the one input.", file_report)
        .problem(403, "The key belongs to another source.")
        .problem(404, "No such source.")
        .file_problems()
        .problem(422, "The file was refused before any row was read, or stopped part-way (`report` then says what was done before); or, for a format that is one input, the input was rejected and quarantined.")
        .unavailable(),
    );
    add(
        "/v1/handoffs",
        "get",
        Op::new(
            "listHandoffs",
            "handoffs",
            "The agency's handoffs",
            "Handoffs the key's agency sent or received, newest first (`docs/handoffs.md`).",
        )
        .source_key()
        .query(Schemas::query::<ListQuery>())
        .json(200, "The handoffs.", s.response::<HandoffList>())
        .handoff_links(200, "/handoffs/0")
        .problem(422, "The query string does not parse.")
        .unavailable(),
    );
    add(
        "/v1/handoffs/{id}",
        "get",
        Op::new(
            "getHandoff",
            "handoffs",
            "One handoff",
            "A handoff the key's agency sent or received.",
        )
        .source_key()
        .path_param("id", handoff_id)
        .json(200, "The handoff.", handoff.clone())
        .handoff_links(200, "")
        .problem(
            404,
            "No handoff with this id was sent to or by this agency.",
        )
        .unavailable(),
    );
    add(
        "/v1/handoffs/{id}/acknowledge",
        "post",
        Op::new(
            "acknowledgeHandoff",
            "handoffs",
            "Answer a handoff",
            "The receiver's answer, committed as a `handoff.acknowledged` event through the pipeline (routed, audited, deduplicated by `Idempotency-Key`).",
        )
        .source_key()
        .path_param("id", handoff_id)
        .body(
            true,
            json!({"application/json": {
                "schema": s.request::<Acknowledgement>(),
                "example": {"outcome": "accepted"},
            }}),
        )
        .json(202, "The answer was committed.", accepted)
        .problem(403, "This agency sent the handoff; only its receiver may answer.")
        .problem(404, "No handoff with this id was sent to this agency.")
        .problem(409, "The agency's sharing agreements let it see none of the child's identifiers: answer from its own system instead.")
        .body_problems()
        .problem(422, "The body is not an acknowledgement, or the answer was rejected (quarantined).")
        .unavailable(),
    );
    add(
        "/v1/handoffs/{id}/exemption",
        "post",
        Op::new(
            "startExemption",
            "handoffs",
            "Pause a handoff's clock",
            "Records a statutory exemption: the deadline stands still from `from` (default now) until `until` or its end.",
        )
        .source_key()
        .path_param("id", handoff_id)
        .body(
            true,
            json!({"application/json": {
                "schema": s.request::<ExemptionRequest>(),
                "example": {"reason": "child_away"},
            }}),
        )
        .json(200, "The handoff with its new pauses and deadline.", handoff.clone())
        .problem(403, "This agency may not pause this handoff's clock.")
        .problem(404, "No such handoff for this agency.")
        .problem(409, "The exemption does not fit the handoff's state or pauses.")
        .body_problems()
        .problem(422, "The body is not an exemption.")
        .unavailable(),
    );
    add(
        "/v1/handoffs/{id}/exemption/end",
        "post",
        Op::new(
            "endExemption",
            "handoffs",
            "Restart a handoff's clock",
            "Ends the running exemption at `at` (default now); an empty body means now.",
        )
        .source_key()
        .path_param("id", handoff_id)
        .body(
            false,
            json!({"application/json": {"schema": s.request::<ExemptionEnd>()}}),
        )
        .json(
            200,
            "The handoff with its new pauses and deadline.",
            handoff.clone(),
        )
        .problem(403, "This agency may not restart this handoff's clock.")
        .problem(404, "No such handoff for this agency.")
        .problem(409, "No exemption is running, or the time does not fit.")
        .body_problems()
        .problem(422, "The body is not `{\"at\"?: time}`.")
        .unavailable(),
    );
    add(
        "/v1/children/{id}/timeline",
        "get",
        Op::new(
            "childTimeline",
            "children",
            "A child's timeline, as this agency may see it",
            "The child's events (the agency's own whole; others projected to its sharing agreements), its deliveries and its handoffs. Each view is audited.",
        )
        .source_key()
        .path_param("id", "The hub's id for the child (a UUID).")
        .json(200, "The timeline.", timeline(&kind, &delivery, &handoff))
        .problem(404, "No child with this id is or was involved with this agency.")
        .unavailable(),
    );
    add(
        "/v1/deliveries",
        "get",
        Op::new(
            "listDeliveries",
            "operator",
            "Deliveries",
            "Deliveries to every agency, newest first, a page at a time: ids, status, attempts and last error, never the notification.",
        )
        .operator_key()
        .query(Schemas::query::<DeliveriesQuery>())
        .json(200, "A page of deliveries.", s.response::<DeliveryPage>())
        .problem(422, "The query string does not parse, or `cursor` is not a page's.")
        .unavailable(),
    );
    add(
        "/v1/quarantine",
        "get",
        Op::new(
            "listQuarantine",
            "operator",
            "Quarantined inputs",
            "Rejected inputs, newest first, a page at a time: the step and each field's reason, never the input.",
        )
        .operator_key()
        .query(Schemas::query::<QuarantineQuery>())
        .json(200, "A page of quarantined inputs.", s.response::<QuarantinePage>())
        .link(200, "item", "getQuarantineItem", "$response.body#/quarantine/0/id")
        .problem(422, "The query string does not parse, or `cursor` is not a page's.")
        .unavailable(),
    );
    add(
        "/v1/quarantine/{id}",
        "get",
        Op::new(
            "getQuarantineItem",
            "operator",
            "One quarantined input, masked",
            "The input with every value that could be child data masked, as the dashboard shows it to a role that may not see child data. The unmasked input is only for `throughline quarantine show` and the dashboard's admins, and is audited.",
        )
        .operator_key()
        .path_param("id", "The quarantine id (a UUID), as a 422 answer's `quarantine_id`.")
        .json(200, "The input, masked.", s.response::<QuarantineView>())
        .problem(404, "No quarantined input has this id.")
        .unavailable(),
    );
    add(
        "/v1/agencies",
        "get",
        Op::new(
            "listAgencies",
            "operator",
            "Agencies and their queues",
            "Every configured agency: role, sink adapter, link status, pause, backlog, retries, dead letters and last success.",
        )
        .operator_key()
        .json(200, "The agencies.", s.response::<AgencyList>())
        .unavailable(),
    );
    add(
        "/v1/openapi.json",
        "get",
        Op::new(
            "openapi",
            "meta",
            "This document",
            "The OpenAPI 3.1 document of the API; open to anyone.",
        )
        .json(200, "The document.", json!({"type": "object"})),
    );
    add(
        "/healthz",
        "get",
        Op::new("healthz", "health", "Liveness", "The process is up.").answer(
            200,
            "Up.",
            json!({"text/plain": {"schema": {"type": "string", "const": "ok"}}}),
        ),
    );
    let readiness = readiness();
    add(
        "/readyz",
        "get",
        Op::new(
            "readyz",
            "health",
            "Readiness",
            "Ready when the store answers and every broker link is connected; the body lists each link either way.",
        )
        .json(200, "Ready.", readiness.clone())
        .json(503, "Not ready: the store or a link is down.", readiness),
    );
    add(
        "/metrics",
        "get",
        Op::new(
            "metrics",
            "health",
            "Prometheus metrics",
            "Link, store, delivery, quarantine and handoff gauges in Prometheus text format; labels never carry child data.",
        )
        .answer(
            200,
            "The metrics.",
            json!({"text/plain": {"schema": {"type": "string"}}}),
        ),
    );

    let schemas = s
        .into_components()
        .unwrap_or_else(|conflicts| panic!("schemas described two ways: {conflicts:?}"));
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Throughline hub API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Ingest, handoffs, children's timelines and read-only operator views of the Throughline hub. Every error is an RFC 9457 problem (`application/problem+json`). Event contracts: `contracts/schema/`.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "tags": [
            {"name": "ingest", "description": "Inputs from sources."},
            {"name": "handoffs", "description": "What an agency handed or was handed, and its answer."},
            {"name": "children", "description": "What happened to a child, as one agency may see it."},
            {"name": "operator", "description": "Read-only views for operators' tools (`api.operator_api_key`)."},
            {"name": "health", "description": "Liveness, readiness and metrics."},
            {"name": "meta", "description": "This document."},
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                SOURCE_KEY: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A source's `api_key` (each source has its own): `Authorization: Bearer <key>`.",
                },
                SOURCE_KEY_HEADER: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": "A source's `api_key`, in `X-API-Key` instead of `Authorization`.",
                },
                OPERATOR_KEY: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The hub's `api.operator_api_key`: `Authorization: Bearer <key>` (or `X-API-Key`).",
                },
            },
        },
    })
}

/// `/readyz`'s body, built as a JSON value in `health.rs`.
fn readiness() -> Value {
    json!({
        "type": "object",
        "required": ["ready", "store", "links"],
        "properties": {
            "ready": {"type": "boolean"},
            "store": {"type": "boolean", "description": "Whether the store answered."},
            "links": {"type": "array", "items": {
                "type": "object",
                "required": ["adapter", "direction", "name", "connected"],
                "properties": {
                    "adapter": {"type": "string"},
                    "direction": {"type": "string"},
                    "name": {"type": "string"},
                    "connected": {"type": "boolean"},
                },
            }},
        },
    })
}

/// A child's timeline, built as a JSON value in `children.rs`.
fn timeline(kind: &Value, delivery: &Value, handoff: &Value) -> Value {
    json!({
        "type": "object",
        "required": ["child_id", "agency", "events", "deliveries", "handoffs"],
        "properties": {
            "child_id": {"type": "string", "format": "uuid"},
            "agency": {"type": "string"},
            "events": {"type": "array", "items": {
                "type": "object",
                "required": ["event_id", "kind", "occurred_at", "received_at", "source_agency", "history", "subject", "payload"],
                "properties": {
                    "event_id": {"type": "string", "format": "uuid"},
                    "kind": kind,
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "received_at": {"type": "string", "format": "date-time"},
                    "source_agency": {"type": "string"},
                    "history": {"type": "boolean", "description": "The event restated the child's past (see docs/handoffs.md, \"History is not news\"): committed and shown, but it opened no handoff and notified nobody."},
                    "subject": {"type": "object", "description": "The event's subject: whole for the agency's own events, else projected to its sharing agreement."},
                    "payload": {"description": "The event's payload, projected the same way."},
                },
            }},
            "deliveries": {"type": "array", "items": delivery},
            "handoffs": {"type": "array", "items": handoff},
        },
    })
}

#[cfg(test)]
mod tests;
