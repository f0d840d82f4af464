//! Synthetic CTF files for tests, examples and benchmarks (feature `fixtures`).
//!
//! No official sample CTF is public (domain notes §1.1, §7), so this writes the shape the notes
//! and the DfE's own MTC writer show: a header of the version current on the file's date, then pupils with identifiers, basic
//! details, looked-after status, SEN history with ranked needs, an address, a contact (with an
//! address of its own, which the mapping must not mistake for the pupil's), attendance and
//! school history.
//!
//! Every pupil is a pure function of the spec and its index ([`FixtureSpec::pupil`]), so a test
//! can stream 50,000 pupils to a file and still know exactly what pupil 31,337 holds, and which
//! pupils were corrupted and how, without keeping anything in memory.
//!
//! UPNs are valid by the contracts' rules: the check letter comes from
//! `Upn::check_letter`, and the LA numbers are the pseudo-LA numbers `001`, `702` and `708`
//! (the domain notes suggest LA 999 for test data, but 999 is not a recognised LA number, so
//! `Upn::parse` would refuse it). The schools use LA 999 and establishment numbers from 1999,
//! as the MTC does for test schools; school numbers are not checked against the LA list.

use std::io::{self, Write};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use throughline_safe_xml::fixture::{SplitMix64, corrupted, upn};

use crate::version::VersionWindow;

const UPN_LA_CODES: [u16; 3] = [1, 702, 708];
const SURNAMES: &[&str] = &[
    "ASHWORTH",
    "BRADSHAW",
    "CHOUDHURY",
    "DOHERTY",
    "EKWUEME",
    "FAIRBAIRN",
    "GALLAGHER",
    "HALVORSEN",
    "IBRAHIMOVIC",
    "JABLONSKA",
    "KOWALCZYK",
    "LINDQVIST",
    "MACINTYRE",
    "NAKAMURA",
    "O'SULLIVAN",
    "PEMBERTON",
    "QUARSHIE",
    "ROWNTREE",
    "SZYMANSKA",
    "THWAITES",
    "UMBERTO",
    "VANDERBILT",
    "WHITTAKER",
    "YATES-BROWN",
    "ZIELINSKA",
];
const FORENAMES: &[&str] = &[
    "AMELIA",
    "BARNABY",
    "CHIAMAKA",
    "DEMETRIUS",
    "EVANGELINE",
    "FRANCESCA",
    "GWENDOLYN",
    "HORATIO",
    "IMOGEN",
    "JOSEPHINE",
    "KEHINDE",
    "LEOPOLD",
    "MARIGOLD",
    "NATHANIEL",
    "OCTAVIA",
    "PERSEPHONE",
    "QUENTIN",
    "ROSALIND",
    "SEBASTIAN",
    "TALLULAH",
    "URSULA",
    "VALENTINA",
    "WILHELMINA",
    "XANTHE",
    "ZACHARIAH",
];
const POSTCODE_AREAS: &[&str] = &["LS", "M", "B", "BS", "NE", "SK", "CV", "EX", "BD", "HU"];
const POSTCODE_UNIT_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
const NEED_CODES: &[&str] = &[
    "SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "OTH", "NSA",
];

/// How one deliberately corrupted pupil is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// The UPN's check letter does not match.
    BadCheckLetter,
    /// There is no `DOB`.
    MissingDob,
    /// `DOB` is shaped like a date but is not one (the 30th of February).
    BadDate,
    /// The only SEN record has provision `Q`, a code no DfE list has ever held (the historical
    /// `S`, `A` and `P` are read as history, not refused).
    UnknownSenProvision,
}

impl Corruption {
    const ALL: [Corruption; 4] = [
        Corruption::BadCheckLetter,
        Corruption::MissingDob,
        Corruption::BadDate,
        Corruption::UnknownSenProvision,
    ];

    /// The path below `CTFpupilData.Pupil[i]` that the rejection must name.
    pub fn field(self) -> &'static str {
        match self {
            Corruption::BadCheckLetter => "UPN",
            Corruption::MissingDob | Corruption::BadDate => "DOB",
            Corruption::UnknownSenProvision => "SENhistory.SEN[0].SENprovision",
        }
    }
}

/// A school in a fixture header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureSchool {
    pub lea: String,
    pub estab: String,
    pub urn: Option<String>,
    pub name: Option<String>,
}

/// Where the fixture's pupils go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixtureDestination {
    /// A `DestSchool` with these numbers.
    School(FixtureSchool),
    /// `DestSchool` with LEA `XXX` and Estab `XXXX`: the destination is not known, and the file
    /// is for the Lost Pupil Database (DfE School to School guidance, 2019, p. 15).
    LostPupil,
    /// `DestSchool` with LEA `MMM` and Estab `MMMM`: a school outside the maintained sector in
    /// England and Wales, abroad or independent (the same guidance).
    OutsideMaintainedSector,
    /// No `DestSchool` at all.
    Absent,
}

/// One `SENhistory/SEN` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureSen {
    pub provision: char,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

/// One `SENneed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureNeed {
    pub rank: u8,
    pub code: &'static str,
    pub start: NaiveDate,
}

/// Everything a fixture pupil holds that the mapping reads. Test data, so `Debug` is fine here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixturePupil {
    pub index: usize,
    /// As written in the file (wrong for [`Corruption::BadCheckLetter`]).
    pub upn: String,
    /// `BasicDetails/FormerUPN`, for every tenth pupil: the temporary UPN the school used until
    /// the permanent one was found (same LA, school and year; serial of two digits then `A`).
    pub former_upn: Option<String>,
    pub surname: &'static str,
    pub forename: &'static str,
    /// As written in the file; `None` when missing, and not a real date for
    /// [`Corruption::BadDate`].
    pub dob: Option<String>,
    pub sex: char,
    pub postcode: String,
    /// A contact's postcode: in the file, never in the events.
    pub contact_postcode: String,
    pub sen: Vec<FixtureSen>,
    pub needs: Vec<FixtureNeed>,
    pub looked_after: bool,
    /// The `LeavingDate` of the source school in `SchoolHistory`, when written.
    pub leaving_date: Option<NaiveDate>,
    pub corruption: Option<Corruption>,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureSpec {
    pub pupils: usize,
    /// `CTFversion` as written.
    pub version: String,
    /// `DocumentQualifier` as written.
    pub qualifier: String,
    /// The header's `DateTime`.
    pub created: NaiveDateTime,
    /// The share of pupils to corrupt, 0.0 to 1.0. Exactly `floor(pupils × fraction)` are, spread
    /// evenly through the file.
    pub corrupt_fraction: f64,
    pub seed: u64,
    pub source: FixtureSchool,
    pub destination: FixtureDestination,
}

impl FixtureSpec {
    /// A CTF of `pupils` pupils from a test school to another, none corrupted, written on 18 July
    /// 2025 (school year 2024/25, so CTF 24).
    pub fn new(pupils: usize) -> Self {
        Self::dated(
            pupils,
            NaiveDate::from_ymd_opt(2025, 7, 18)
                .and_then(|d| d.and_hms_opt(10, 30, 0))
                .expect("a valid date"),
        )
    }

    /// As [`FixtureSpec::new`], written at `created` in the version current on that date (CTF
    /// NN from September 20NN), so a test dated from the clock does not expire each September.
    pub fn dated(pupils: usize, created: NaiveDateTime) -> Self {
        Self {
            pupils,
            version: format!("{}.0", VersionWindow::for_date(created.date()).current()),
            qualifier: "full".to_owned(),
            created,
            corrupt_fraction: 0.0,
            seed: 2025,
            source: FixtureSchool {
                lea: "999".to_owned(),
                estab: "1999".to_owned(),
                urn: Some("999991".to_owned()),
                name: Some("Throughline Test Primary School".to_owned()),
            },
            destination: FixtureDestination::School(FixtureSchool {
                lea: "999".to_owned(),
                estab: "4999".to_owned(),
                urn: Some("999992".to_owned()),
                name: None,
            }),
        }
    }

    /// How pupil `index` is corrupted, if it is.
    pub fn corruption(&self, index: usize) -> Option<Corruption> {
        corrupted(self.corrupt_fraction, index).map(|n| Corruption::ALL[n % Corruption::ALL.len()])
    }

    /// Pupil `index`, exactly as [`FixtureSpec::write`] writes it.
    pub fn pupil(&self, index: usize) -> FixturePupil {
        let mut rng = SplitMix64::for_record(self.seed, index);
        let corruption = self.corruption(index);
        let created = self.created.date();

        let la = UPN_LA_CODES[rng.below(UPN_LA_CODES.len())];
        let estab = 1000 + (index / 1000) % 9000;
        let year = 10 + rng.below(10);
        let serial = index % 1000;
        let tail = format!("{la:03}{estab:04}{year:02}{serial:03}");
        let upn = upn(&tail, corruption == Some(Corruption::BadCheckLetter));
        // Derived, not drawn, so the other fields stay as they were before this one existed.
        let former_upn = (index % 10 == 7).then(|| {
            let temporary = format!("{la:03}{estab:04}{year:02}{:02}A", serial % 100);
            throughline_safe_xml::fixture::upn(&temporary, false)
        });

        let born = NaiveDate::from_ymd_opt(2010, 9, 1).expect("a valid date")
            + Duration::days(rng.below(9 * 365) as i64);
        let dob = match corruption {
            Some(Corruption::MissingDob) => None,
            Some(Corruption::BadDate) => Some(format!("{}-02-30", born.year())),
            _ => Some(born.format("%Y-%m-%d").to_string()),
        };

        let roll = rng.below(100);
        let date_between = |rng: &mut SplitMix64, from: NaiveDate, to: NaiveDate| {
            let days = (to - from).num_days().max(1) as usize;
            from + Duration::days(rng.below(days) as i64)
        };
        let school_start = NaiveDate::from_ymd_opt(2018, 9, 1).expect("a valid date");
        let mut sen = Vec::new();
        let mut needs = Vec::new();
        if corruption == Some(Corruption::UnknownSenProvision) {
            sen.push(FixtureSen {
                provision: 'Q',
                start: date_between(&mut rng, school_start, created),
                end: None,
            });
        } else if roll < 15 {
            sen.push(FixtureSen {
                provision: 'N',
                start: date_between(&mut rng, school_start, created),
                end: None,
            });
        } else if roll < 40 {
            let ehc = roll >= 33;
            let start = date_between(&mut rng, school_start, created);
            if ehc && rng.below(3) == 0 {
                // Support first, then a plan: the closed K record comes before the E one.
                let earlier = date_between(&mut rng, school_start - Duration::days(700), start);
                sen.push(FixtureSen {
                    provision: 'K',
                    start: earlier,
                    end: Some(start),
                });
            }
            sen.push(FixtureSen {
                provision: if ehc { 'E' } else { 'K' },
                start,
                end: None,
            });
            needs.push(FixtureNeed {
                rank: 1,
                code: NEED_CODES[rng.below(NEED_CODES.len())],
                start,
            });
            if rng.below(2) == 0 {
                needs.push(FixtureNeed {
                    rank: 2,
                    code: NEED_CODES[rng.below(NEED_CODES.len())],
                    start,
                });
            }
        }

        FixturePupil {
            index,
            upn,
            former_upn,
            surname: SURNAMES[rng.below(SURNAMES.len())],
            forename: FORENAMES[rng.below(FORENAMES.len())],
            dob,
            sex: if rng.below(2) == 0 { 'F' } else { 'M' },
            postcode: postcode(&mut rng),
            contact_postcode: postcode(&mut rng),
            sen,
            needs,
            looked_after: rng.below(25) == 0,
            leaving_date: (rng.below(2) == 0).then(|| created - Duration::days(2)),
            corruption,
        }
    }

    /// Writes the whole file, one pupil at a time (nothing is held in memory).
    pub fn write<W: Write>(&self, out: W) -> io::Result<()> {
        let mut out = io::BufWriter::new(out);
        self.write_header(&mut out)?;
        for index in 0..self.pupils {
            write_pupil(&mut out, self, &self.pupil(index))?;
        }
        out.write_all(b"  </CTFpupilData>\n</CTfile>\n")?;
        out.flush()
    }

    /// The whole file in memory, for small tests.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.write(&mut bytes).expect("writing to memory");
        bytes
    }

    fn write_header<W: Write>(&self, out: &mut W) -> io::Result<()> {
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(out, "<CTfile>")?;
        writeln!(out, "  <Header>")?;
        writeln!(out, "    <DocumentName>Common Transfer File</DocumentName>")?;
        writeln!(out, "    <CTFversion>{}</CTFversion>", esc(&self.version))?;
        writeln!(
            out,
            "    <DateTime>{}</DateTime>",
            self.created.format("%Y-%m-%dT%H:%M:%S")
        )?;
        writeln!(
            out,
            "    <DocumentQualifier>{}</DocumentQualifier>",
            esc(&self.qualifier)
        )?;
        writeln!(out, "    <DataDescriptor>CTF</DataDescriptor>")?;
        writeln!(out, "    <SupplierID>Throughline fixture</SupplierID>")?;
        writeln!(out, "    <SourceSchool>")?;
        write_school(out, &self.source)?;
        writeln!(
            out,
            "      <AcademicYear>{}</AcademicYear>",
            academic_year(self.created.date())
        )?;
        writeln!(out, "    </SourceSchool>")?;
        match &self.destination {
            FixtureDestination::School(school) => {
                writeln!(out, "    <DestSchool>")?;
                write_school(out, school)?;
                writeln!(out, "    </DestSchool>")?;
            }
            FixtureDestination::LostPupil => {
                writeln!(
                    out,
                    "    <DestSchool>\n      <LEA>XXX</LEA>\n      <Estab>XXXX</Estab>\n    </DestSchool>"
                )?;
            }
            FixtureDestination::OutsideMaintainedSector => {
                writeln!(
                    out,
                    "    <DestSchool>\n      <LEA>MMM</LEA>\n      <Estab>MMMM</Estab>\n    </DestSchool>"
                )?;
            }
            FixtureDestination::Absent => {}
        }
        writeln!(out, "  </Header>")?;
        writeln!(out, "  <CTFpupilData>")
    }
}

fn write_school<W: Write>(out: &mut W, school: &FixtureSchool) -> io::Result<()> {
    writeln!(out, "      <LEA>{}</LEA>", esc(&school.lea))?;
    writeln!(out, "      <Estab>{}</Estab>", esc(&school.estab))?;
    if let Some(urn) = &school.urn {
        writeln!(out, "      <URN>{}</URN>", esc(urn))?;
    }
    if let Some(name) = &school.name {
        writeln!(out, "      <SchoolName>{}</SchoolName>", esc(name))?;
    }
    Ok(())
}

/// Writes one `<Pupil>` element.
pub fn write_pupil<W: Write>(out: &mut W, spec: &FixtureSpec, p: &FixturePupil) -> io::Result<()> {
    let created = spec.created.date();
    writeln!(out, "    <Pupil>")?;
    writeln!(out, "      <UPN>{}</UPN>", p.upn)?;
    writeln!(out, "      <UniqueLearnerNumber/>")?;
    writeln!(out, "      <Surname>{}</Surname>", esc(p.surname))?;
    writeln!(out, "      <Forename>{}</Forename>", esc(p.forename))?;
    if let Some(dob) = &p.dob {
        writeln!(out, "      <DOB>{dob}</DOB>")?;
    }
    writeln!(out, "      <Sex>{}</Sex>", p.sex)?;
    let former = p
        .former_upn
        .as_ref()
        .map(|f| format!("\n        <FormerUPN>{f}</FormerUPN>"))
        .unwrap_or_default();
    writeln!(
        out,
        "      <BasicDetails>{former}\n        <NCyearActual>{}</NCyearActual>\n        <Ethnicity>WBRI</Ethnicity>\n        <EnrolStatus>C</EnrolStatus>\n        <Languages><Type>FIR</Type></Languages>\n      </BasicDetails>",
        (p.index % 7) + 1
    )?;
    if p.looked_after {
        writeln!(
            out,
            "      <LookedAfter>\n        <InCare>true</InCare>\n        <CareAuthority>801</CareAuthority>\n      </LookedAfter>"
        )?;
    } else if p.index.is_multiple_of(3) {
        writeln!(
            out,
            "      <LookedAfter>\n        <InCare>false</InCare>\n      </LookedAfter>"
        )?;
    }
    if !p.sen.is_empty() {
        writeln!(out, "      <SENhistory>")?;
        for sen in &p.sen {
            writeln!(out, "        <SEN>")?;
            writeln!(out, "          <StartDate>{}</StartDate>", sen.start)?;
            if let Some(end) = sen.end {
                writeln!(out, "          <EndDate>{end}</EndDate>")?;
            }
            writeln!(
                out,
                "          <SENprovision>{}</SENprovision>",
                sen.provision
            )?;
            writeln!(out, "        </SEN>")?;
        }
        if !p.needs.is_empty() {
            writeln!(out, "        <SENneeds>")?;
            for need in &p.needs {
                writeln!(
                    out,
                    "          <SENneed>\n            <NeedStartDate>{}</NeedStartDate>\n            <SENtypeRank>{}</SENtypeRank>\n            <SENtype>{}</SENtype>\n          </SENneed>",
                    need.start, need.rank, need.code
                )?;
            }
            writeln!(out, "        </SENneeds>")?;
        }
        writeln!(out, "      </SENhistory>")?;
    }
    writeln!(
        out,
        "      <Address>\n        <BS7666Address>\n          <PAON>{}</PAON>\n          <Street>ACACIA AVENUE</Street>\n          <Town>TESTBOROUGH</Town>\n        </BS7666Address>\n        <PostCode>{}</PostCode>\n      </Address>",
        (p.index % 200) + 1,
        p.postcode
    )?;
    writeln!(
        out,
        "      <Contacts>\n        <Contact>\n          <Order>1</Order>\n          <Title>MS</Title>\n          <Surname>{}</Surname>\n          <Forename>PARENT</Forename>\n          <Relationship>PAR</Relationship>\n          <Responsibility>true</Responsibility>\n          <Address>\n            <PostCode>{}</PostCode>\n          </Address>\n        </Contact>\n      </Contacts>",
        esc(p.surname),
        p.contact_postcode
    )?;
    writeln!(
        out,
        "      <Attendance>\n        <YearData>\n          <Year>{}</Year>\n          <LEA>{}</LEA>\n          <Estab>{}</Estab>\n          <SessionsPossible>380</SessionsPossible>\n          <SessionsAuthorised>{}</SessionsAuthorised>\n          <SessionsUnauthorised>{}</SessionsUnauthorised>\n        </YearData>\n      </Attendance>",
        academic_year(created),
        esc(&spec.source.lea),
        esc(&spec.source.estab),
        p.index % 20,
        p.index % 5
    )?;
    writeln!(out, "      <SchoolHistory>")?;
    writeln!(
        out,
        "        <School>\n          <LEA>999</LEA>\n          <Estab>2998</Estab>\n          <SchoolName>Throughline Test Infant School</SchoolName>\n          <EntryDate>2016-09-01</EntryDate>\n          <LeavingDate>2018-07-20</LeavingDate>\n        </School>"
    )?;
    writeln!(
        out,
        "        <School>\n          <LEA>{}</LEA>\n          <Estab>{}</Estab>\n          <EntryDate>2018-09-01</EntryDate>",
        esc(&spec.source.lea),
        esc(&spec.source.estab)
    )?;
    if let Some(left) = p.leaving_date {
        writeln!(out, "          <LeavingDate>{left}</LeavingDate>")?;
    }
    writeln!(out, "        </School>\n      </SchoolHistory>")?;
    writeln!(out, "    </Pupil>")
}

/// The academic year a date falls in, by its starting calendar year (September to August).
fn academic_year(date: NaiveDate) -> i32 {
    VersionWindow::for_date(date).school_year
}

fn postcode(rng: &mut SplitMix64) -> String {
    let area = POSTCODE_AREAS[rng.below(POSTCODE_AREAS.len())];
    let district = 1 + rng.below(29);
    let sector = rng.below(10);
    let a = char::from(POSTCODE_UNIT_LETTERS[rng.below(POSTCODE_UNIT_LETTERS.len())]);
    let b = char::from(POSTCODE_UNIT_LETTERS[rng.below(POSTCODE_UNIT_LETTERS.len())]);
    format!("{area}{district} {sector}{a}{b}")
}

/// Escapes text for XML, apostrophes included, so names like O'SULLIVAN exercise the
/// predefined entities.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use throughline_contracts::identifiers::Upn;

    use super::*;

    #[test]
    fn corrupts_exactly_the_requested_share() {
        let spec = FixtureSpec {
            corrupt_fraction: 0.03,
            ..FixtureSpec::new(1200)
        };
        let corrupted = (0..1200).filter(|&i| spec.corruption(i).is_some()).count();
        assert_eq!(corrupted, 36);
        assert!(FixtureSpec::new(100).corruption(5).is_none());
    }

    #[test]
    fn pupils_are_reproducible_and_have_valid_upns_unless_corrupted() {
        let spec = FixtureSpec {
            corrupt_fraction: 0.1,
            ..FixtureSpec::new(500)
        };
        for i in 0..500 {
            let pupil = spec.pupil(i);
            assert_eq!(pupil, spec.pupil(i));
            let valid = Upn::parse(&pupil.upn).is_ok();
            assert_eq!(valid, pupil.corruption != Some(Corruption::BadCheckLetter));
        }
    }
}
