//! Authorise: what a source may assert, after validation has said what it asserts.
//!
//! Validation checks that a source speaks for its own agency; this step checks what it may say
//! (`config::assertions`, `docs/security.md`): the event's kind, whose involvement it changes,
//! and in whose namespace its local ids are. Each refusal names the field and the rule, never
//! a value, and the input is quarantined at this step; the API answers 403 `assertion-refused`
//! and the quarantine audits the refusal, whatever the transport.
//!
//! `involvement.started`/`ended` are the only events that change another agency's involvement
//! outright. A referral or redirection also makes its receiver involved, but only as a handoff
//! the receiver then answers (accepting, declining), which the handoff tracker lets only the
//! receiver do.

use throughline_contracts::AgencyId;
use throughline_contracts::event::{EventSubmission, FieldProblem};
use throughline_contracts::kind::EventBody;

use crate::config::Source;

pub fn authorise(
    source: &Source,
    submissions: &[EventSubmission],
) -> Result<(), Vec<FieldProblem>> {
    let rules = &source.assertions;
    let many = submissions.len() > 1;
    let mut problems = Vec::new();
    for (i, s) in submissions.iter().enumerate() {
        let at = |field: &str| {
            if many {
                format!("[{i}].{field}")
            } else {
                field.to_owned()
            }
        };
        let kind = s.body.kind();
        // A file restating the child's record (`as_at`) may carry kinds its sender does not
        // author (a school's CTF repeats the plan and care status): `ROLE_RESTATES`.
        let allowed = if s.as_at.is_some() {
            rules.may_restate(kind)
        } else {
            rules.may_send(kind)
        };
        if !allowed {
            problems.push(FieldProblem::new(
                at("kind"),
                format!(
                    "this source may not send `{kind}`; refused by rule `{}`",
                    rules.kind_rule
                ),
            ));
        }
        if let EventBody::InvolvementStarted(p) | EventBody::InvolvementEnded(p) = &s.body
            && !rules.may_change_involvement_of(&p.agency)
        {
            problems.push(FieldProblem::new(
                at("payload.agency"),
                format!(
                    "this source may not change another agency's involvement; refused by rule `{}`",
                    rules.involvement
                ),
            ));
        }
        for (j, id) in s.subject.identifiers.local_ids.iter().enumerate() {
            if !rules.may_assert_local_ids_of(id.agency()) {
                problems.push(FieldProblem::new(
                    at(&format!("subject.identifiers.local_ids[{j}].agency")),
                    "this source may assert local ids only in its own agency's namespace; \
                     refused by rule `relays_for: the agencies this source relays for`",
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Drops from `identifiers` (a subject's identifiers as JSON) the local ids `source` may not
/// assert. The hub builds an agency's handoff answer from the identifiers it may see, which can
/// include another agency's case id; that id is the other agency's to state, so the answer
/// leaves it out rather than being refused for it.
pub fn keep_assertable_local_ids(source: &Source, identifiers: &mut serde_json::Value) {
    let Some(map) = identifiers.as_object_mut() else {
        return;
    };
    if let Some(locals) = map.get_mut("local_ids").and_then(|l| l.as_array_mut()) {
        locals.retain(|l| {
            l["agency"]
                .as_str()
                .and_then(|a| AgencyId::parse(a).ok())
                .is_some_and(|a| source.assertions.may_assert_local_ids_of(&a))
        });
        if locals.is_empty() {
            map.remove("local_ids");
        }
    }
}

#[cfg(test)]
mod tests;
