//! Validate: what the contract types cannot check on their own, and what only configuration
//! knows: that a source speaks for its own agency, and that agencies named in payloads exist.

use chrono::{DateTime, Utc};
use throughline_contracts::AgencyId;
use throughline_contracts::event::{EventSubmission, FieldProblem};
use throughline_contracts::kind::EventBody;

use crate::config::{Source, Validated};

pub fn validate(
    config: &Validated,
    source: &Source,
    submissions: &[EventSubmission],
    now: DateTime<Utc>,
) -> Result<(), Vec<FieldProblem>> {
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
        if let Err(ps) = s.validate(now) {
            problems.extend(
                ps.into_iter()
                    .map(|p| FieldProblem::new(at(&p.field), p.reason)),
            );
        }
        if s.body.kind().is_hub_notice() {
            problems.push(FieldProblem::new(
                at("kind"),
                "this kind is reserved for notices the hub itself sends",
            ));
        }
        if s.source.agency != source.agency {
            problems.push(FieldProblem::new(
                at("source.agency"),
                format!(
                    "this source may only submit events for agency `{}`",
                    source.agency
                ),
            ));
        }
        let named: Option<&AgencyId> = match &s.body {
            EventBody::ReferralMade(p) => Some(&p.to_agency),
            EventBody::ReferralRedirected(p) => Some(&p.to_agency),
            EventBody::InvolvementStarted(p) | EventBody::InvolvementEnded(p) => Some(&p.agency),
            EventBody::HandoffAcknowledged(p) => p.new_owner.as_ref(),
            _ => None,
        };
        if let Some(agency) = named
            && !config.agencies.contains_key(agency)
        {
            let field = match s.body {
                EventBody::InvolvementStarted(_) | EventBody::InvolvementEnded(_) => {
                    "payload.agency"
                }
                EventBody::HandoffAcknowledged(_) => "payload.new_owner",
                _ => "payload.to_agency",
            };
            problems.push(FieldProblem::new(
                at(field),
                "no agency with this id is configured",
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
