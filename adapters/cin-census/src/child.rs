//! Reading one `Child` element: the text of the elements the mapping uses, and nothing else.
//!
//! Why a state machine over element kinds rather than a document tree: a child carries
//! ethnicity, disabilities, assessment factors, section 47 enquiries and review dates the mapping
//! never looks at. Classifying each element as it starts (`Child/CINdetails/Assessments/
//! AssessmentActualStartDate` is [`C::AssessmentStart`], anything unmapped is [`C::Other`]) means
//! only the mapped texts are ever copied, and `DateOfInitialCPC` under `CINdetails` is told apart
//! from the one under `Section47` without keeping paths as strings.
//!
//! Nothing here is validated: that is the mapping's job, so every problem with a child is found
//! and reported together.

use std::io::BufRead;

use throughline_safe_xml::{Cursor, Visit};

use crate::error::CinError;

/// One `CINdetails/Assessments` as written: each `Assessments` element is one assessment.
#[derive(Default)]
pub(crate) struct AssessmentRecord {
    pub index: usize,
    pub start: Option<String>,
    pub authorised: Option<String>,
}

/// One `CINdetails/CINPlanDates` as written.
#[derive(Default)]
pub(crate) struct PlanRecord {
    pub index: usize,
    pub start: Option<String>,
    pub end: Option<String>,
}

/// One `CINdetails/ChildProtectionPlans` as written: each is one plan.
#[derive(Default)]
pub(crate) struct ProtectionPlanRecord {
    pub index: usize,
    pub start: Option<String>,
    pub end: Option<String>,
    pub initial_category: Option<String>,
    pub latest_category: Option<String>,
}

/// One `CINdetails` as written: one episode of need, from referral to closure.
#[derive(Default)]
pub(crate) struct DetailsRecord {
    pub index: usize,
    pub referral_date: Option<String>,
    pub referral_source: Option<String>,
    pub primary_need: Option<String>,
    pub closure_date: Option<String>,
    pub closure_reason: Option<String>,
    pub referral_nfa: Option<String>,
    pub assessments: Vec<AssessmentRecord>,
    pub plans: Vec<PlanRecord>,
    pub protection_plans: Vec<ProtectionPlanRecord>,
}

/// The mapped elements of one child, as written (trimmed; empty elements are absent).
///
/// Deliberately no `Debug`: every field is child data.
#[derive(Default)]
pub(crate) struct ChildFields {
    pub la_child_id: Option<String>,
    pub upn: Option<String>,
    pub birth_date: Option<String>,
    pub expected_birth_date: Option<String>,
    pub sex: Option<String>,
    pub gender_current: Option<String>,
    pub details: Vec<DetailsRecord>,
    /// Paths (below the child) of single elements that appeared more than once.
    pub duplicates: Vec<String>,
}

/// What an element inside a child is, for the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum C {
    Child,
    Identifiers,
    LaChildId,
    Upn,
    BirthDate,
    ExpectedBirthDate,
    Sex,
    GenderCurrent,
    Details,
    ReferralDate,
    ReferralSource,
    PrimaryNeed,
    ClosureDate,
    ClosureReason,
    ReferralNfa,
    Assessment,
    AssessmentStart,
    AssessmentAuthorised,
    Plan,
    PlanStart,
    PlanEnd,
    ProtectionPlan,
    ProtectionPlanStart,
    ProtectionPlanEnd,
    InitialCategory,
    LatestCategory,
    Other,
}

impl C {
    /// The element's name, for duplicate paths.
    fn name(self) -> &'static str {
        match self {
            C::LaChildId => "LAchildID",
            C::Upn => "UPN",
            C::BirthDate => "PersonBirthDate",
            C::ExpectedBirthDate => "ExpectedPersonBirthDate",
            C::Sex => "Sex",
            C::GenderCurrent => "GenderCurrent",
            C::ReferralDate => "CINreferralDate",
            C::ReferralSource => "ReferralSource",
            C::PrimaryNeed => "PrimaryNeedCode",
            C::ClosureDate => "CINclosureDate",
            C::ClosureReason => "ReasonForClosure",
            C::ReferralNfa => "ReferralNFA",
            C::AssessmentStart => "AssessmentActualStartDate",
            C::AssessmentAuthorised => "AssessmentAuthorisationDate",
            C::PlanStart => "CINPlanStartDate",
            C::PlanEnd => "CINPlanEndDate",
            C::ProtectionPlanStart => "CPPstartDate",
            C::ProtectionPlanEnd => "CPPendDate",
            C::InitialCategory => "InitialCategoryOfAbuse",
            C::LatestCategory => "LatestCategoryOfAbuse",
            _ => "",
        }
    }
}

/// Stores a leaf's text, noting `path` as a duplicate if the slot is already filled.
fn set(slot: &mut Option<String>, text: &str, path: String, duplicates: &mut Vec<String>) {
    if slot.is_some() {
        duplicates.push(path);
    }
    *slot = Some(text.to_owned());
}

impl Visit for ChildFields {
    type Kind = C;

    fn child(parent: C, name: &str) -> C {
        match (parent, name) {
            (C::Child, "ChildIdentifiers") => C::Identifiers,
            (C::Identifiers, "LAchildID") => C::LaChildId,
            (C::Identifiers, "UPN") => C::Upn,
            (C::Identifiers, "PersonBirthDate") => C::BirthDate,
            (C::Identifiers, "ExpectedPersonBirthDate") => C::ExpectedBirthDate,
            (C::Identifiers, "Sex") => C::Sex,
            (C::Identifiers, "GenderCurrent") => C::GenderCurrent,
            (C::Child, "CINdetails") => C::Details,
            (C::Details, "CINreferralDate") => C::ReferralDate,
            (C::Details, "ReferralSource") => C::ReferralSource,
            (C::Details, "PrimaryNeedCode") => C::PrimaryNeed,
            (C::Details, "CINclosureDate") => C::ClosureDate,
            (C::Details, "ReasonForClosure") => C::ClosureReason,
            (C::Details, "ReferralNFA") => C::ReferralNfa,
            (C::Details, "Assessments") => C::Assessment,
            (C::Assessment, "AssessmentActualStartDate") => C::AssessmentStart,
            (C::Assessment, "AssessmentAuthorisationDate") => C::AssessmentAuthorised,
            (C::Details, "CINPlanDates") => C::Plan,
            (C::Plan, "CINPlanStartDate") => C::PlanStart,
            (C::Plan, "CINPlanEndDate") => C::PlanEnd,
            (C::Details, "ChildProtectionPlans") => C::ProtectionPlan,
            (C::ProtectionPlan, "CPPstartDate") => C::ProtectionPlanStart,
            (C::ProtectionPlan, "CPPendDate") => C::ProtectionPlanEnd,
            (C::ProtectionPlan, "InitialCategoryOfAbuse") => C::InitialCategory,
            (C::ProtectionPlan, "LatestCategoryOfAbuse") => C::LatestCategory,
            _ => C::Other,
        }
    }

    fn collects(kind: C) -> bool {
        !matches!(
            kind,
            C::Child
                | C::Identifiers
                | C::Details
                | C::Assessment
                | C::Plan
                | C::ProtectionPlan
                | C::Other
        )
    }

    fn open(&mut self, kind: C, index: Option<usize>) {
        let index = index.unwrap_or_default();
        match kind {
            C::Details => self.details.push(DetailsRecord {
                index,
                ..DetailsRecord::default()
            }),
            // Elements of these kinds exist only inside a `CINdetails`, which is open.
            C::Assessment | C::Plan | C::ProtectionPlan => {
                let Some(details) = self.details.last_mut() else {
                    return;
                };
                match kind {
                    C::Assessment => details.assessments.push(AssessmentRecord {
                        index,
                        ..AssessmentRecord::default()
                    }),
                    C::Plan => details.plans.push(PlanRecord {
                        index,
                        ..PlanRecord::default()
                    }),
                    _ => details.protection_plans.push(ProtectionPlanRecord {
                        index,
                        ..ProtectionPlanRecord::default()
                    }),
                }
            }
            _ => {}
        }
    }

    fn leaf(&mut self, kind: C, text: &str) {
        if text.is_empty() {
            return;
        }
        let name = kind.name();
        let duplicates = &mut self.duplicates;
        match kind {
            C::LaChildId
            | C::Upn
            | C::BirthDate
            | C::ExpectedBirthDate
            | C::Sex
            | C::GenderCurrent => {
                let slot = match kind {
                    C::LaChildId => &mut self.la_child_id,
                    C::Upn => &mut self.upn,
                    C::BirthDate => &mut self.birth_date,
                    C::ExpectedBirthDate => &mut self.expected_birth_date,
                    C::Sex => &mut self.sex,
                    _ => &mut self.gender_current,
                };
                set(slot, text, format!("ChildIdentifiers.{name}"), duplicates);
            }
            C::ReferralDate
            | C::ReferralSource
            | C::PrimaryNeed
            | C::ClosureDate
            | C::ClosureReason
            | C::ReferralNfa => {
                let Some(d) = self.details.last_mut() else {
                    return;
                };
                let path = format!("CINdetails[{}].{name}", d.index);
                let slot = match kind {
                    C::ReferralDate => &mut d.referral_date,
                    C::ReferralSource => &mut d.referral_source,
                    C::PrimaryNeed => &mut d.primary_need,
                    C::ClosureDate => &mut d.closure_date,
                    C::ClosureReason => &mut d.closure_reason,
                    _ => &mut d.referral_nfa,
                };
                set(slot, text, path, duplicates);
            }
            C::AssessmentStart | C::AssessmentAuthorised => {
                let Some(d) = self.details.last_mut() else {
                    return;
                };
                let Some(a) = d.assessments.last_mut() else {
                    return;
                };
                let path = format!("CINdetails[{}].Assessments[{}].{name}", d.index, a.index);
                let slot = if kind == C::AssessmentStart {
                    &mut a.start
                } else {
                    &mut a.authorised
                };
                set(slot, text, path, duplicates);
            }
            C::PlanStart | C::PlanEnd => {
                let Some(d) = self.details.last_mut() else {
                    return;
                };
                let Some(p) = d.plans.last_mut() else {
                    return;
                };
                let path = format!("CINdetails[{}].CINPlanDates[{}].{name}", d.index, p.index);
                let slot = if kind == C::PlanStart {
                    &mut p.start
                } else {
                    &mut p.end
                };
                set(slot, text, path, duplicates);
            }
            C::ProtectionPlanStart
            | C::ProtectionPlanEnd
            | C::InitialCategory
            | C::LatestCategory => {
                let Some(d) = self.details.last_mut() else {
                    return;
                };
                let Some(p) = d.protection_plans.last_mut() else {
                    return;
                };
                let path = format!(
                    "CINdetails[{}].ChildProtectionPlans[{}].{name}",
                    d.index, p.index
                );
                let slot = match kind {
                    C::ProtectionPlanStart => &mut p.start,
                    C::ProtectionPlanEnd => &mut p.end,
                    C::InitialCategory => &mut p.initial_category,
                    _ => &mut p.latest_category,
                };
                set(slot, text, path, duplicates);
            }
            C::Child
            | C::Identifiers
            | C::Details
            | C::Assessment
            | C::Plan
            | C::ProtectionPlan
            | C::Other => {}
        }
    }
}

/// Reads the `Child` element that just started.
pub(crate) fn read_child<R: BufRead>(cursor: &mut Cursor<R>) -> Result<ChildFields, CinError> {
    let mut fields = ChildFields::default();
    cursor.read_element(C::Child, &mut fields)?;
    Ok(fields)
}
