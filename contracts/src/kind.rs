//! Event kinds and their typed payloads, across education, health and social care.
//!
//! One table (the `event_kinds!` invocation below) defines every kind: its wire name, its payload
//! type and what it means. Both the payload enum [`EventBody`] and the plain [`EventKind`] used in
//! configuration and routing are generated from it, so they cannot drift apart.
//!
//! Payloads carry facts about the service, not about the child: the child is the event's
//! `subject`. Free-text fields are allowed (a referral needs a reason) but are only ever disclosed
//! where a sharing agreement lists them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AgencyId;

macro_rules! event_kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal => $payload:ident; )*) => {
        /// The kind of an event, without its payload: what configuration and routing talk about.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind { $( $(#[doc = $doc])* $variant, )* }

        impl EventKind {
            /// Every kind, in the order of the table.
            pub const ALL: &'static [EventKind] = &[ $( EventKind::$variant, )* ];

            /// The wire name, e.g. `referral.made`.
            pub fn as_str(self) -> &'static str {
                match self { $( EventKind::$variant => $name, )* }
            }
        }

        /// An event's kind together with its typed payload. On the wire this is two fields of
        /// the envelope: `"kind": "referral.made", "payload": { ... }`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "kind", content = "payload")]
        pub enum EventBody { $( $(#[doc = $doc])* #[serde(rename = $name)] $variant($payload), )* }

        impl EventBody {
            pub fn kind(&self) -> EventKind {
                match self { $( EventBody::$variant(_) => EventKind::$variant, )* }
            }
        }
    };
}

event_kinds! {
    /// A referral was made from the source agency to another agency.
    ReferralMade = "referral.made" => ReferralMade;
    /// The receiving agency accepted a referral.
    ReferralAccepted = "referral.accepted" => ReferralResponse;
    /// The receiving agency declined a referral.
    ReferralDeclined = "referral.declined" => ReferralResponse;
    /// The receiving agency redirected a referral to another agency.
    ReferralRedirected = "referral.redirected" => ReferralRedirected;
    /// A referral was closed.
    ReferralClosed = "referral.closed" => ReferralResponse;
    /// An EHC needs assessment was requested of the local authority.
    EhcNeedsAssessmentRequested = "ehc_needs_assessment.requested" => EhcNeedsAssessmentRequested;
    /// The local authority decided whether to assess (statutory limit: 6 weeks from the request).
    EhcNeedsAssessmentDecision = "ehc_needs_assessment.decision" => EhcNeedsAssessmentDecision;
    /// A draft EHC plan was issued.
    EhcPlanDraft = "ehc_plan.draft" => EhcPlanIssued;
    /// A final EHC plan was issued (statutory limit: 20 weeks from the request).
    EhcPlanFinal = "ehc_plan.final" => EhcPlanIssued;
    /// An EHC plan was reviewed.
    EhcPlanReview = "ehc_plan.review" => EhcPlanReview;
    /// An EHC plan ceased.
    EhcPlanCeased = "ehc_plan.ceased" => EhcPlanCeased;
    /// SEN support (provision code K) started.
    SenSupportStarted = "sen_support.started" => SenSupportStarted;
    /// SEN support ended.
    SenSupportEnded = "sen_support.ended" => DatedReason;
    /// The child joined a school roll.
    SchoolJoined = "school.joined" => SchoolJoined;
    /// The child left a school roll, with a known or unknown destination.
    SchoolLeft = "school.left" => SchoolLeft;
    /// A suspension (fixed-period exclusion).
    ExclusionSuspension = "exclusion.suspension" => ExclusionSuspension;
    /// A permanent exclusion.
    ExclusionPermanent = "exclusion.permanent" => ExclusionPermanent;
    /// A school raised a concern about attendance.
    AttendanceConcern = "attendance.concern" => AttendanceConcern;
    /// An A&E attendance.
    NhsAeAttendance = "nhs.ae_attendance" => NhsEncounter;
    /// A hospital admission.
    NhsAdmission = "nhs.admission" => NhsEncounter;
    /// A hospital discharge.
    NhsDischarge = "nhs.discharge" => NhsEncounter;
    /// A flag was raised on the child's health record (a FHIR `Flag`: a safeguarding or risk
    /// warning, for example).
    NhsFlagRaised = "nhs.flag.raised" => NhsFlag;
    /// A flag on the child's health record was removed (made inactive, or entered in error).
    NhsFlagRemoved = "nhs.flag.removed" => NhsFlag;
    /// An episode of care opened (CAMHS, community paediatrics, therapies...).
    EpisodeOfCareOpened = "episode_of_care.opened" => EpisodeOfCare;
    /// An episode of care closed.
    EpisodeOfCareClosed = "episode_of_care.closed" => EpisodeOfCare;
    /// Children's social care received a referral.
    SocialCareReferral = "social_care.referral" => SocialCareReferral;
    /// A children's social care assessment.
    SocialCareAssessment = "social_care.assessment" => SocialCareAssessment;
    /// A child-in-need plan started.
    SocialCareChildInNeedPlan = "social_care.child_in_need_plan" => DatedReason;
    /// A child-in-need plan ended. Without it a plan, once started, looks open for ever, and
    /// partners cannot tell a child still supported from one whose plan closed.
    SocialCareChildInNeedPlanEnded = "social_care.child_in_need_plan.ended" => DatedReason;
    /// A child protection plan started.
    SocialCareChildProtectionPlanStarted = "social_care.child_protection_plan.started" => ChildProtectionPlanStarted;
    /// A child protection plan ended.
    SocialCareChildProtectionPlanEnded = "social_care.child_protection_plan.ended" => DatedReason;
    /// The child started to be looked after.
    SocialCareLookedAfterStarted = "social_care.looked_after.started" => LookedAfter;
    /// The child stopped being looked after.
    SocialCareLookedAfterEnded = "social_care.looked_after.ended" => LookedAfter;
    /// Children's social care closed the case.
    SocialCareCaseClosed = "social_care.case_closed" => DatedReason;
    /// An agency became involved with the child.
    InvolvementStarted = "involvement.started" => InvolvementChange;
    /// An agency's involvement with the child ended.
    InvolvementEnded = "involvement.ended" => InvolvementChange;
    /// The receiving agency acknowledged a handoff: accepted, declined or redirected it.
    HandoffAcknowledged = "handoff.acknowledged" => HandoffAcknowledged;
    /// Sent by the hub: a handoff to the recipient is past its deadline and unacknowledged.
    HandoffReminder = "handoff.reminder" => HandoffNotice;
    /// Sent by the hub: the recipient's handoff has not been picked up.
    HandoffNotPickedUp = "handoff.not_picked_up" => HandoffNotice;
    /// Sent by the hub to the local authority's designated team: a handoff went unacknowledged,
    /// or was declined or redirected without naming a new owner.
    HandoffEscalated = "handoff.escalated" => HandoffNotice;
    /// Sent by the hub to the local authority's designated team: a child has no lead agency.
    ChildNoLeadAgency = "child.no_lead_agency" => NoLeadAgency;
}

impl EventKind {
    /// Kinds only the hub itself may originate: notices about handoffs and lead agencies. An
    /// agency submitting one is refused, so a reminder can never be forged.
    pub fn is_hub_notice(self) -> bool {
        matches!(
            self,
            EventKind::HandoffReminder
                | EventKind::HandoffNotPickedUp
                | EventKind::HandoffEscalated
                | EventKind::ChildNoLeadAgency
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of the kinds in the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind `{0}`")]
pub struct UnknownKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How quickly the receiving agency is asked to act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    #[default]
    Routine,
    Urgent,
    Emergency,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralMade {
    /// The referring system's reference for this referral.
    pub referral_id: String,
    /// The agency the child is referred to.
    pub to_agency: AgencyId,
    #[serde(default)]
    pub urgency: Urgency,
    /// Why the child is referred (free text; disclosed only where an agreement lists it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the referrer expects a response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond_by: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralResponse {
    pub referral_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralRedirected {
    pub referral_id: String,
    /// The agency the referral now goes to.
    pub to_agency: AgencyId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Requester {
    Parent,
    YoungPerson,
    School,
    Health,
    SocialCare,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EhcNeedsAssessmentRequested {
    pub request_id: String,
    pub requested_by: Requester,
    /// The date the local authority received the request: the statutory clock starts here.
    pub received_on: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentDecision {
    Assess,
    Refuse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EhcNeedsAssessmentDecision {
    pub request_id: String,
    pub decision: AssessmentDecision,
    pub decided_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EhcPlanIssued {
    pub plan_id: String,
    pub issued_on: NaiveDate,
    /// URN of the school or setting named in the plan, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_setting_urn: Option<String>,
    /// The child's next move between phases of education, when the plan expects one. The local
    /// authority must then review and amend the plan, naming the new setting, by 15 February of
    /// the year of the move, or by 31 March for a move from secondary school into post-16
    /// (SEND Regulations 2014, reg. 18 as amended; the phases are listed in reg. 2(1)). The hub
    /// tracks that as its own clock (`phase_transfer` handoff), separate from the annual review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_transfer: Option<PhaseTransfer>,
}

/// A move between phases of education (SEND Regulations 2014, reg. 2(1)): early years to
/// school, infant to junior, primary to middle or secondary, middle to secondary, or secondary
/// school to a post-16 institution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseTransfer {
    /// The calendar year of the move: the child starts the new phase that September.
    pub year: u16,
    /// What the child moves into: a school (every move but the last above) or post-16.
    pub into: TransferPhase,
}

/// The phase a child moves into, which decides the deadline of the review before the move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferPhase {
    /// Into a school (from early years, infant, primary or middle): plan amended by 15 February.
    School,
    /// From secondary school into a post-16 institution: plan amended by 31 March.
    #[serde(rename = "post_16")]
    Post16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    Maintain,
    Amend,
    Cease,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EhcPlanReview {
    pub plan_id: String,
    pub reviewed_on: NaiveDate,
    pub outcome: ReviewOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EhcPlanCeased {
    pub plan_id: String,
    pub ceased_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// DfE SEN type of need codes (school census / CTF `SENtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum SenNeedType {
    Spld,
    Mld,
    Sld,
    Pmld,
    Semh,
    Slcn,
    Hi,
    Vi,
    Msi,
    Pd,
    Asd,
    Oth,
    Nsa,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SenSupportStarted {
    pub started_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_need: Option<SenNeedType>,
}

/// A dated change with an optional reason: the shape many starts and ends share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatedReason {
    pub on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchoolJoined {
    /// URN of the school.
    pub school_urn: String,
    pub joined_on: NaiveDate,
}

/// Where a child went on leaving a school roll. `Unknown` is the case that most needs attention:
/// it is how children go missing from education.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Destination {
    School {
        school_urn: String,
    },
    ElectiveHomeEducation,
    MovedAbroad,
    Other {
        description: String,
    },
    /// A school outside the maintained sector in England and Wales: abroad, or independent.
    /// A CTF says so with destination LA `MMM` and school `MMMM` (DfE, School to School
    /// guidance, 2019, p. 15). The local authority is told; the child is not missing education.
    OutsideMaintainedSector,
    /// Nobody knows where the child went: the case that most needs attention. A CTF says so with
    /// destination LA `XXX` and school `XXXX`, and goes to the Lost Pupil Database (DfE, School
    /// to School guidance, 2019, p. 15).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchoolLeft {
    pub school_urn: String,
    pub left_on: NaiveDate,
    pub destination: Destination,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExclusionSuspension {
    pub starts_on: NaiveDate,
    pub school_days: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExclusionPermanent {
    pub effective_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceConcern {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub sessions_possible: u32,
    pub sessions_missed: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NhsEncounter {
    pub at: DateTime<Utc>,
    /// ODS code of the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_ods_code: Option<String>,
    /// Whether the clinician recorded a safeguarding concern.
    #[serde(default)]
    pub safeguarding_concern: bool,
}

/// A flag on a child's health record: a warning the recording clinician wants others to see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NhsFlag {
    /// The sending system's id of the flag.
    pub flag_id: String,
    /// What the flag says, as the sending system codes it (sensitive: a safeguarding flag can
    /// reveal a child protection concern; disclosed only where an agreement lists it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// When the flag was raised or removed.
    pub on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EpisodeOfCare {
    pub episode_id: String,
    /// The service, e.g. `camhs`, `community_paediatrics`, `speech_and_language_therapy`.
    pub service: String,
    pub on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SocialCareReferral {
    pub referral_on: NaiveDate,
    /// CIN census referral source code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_code: Option<String>,
    /// CIN census primary need code (N1..N9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_need_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SocialCareAssessment {
    pub started_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorised_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildProtectionPlanStarted {
    pub on: NaiveDate,
    /// Initial category of abuse (sensitive: share with safeguarding partners only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookedAfter {
    pub on: NaiveDate,
    /// SSDA903 legal status or reason-episode-ceased code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvolvementChange {
    /// The agency whose involvement starts or ends.
    pub agency: AgencyId,
    pub on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the receiving agency did with a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandoffOutcome {
    Accepted,
    Declined,
    Redirected,
}

impl HandoffOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            HandoffOutcome::Accepted => "accepted",
            HandoffOutcome::Declined => "declined",
            HandoffOutcome::Redirected => "redirected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffAcknowledged {
    /// The hub's id of the handoff (from the notification or `GET /v1/handoffs`).
    pub handoff_id: Uuid,
    pub outcome: HandoffOutcome,
    /// Who owns the child's need now, when declining or redirecting. Without one, the hub
    /// escalates: nobody may be left holding nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_owner: Option<AgencyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Why the hub sent a handoff notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    /// The deadline passed without an acknowledgement.
    DeadlinePassed,
    /// The receiver declined and named no new owner.
    DeclinedWithoutNewOwner,
    /// The receiver redirected and named no new owner.
    RedirectedWithoutNewOwner,
}

/// A notice the hub sends about a handoff: a reminder, a not-picked-up notice or an escalation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffNotice {
    pub handoff_id: Uuid,
    /// `referral`, `transfer`, `closure`, `ehc_needs_assessment`, `ehc_plan`, `annual_review`,
    /// `phase_transfer`.
    pub handoff_kind: String,
    /// The sender's own reference (a referral id, a request id, a plan id).
    pub reference: String,
    pub from_agency: AgencyId,
    pub to_agency: AgencyId,
    pub made_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    pub reason: EscalationReason,
    /// Which step of the escalation chain this is, from 1; 0 for an escalation sent at once
    /// (a decline or redirect naming no new owner).
    pub step: u32,
}

/// Why a child has no lead agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoLeadReason {
    /// The last active involvement ended.
    LastInvolvementEnded,
    /// The child left a school with no known destination (child missing education).
    MissingEducation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoLeadAgency {
    pub reason: NoLeadReason,
    /// The agency whose event left the child without a lead.
    pub last_agency: AgencyId,
    /// The child has an EHC plan: losing the lead agency is a statutory concern.
    pub ehc_plan: bool,
    /// The child has a child protection plan.
    pub child_protection_plan: bool,
    /// The closure handoff the local authority is asked to acknowledge.
    pub handoff_id: Uuid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), *k);
        }
        assert!("referral.made".parse::<EventKind>().is_ok());
        assert!("referral.lost".parse::<EventKind>().is_err());
    }

    #[test]
    fn body_serialises_as_kind_and_payload() {
        let body = EventBody::SenSupportEnded(DatedReason {
            on: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            reason: None,
        });
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["kind"], "sen_support.ended");
        assert_eq!(v["payload"]["on"], "2026-03-01");
        assert_eq!(body.kind(), EventKind::SenSupportEnded);
    }
}
