//! Reading one `Pupil` element: the text of the elements the mapping uses, and nothing else.
//!
//! Why a state machine over element kinds rather than a document tree: a pupil can carry years
//! of attendance and assessment data the mapping never looks at. Classifying each element as it
//! starts (`Pupil/SENhistory/SEN/StartDate` is [`P::SenStart`], anything unmapped is
//! [`P::Other`]) means only the mapped texts are ever copied, and an address's postcode is told
//! apart from a contact's (`Pupil/Address/PostCode` versus `Pupil/Contacts/Contact/Address/...`)
//! without keeping paths as strings.
//!
//! Nothing here is validated: that is the mapping's job, so every problem with a pupil is found
//! and reported together.

use std::io::BufRead;

use crate::error::CtfError;
use throughline_safe_xml::{Cursor, Visit};

/// One `SENhistory/SEN` record as written.
#[derive(Default)]
pub(crate) struct SenRecord {
    pub index: usize,
    pub start: Option<String>,
    pub end: Option<String>,
    pub provision: Option<String>,
}

/// One `SENhistory/SENneeds/SENneed` as written.
#[derive(Default)]
pub(crate) struct NeedRecord {
    pub index: usize,
    pub start: Option<String>,
    pub end: Option<String>,
    pub rank: Option<String>,
    pub kind: Option<String>,
}

/// One `SchoolHistory/School` as written (only what dates leaving the source school).
#[derive(Default)]
pub(crate) struct SchoolRecord {
    pub index: usize,
    pub lea: Option<String>,
    pub estab: Option<String>,
    pub leaving: Option<String>,
}

/// The mapped elements of one pupil, as written (trimmed; empty elements are absent).
///
/// Deliberately no `Debug`: every field is child data.
#[derive(Default)]
pub(crate) struct PupilFields {
    pub upn: Option<String>,
    /// `BasicDetails/FormerUPN`: the UPN the pupil had before (a temporary one, say).
    pub former_upn: Option<String>,
    pub surname: Option<String>,
    pub forename: Option<String>,
    pub dob: Option<String>,
    pub gender: Option<String>,
    pub sex: Option<String>,
    pub in_care: Option<String>,
    /// The postcode and the element name it was written under (`PostCode` or `Postcode`).
    pub postcode: Option<(String, &'static str)>,
    pub sen: Vec<SenRecord>,
    pub needs: Vec<NeedRecord>,
    pub schools: Vec<SchoolRecord>,
    /// Paths (below the pupil) of single elements that appeared more than once.
    pub duplicates: Vec<String>,
}

/// What an element inside a pupil is, for the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum P {
    Pupil,
    Upn,
    BasicDetails,
    FormerUpn,
    Surname,
    Forename,
    Dob,
    Gender,
    Sex,
    LookedAfter,
    InCare,
    SenHistory,
    Sen,
    SenStart,
    SenEnd,
    SenProvision,
    SenNeeds,
    SenNeed,
    NeedStart,
    NeedEnd,
    NeedRank,
    NeedType,
    Address,
    PostCode,
    Postcode,
    SchoolHistory,
    School,
    SchoolLea,
    SchoolEstab,
    SchoolLeaving,
    Other,
}

impl Visit for PupilFields {
    type Kind = P;

    fn child(parent: P, name: &str) -> P {
        match (parent, name) {
            (P::Pupil, "UPN") => P::Upn,
            (P::Pupil, "BasicDetails") => P::BasicDetails,
            (P::BasicDetails, "FormerUPN") => P::FormerUpn,
            (P::Pupil, "Surname") => P::Surname,
            (P::Pupil, "Forename") => P::Forename,
            (P::Pupil, "DOB") => P::Dob,
            (P::Pupil, "Gender") => P::Gender,
            (P::Pupil, "Sex") => P::Sex,
            (P::Pupil, "LookedAfter") => P::LookedAfter,
            (P::LookedAfter, "InCare") => P::InCare,
            (P::Pupil, "SENhistory") => P::SenHistory,
            (P::SenHistory, "SEN") => P::Sen,
            (P::Sen, "StartDate") => P::SenStart,
            (P::Sen, "EndDate") => P::SenEnd,
            (P::Sen, "SENprovision") => P::SenProvision,
            (P::SenHistory, "SENneeds") => P::SenNeeds,
            (P::SenNeeds, "SENneed") => P::SenNeed,
            (P::SenNeed, "NeedStartDate") => P::NeedStart,
            (P::SenNeed, "NeedEndDate") => P::NeedEnd,
            (P::SenNeed, "SENtypeRank") => P::NeedRank,
            (P::SenNeed, "SENtype") => P::NeedType,
            (P::Pupil, "Address") => P::Address,
            (P::Address, "PostCode") => P::PostCode,
            (P::Address, "Postcode") => P::Postcode,
            (P::Pupil, "SchoolHistory") => P::SchoolHistory,
            (P::SchoolHistory, "School") => P::School,
            (P::School, "LEA") => P::SchoolLea,
            (P::School, "Estab") => P::SchoolEstab,
            (P::School, "LeavingDate") => P::SchoolLeaving,
            _ => P::Other,
        }
    }

    fn collects(kind: P) -> bool {
        !matches!(
            kind,
            P::Pupil
                | P::BasicDetails
                | P::LookedAfter
                | P::SenHistory
                | P::Sen
                | P::SenNeeds
                | P::SenNeed
                | P::Address
                | P::SchoolHistory
                | P::School
                | P::Other
        )
    }

    fn open(&mut self, kind: P, index: Option<usize>) {
        let index = index.unwrap_or_default();
        match kind {
            P::Sen => self.sen.push(SenRecord {
                index,
                ..SenRecord::default()
            }),
            P::SenNeed => self.needs.push(NeedRecord {
                index,
                ..NeedRecord::default()
            }),
            P::School => self.schools.push(SchoolRecord {
                index,
                ..SchoolRecord::default()
            }),
            _ => {}
        }
    }

    fn leaf(&mut self, kind: P, text: &str) {
        if text.is_empty() {
            return;
        }
        let (slot, path): (&mut Option<String>, _) = match kind {
            P::Upn => (&mut self.upn, "UPN"),
            P::FormerUpn => (&mut self.former_upn, "BasicDetails.FormerUPN"),
            P::Surname => (&mut self.surname, "Surname"),
            P::Forename => (&mut self.forename, "Forename"),
            P::Dob => (&mut self.dob, "DOB"),
            P::Gender => (&mut self.gender, "Gender"),
            P::Sex => (&mut self.sex, "Sex"),
            P::InCare => (&mut self.in_care, "LookedAfter.InCare"),
            P::PostCode | P::Postcode => {
                let name = if kind == P::PostCode {
                    "PostCode"
                } else {
                    "Postcode"
                };
                if self.postcode.is_some() {
                    self.duplicates.push(format!("Address.{name}"));
                }
                self.postcode = Some((text.to_owned(), name));
                return;
            }
            P::SenStart | P::SenEnd | P::SenProvision => {
                let Some(sen) = self.sen.last_mut() else {
                    return;
                };
                let (slot, name) = match kind {
                    P::SenStart => (&mut sen.start, "StartDate"),
                    P::SenEnd => (&mut sen.end, "EndDate"),
                    _ => (&mut sen.provision, "SENprovision"),
                };
                if slot.is_some() {
                    self.duplicates
                        .push(format!("SENhistory.SEN[{}].{name}", sen.index));
                }
                *slot = Some(text.to_owned());
                return;
            }
            P::NeedStart | P::NeedEnd | P::NeedRank | P::NeedType => {
                let Some(need) = self.needs.last_mut() else {
                    return;
                };
                let (slot, name) = match kind {
                    P::NeedStart => (&mut need.start, "NeedStartDate"),
                    P::NeedEnd => (&mut need.end, "NeedEndDate"),
                    P::NeedRank => (&mut need.rank, "SENtypeRank"),
                    _ => (&mut need.kind, "SENtype"),
                };
                if slot.is_some() {
                    self.duplicates.push(format!(
                        "SENhistory.SENneeds.SENneed[{}].{name}",
                        need.index
                    ));
                }
                *slot = Some(text.to_owned());
                return;
            }
            P::SchoolLea | P::SchoolEstab | P::SchoolLeaving => {
                let Some(school) = self.schools.last_mut() else {
                    return;
                };
                let (slot, name) = match kind {
                    P::SchoolLea => (&mut school.lea, "LEA"),
                    P::SchoolEstab => (&mut school.estab, "Estab"),
                    _ => (&mut school.leaving, "LeavingDate"),
                };
                if slot.is_some() {
                    self.duplicates
                        .push(format!("SchoolHistory.School[{}].{name}", school.index));
                }
                *slot = Some(text.to_owned());
                return;
            }
            _ => return,
        };
        if slot.is_some() {
            self.duplicates.push(path.to_owned());
        }
        *slot = Some(text.to_owned());
    }
}

/// Reads the `Pupil` element that just started.
pub(crate) fn read_pupil<R: BufRead>(cursor: &mut Cursor<R>) -> Result<PupilFields, CtfError> {
    let mut fields = PupilFields::default();
    cursor.read_element(P::Pupil, &mut fields)?;
    Ok(fields)
}
