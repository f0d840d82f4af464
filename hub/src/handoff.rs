//! Handoffs: the promise that no child is silently passed between agencies.
//!
//! A handoff is a referral, a transfer or a closure notice from one agency to another (or to the
//! local authority's designated team), and the statutory SEND steps the local authority owes a
//! child. Each one is tracked from the event that makes it until the receiving agency answers:
//!
//! made → delivered (the transport acknowledged the notification) → accepted, declined or
//! redirected (the receiver answered) → closed.
//!
//! - [`track`] is a pipeline step: inside the input's transaction it opens, answers and closes
//!   handoffs from the events themselves, and raises the notices an event makes necessary (a
//!   decline that names no new owner; a child left with no lead agency).
//! - [`scheduler`] is the clock: past a handoff's deadline it walks the configured escalation
//!   chain (a reminder to the receiver, a notice to the sender, then the local authority), one
//!   step per tick at most, each step once.
//! - [`notice`] builds the hub's own notices and sends them like any other notification: under a
//!   sharing agreement, through the agency's queue, retried, dead-lettered and audited.
//!
//! Deadlines count working days in England and Wales, or calendar weeks and months where
//! statute does (see `throughline_calendar`).

mod annual_review;
pub mod exemption;
mod lead;
pub mod notice;
pub mod phase_transfer;
pub mod scheduler;
pub mod track;

use std::fmt;
use std::str::FromStr;

use throughline_calendar::Period;

/// What kind of handoff, which sets its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HandoffKind {
    /// `referral.made` → `referral.accepted` / `declined` / `redirected`.
    Referral,
    /// A pupil left a school for a named school: the destination confirms with `school.joined`.
    Transfer,
    /// The child was left without a lead agency (or missing education): the local authority
    /// must pick them up.
    Closure,
    /// An EHC needs assessment request: the local authority decides within 6 weeks.
    EhcNeedsAssessment,
    /// An agreed assessment: the final EHC plan is due 20 weeks from the request.
    EhcPlan,
    /// An EHC plan's annual review, due within 12 months of the plan or the last review.
    AnnualReview,
    /// An EHC plan reviewed and amended before a move between phases of education: by
    /// 15 February of the year of the move, or 31 March for a move from secondary school into
    /// post-16 (SEND Regulations 2014, reg. 18; see [`phase_transfer`]).
    PhaseTransfer,
}

impl HandoffKind {
    pub const ALL: &'static [HandoffKind] = &[
        HandoffKind::Referral,
        HandoffKind::Transfer,
        HandoffKind::Closure,
        HandoffKind::EhcNeedsAssessment,
        HandoffKind::EhcPlan,
        HandoffKind::AnnualReview,
        HandoffKind::PhaseTransfer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HandoffKind::Referral => "referral",
            HandoffKind::Transfer => "transfer",
            HandoffKind::Closure => "closure",
            HandoffKind::EhcNeedsAssessment => "ehc_needs_assessment",
            HandoffKind::EhcPlan => "ehc_plan",
            HandoffKind::AnnualReview => "annual_review",
            HandoffKind::PhaseTransfer => "phase_transfer",
        }
    }

    /// The deadline when configuration sets none: the statutory one where statute sets one
    /// (SEND Regulations 2014: 6 weeks to decide on an assessment, 20 weeks to a final plan,
    /// 12 months between reviews), otherwise a working-days default.
    pub fn default_deadline(self) -> Period {
        match self {
            HandoffKind::Referral | HandoffKind::Closure => Period::WorkingDays(2),
            HandoffKind::Transfer => Period::WorkingDays(5),
            HandoffKind::EhcNeedsAssessment => Period::Weeks(6),
            HandoffKind::EhcPlan => Period::Weeks(20),
            HandoffKind::AnnualReview => Period::Months(12),
            // Never configured: the date is fixed by the transfer (see `phase_transfer`).
            HandoffKind::PhaseTransfer => phase_transfer::school_deadline(),
        }
    }
}

impl fmt::Display for HandoffKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HandoffKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        HandoffKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown handoff kind; expected one of: {}",
                    HandoffKind::ALL
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

/// Who an escalation step notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The agency the handoff is addressed to: a reminder.
    Receiver,
    /// The agency that made the handoff: "your referral has not been picked up".
    Sender,
    /// The local authority's designated team.
    LocalAuthority,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Receiver => "receiver",
            Party::Sender => "sender",
            Party::LocalAuthority => "local_authority",
        }
    }
}

/// One step of the escalation chain, validated.
#[derive(Debug, Clone)]
pub struct EscalationStep {
    pub notify: Party,
    /// How long after the deadline the step is sent.
    pub after: Period,
}
