//! `canonical-json`: the hub's own event envelope (version 1), one object or an array of them,
//! as `POST /v1/events` accepts it.
//!
//! Why not simply `serde_json::from_slice::<EventSubmission>`: the envelope flattens its
//! adjacently tagged body (`kind` + `payload`) into itself, and serde buffers flattened content,
//! so a bad field deep in the subject or the payload would be reported without its path, and the
//! producer would be told "invalid" with no field to fix. Instead each object is split in two:
//! the envelope without `kind` and `payload` (a private mirror of [`EventSubmission`]'s other
//! fields), then the body rebuilt as `{"kind": ..., "payload": ...}`. Each part is read with
//! `serde_path_to_error`, so every problem names its exact JSON path, and problems in both parts
//! are reported together.
//!
//! Checks the types cannot express (envelope version, UUIDv7 ids, at least one identifier, no
//! future times) and whether `source.agency` matches the configured source are left to the
//! hub's validate step.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use throughline_contracts::adapter::{NormaliseContext, Normaliser, RawInput, Rejection};
use throughline_contracts::event::{EventSource, EventSubmission, FieldProblem, Subject};
use throughline_contracts::kind::{EventBody, EventKind};
use uuid::Uuid;

use crate::problem::{self, join};

/// Normaliser for the canonical JSON envelope: a submission, or an array of submissions.
#[derive(Debug, Clone, Copy, Default)]
pub struct CanonicalJson;

impl CanonicalJson {
    /// The format's configured name.
    pub const FORMAT: &'static str = "canonical-json";
}

impl Normaliser for CanonicalJson {
    fn format(&self) -> &'static str {
        Self::FORMAT
    }

    fn normalise(
        &self,
        raw: &RawInput,
        _ctx: &NormaliseContext,
    ) -> Result<Vec<EventSubmission>, Rejection> {
        parse_body(&raw.body)
    }
}

/// Reads the body: one submission, or a non-empty array of them.
pub(crate) fn parse_body(body: &[u8]) -> Result<Vec<EventSubmission>, Rejection> {
    // RFC 8259 lets a parser ignore a byte order mark; some Windows tools write one.
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        // Syntax errors name a position, never content; scrub anyway in case that changes.
        Rejection::one(
            "body",
            format!("is not valid JSON: {}", problem::scrub(&e.to_string())),
        )
    })?;
    let objects = match value {
        Value::Object(object) => vec![(String::new(), Value::Object(object))],
        Value::Array(items) if items.is_empty() => {
            return Err(Rejection::one(
                "body",
                "must contain at least one event, found an empty array",
            ));
        }
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| (format!("[{i}]"), item))
            .collect(),
        other => {
            return Err(Rejection::one(
                "body",
                format!(
                    "must be an event object or an array of them, found {}",
                    problem::describe(&other)
                ),
            ));
        }
    };

    let mut submissions = Vec::with_capacity(objects.len());
    let mut problems = Vec::new();
    for (prefix, item) in objects {
        match item {
            Value::Object(object) => {
                if let Some(submission) = parse_submission(&prefix, object, &mut problems) {
                    submissions.push(submission);
                }
            }
            other => problems.push(FieldProblem::new(
                prefix,
                format!(
                    "must be an event object, found {}",
                    problem::describe(&other)
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(submissions)
    } else {
        Err(Rejection { problems })
    }
}

/// [`EventSubmission`] without its body: what is left of an object once `kind` and `payload`
/// are taken out. Keep it in step with `EventSubmission`; `into_submission` lists every field,
/// so adding one there without adding it here does not compile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    schema_version: u32,
    #[serde(default)]
    id: Option<Uuid>,
    occurred_at: DateTime<Utc>,
    #[serde(default)]
    as_at: Option<DateTime<Utc>>,
    source: EventSource,
    subject: Subject,
    #[serde(default)]
    correlation_id: Option<Uuid>,
    #[serde(default)]
    causation_id: Option<Uuid>,
}

impl Envelope {
    fn into_submission(self, body: EventBody) -> EventSubmission {
        let Envelope {
            schema_version,
            id,
            occurred_at,
            as_at,
            source,
            subject,
            correlation_id,
            causation_id,
        } = self;
        EventSubmission {
            schema_version,
            id,
            occurred_at,
            as_at,
            source,
            subject,
            body,
            correlation_id,
            causation_id,
        }
    }
}

/// Reads one object whose fields are named below `prefix`, adding every problem found.
fn parse_submission(
    prefix: &str,
    mut object: Map<String, Value>,
    problems: &mut Vec<FieldProblem>,
) -> Option<EventSubmission> {
    let kind = object.remove("kind");
    let payload = object.remove("payload");

    let envelope = serde_path_to_error::deserialize::<_, Envelope>(Value::Object(object))
        .map_err(|e| problems.push(problem::from_path_error(prefix, &e)))
        .ok();
    let body = parse_body_part(prefix, kind, payload, problems);
    Some(envelope?.into_submission(body?))
}

/// Reads `kind` and `payload` into an [`EventBody`].
fn parse_body_part(
    prefix: &str,
    kind: Option<Value>,
    payload: Option<Value>,
    problems: &mut Vec<FieldProblem>,
) -> Option<EventBody> {
    let kind = match kind {
        None => {
            problems.push(FieldProblem::new(join(prefix, "kind"), "is required"));
            None
        }
        Some(Value::String(name)) => match name.parse::<EventKind>() {
            Ok(kind) => Some(kind),
            Err(unknown) => {
                // A kind name is not child data, but the field may hold anything: repeat it only
                // when it looks like a kind name.
                let reason = if looks_like_kind_name(&name) {
                    unknown.to_string()
                } else {
                    "unknown event kind".to_owned()
                };
                problems.push(FieldProblem::new(join(prefix, "kind"), reason));
                None
            }
        },
        Some(other) => {
            problems.push(FieldProblem::new(
                join(prefix, "kind"),
                format!(
                    "must be a string naming an event kind, found {}",
                    problem::describe(&other)
                ),
            ));
            None
        }
    };
    let Some(payload) = payload else {
        problems.push(FieldProblem::new(join(prefix, "payload"), "is required"));
        return None;
    };
    let kind = kind?;

    // The tag is inserted first, so serde reads it before the payload and deserialises the
    // payload in place (with its path) instead of buffering it.
    let mut body = Map::new();
    body.insert("kind".to_owned(), Value::String(kind.as_str().to_owned()));
    body.insert("payload".to_owned(), payload);
    serde_path_to_error::deserialize::<_, EventBody>(Value::Object(body))
        .map_err(|e| problems.push(problem::from_path_error(prefix, &e)))
        .ok()
}

/// Lowercase words joined by `.` and `_`, like every kind name in the table.
fn looks_like_kind_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || matches!(b, b'.' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "schema_version": 1,
            "occurred_at": "2026-03-02T09:30:00Z",
            "source": {"agency": "oakfield-school", "system": "arbor", "adapter": "http-ingest"},
            "subject": {"identifiers": {"nhs_number": "9434765919"}},
            "kind": "referral.made",
            "payload": {"referral_id": "R-1", "to_agency": "camhs-north"}
        })
    }

    fn problems(value: &Value) -> Vec<FieldProblem> {
        parse_body(value.to_string().as_bytes())
            .expect_err("expected a rejection")
            .problems
    }

    #[test]
    fn reads_a_valid_object() {
        let subs = parse_body(valid().to_string().as_bytes()).unwrap();
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0].body.kind(), EventKind::ReferralMade);
    }

    #[test]
    fn payload_problems_keep_their_path() {
        let mut v = valid();
        v["payload"]["to_agency"] = json!("NOT VALID");
        assert_eq!(problems(&v)[0].field, "payload.to_agency");

        let mut v = valid();
        v["payload"]["urgency"] = json!("whenever");
        let p = problems(&v);
        assert_eq!(p[0].field, "payload.urgency");
        assert!(!p[0].reason.contains("whenever"), "{}", p[0].reason);
    }

    #[test]
    fn nested_payload_paths_are_exact() {
        let v = json!({
            "schema_version": 1,
            "occurred_at": "2026-03-02T09:30:00Z",
            "source": {"agency": "oakfield-school", "system": "arbor", "adapter": "http-ingest"},
            "subject": {"identifiers": {"upn": "B801200005001"}},
            "kind": "school.left",
            "payload": {"school_urn": "100000", "left_on": "2026-03-01", "destination": {"type": "school"}}
        });
        let p = problems(&v);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].field.starts_with("payload.destination"), "{p:?}");
    }

    #[test]
    fn missing_and_unknown_fields_name_the_field() {
        let mut v = valid();
        let object = v.as_object_mut().unwrap();
        object.remove("occurred_at");
        object.insert("colour".into(), json!("blue"));
        let p = problems(&v);
        // serde_path_to_error stops at the envelope's first error.
        assert_eq!(
            p,
            vec![FieldProblem::new("colour", "is not a recognised field")]
        );

        let mut v = valid();
        v["payload"].as_object_mut().unwrap().remove("referral_id");
        assert_eq!(
            problems(&v),
            vec![FieldProblem::new("payload.referral_id", "is required")]
        );
    }

    #[test]
    fn keys_that_look_like_data_are_not_repeated() {
        let mut v = valid();
        v.as_object_mut()
            .unwrap()
            .insert("9434765919".into(), json!(true));
        let p = problems(&v);
        assert_eq!(p[0].field, "");
        assert!(!p[0].reason.contains("9434765919"));
    }

    #[test]
    fn kind_problems() {
        let mut v = valid();
        v["kind"] = json!(7);
        assert_eq!(
            problems(&v),
            vec![FieldProblem::new(
                "kind",
                "must be a string naming an event kind, found a number"
            )]
        );
        v["kind"] = json!("Ada Lovelace");
        assert_eq!(
            problems(&v),
            vec![FieldProblem::new("kind", "unknown event kind")]
        );
        v["kind"] = json!("referal.made");
        assert_eq!(
            problems(&v),
            vec![FieldProblem::new(
                "kind",
                "unknown event kind `referal.made`"
            )]
        );
        v.as_object_mut().unwrap().remove("payload");
        assert_eq!(problems(&v).len(), 2);
    }

    #[test]
    fn body_shape_problems() {
        assert_eq!(problems(&json!([]))[0].field, "body");
        assert_eq!(
            problems(&json!("9434765919"))[0].reason,
            "must be an event object or an array of them, found a string"
        );
        let p = problems(&json!([valid(), 5]));
        assert_eq!(
            p,
            vec![FieldProblem::new(
                "[1]",
                "must be an event object, found a number"
            )]
        );
        assert_eq!(
            parse_body(b"\xef\xbb\xbf[]").unwrap_err().problems[0].reason,
            "must contain at least one event, found an empty array"
        );
        let err = parse_body(b"{\"subject\": \"Ada").unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert_eq!(err.problems[0].field, "body");
        assert!(err.problems[0].reason.contains("line 1"));
        assert!(!err.problems[0].reason.contains("Ada"));
    }
}
